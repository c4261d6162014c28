"""libsluice's beanstalkd client (sl_jobs, lib/jobs.c).

The same scripted session (tests/lib/jobs_session.c) runs against the real
beanstalkd and against sluiced's beanstalk port; the outputs must be equal
line for line. tests/lib/jobs_edge.c meets replies no real server sends,
served by a scripted socket server here.
"""
import os
import socket
import subprocess
import threading

import pytest

import sluice

SESSION = os.path.join(sluice.LIBTESTS, "jobs_session")
EDGE = os.path.join(sluice.LIBTESTS, "jobs_edge")


def run(prog, addr, timeout=30):
    p = subprocess.run([prog, addr], capture_output=True, text=True, timeout=timeout)
    for m in sluice.SANITIZER_MARKERS:
        assert m not in p.stderr, p.stderr
    return p


def test_session_matches_beanstalkd(server):
    with sluice.beanstalkd_ref() as ref:
        want = run(SESSION, "127.0.0.1:%d" % ref.port)
    got = run(SESSION, "127.0.0.1:%d" % server.port("beanstalk"))
    assert want.returncode == 0, want.stderr
    assert got.returncode == 0, got.stderr
    assert want.stdout.endswith("done\n")
    # The session covers every reply kind the client maps.
    for needle in ("SL_ENOENT (peek: NOT_FOUND)", "SL_EREMOTE (ignore: NOT_IGNORED)",
                   "SL_ETOOBIG (put: JOB_TOO_BIG)", "SL_ETIMEDOUT (reserve: TIMED_OUT)",
                   "reserve-job: OK id=4", "kick 10: OK kicked=1"):
        assert needle in want.stdout
    assert got.stdout.splitlines() == want.stdout.splitlines()


class Fake:
    """A scripted server: one reply per command name, any connection."""

    REPLIES = {
        b"peek-ready": b"FOUND 1 4294967296000\r\n",
        b"stats": b"HELLO\r\n",
        b"peek-delayed": b"FOUND 1 5\r\nabcdeXY",
        b"reserve-with-timeout": None,
        b"put": b"BURIED 7\r\n",
    }

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        while True:
            try:
                data = c.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                name = line.split(b" ")[0]
                if name == b"put":
                    buf = buf.split(b"\r\n", 1)[1]  # the one-byte body
                reply = self.REPLIES.get(name, b"UNKNOWN_COMMAND\r\n")
                if reply is not None:
                    c.sendall(reply)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_misbehaving_server():
    f = Fake()
    try:
        p = run(EDGE, "127.0.0.1:%d" % f.port)
    finally:
        f.close()
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.endswith("all ok\n")
