"""libsluice's delay queue (sl_dq_producer / sl_dq_consumer, go-queue dq).

sluiced instances serve as the beanstalkd nodes and, on their RESP port, as
the de-duplication Redis. tests/lib/delay_check.c does the scheduling and
consuming and checks timing and counts itself; these tests set up the
nodes, break them, and play go-queue's side of the wire with raw sockets.
"""
import os
import re
import socket
import subprocess
import time

import pytest

import sluice

CHECK = os.path.join(sluice.LIBTESTS, "delay_check")


def run(*args, timeout=30, **kw):
    p = subprocess.run([CHECK] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, **kw)
    for m in sluice.SANITIZER_MARKERS:
        assert m not in p.stderr, p.stderr
    return p


def node(s, tube="remind"):
    return "127.0.0.1:%d/%s" % (s.port("beanstalk"), tube)


def redis(s):
    return "127.0.0.1:%d" % s.port("resp")


class Beanstalk:
    """A raw beanstalkd-protocol connection, as go-beanstalk would talk."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            assert data, "connection closed"
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def body(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def cmd(self, text, data=None):
        out = text.encode() + b"\r\n"
        if data is not None:
            out += data + b"\r\n"
        self.s.sendall(out)
        return self.line()

    def close(self):
        self.s.close()


def test_delay_at_revoke_and_ids(server):
    p = run("schedule", node(server), redis(server))
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^id A 127\.0\.0\.1:%d/remind/\d+$" % server.port("beanstalk"),
                     p.stdout, re.M), p.stdout


def test_two_nodes_run_each_job_once(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "a")) as a, \
            sluice.Sluiced(data_dir=str(tmp_path / "b")) as b:
        nodes = node(a) + "," + node(b)
        p = run("copies", nodes, redis(a), 24, 1)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "handled 24" in p.stdout
        first_id = re.search(r"^id (.*)$", p.stdout, re.M).group(1).split(",")
        assert [i.rsplit("/", 1)[0] for i in first_id] == [node(a), node(b)]
        # Without a redis node each copy runs: the de-duplication is what
        # made the count exact above.
        p = run("copies", nodes, "", 8, 2)
        assert p.returncode == 0, p.stdout + p.stderr
        # The de-duplication keys live in the redis node.
        r = socket.create_connection(("127.0.0.1", a.port("resp")), timeout=5)
        r.sendall(b"*2\r\n$4\r\nKEYS\r\n$11\r\nsluice:dq:*\r\n")
        reply = b""
        while reply.count(b"\r\n") < 1 + 2 * 24:
            data = r.recv(65536)
            assert data
            reply += data
        r.close()
        assert reply.startswith(b"*24\r\n"), reply[:100]
        assert re.search(rb"sluice:dq:[0-9a-f]{32}\r\n", reply)


def test_real_redis_with_password(tmp_path):
    """De-duplication against Debian's redis-server with AUTH."""
    with sluice.Sluiced(data_dir=str(tmp_path / "a")) as a, \
            sluice.Sluiced(data_dir=str(tmp_path / "b")) as b, \
            sluice.redis_ref(["--requirepass", "s3cret"]) as r:
        nodes = node(a) + "," + node(b)
        p = run("copies", nodes, "s3cret@127.0.0.1:%d" % r.port, 6, 1)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "handled 6" in p.stdout


def test_node_down_at_produce_time_leaves_nothing(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "a")) as a:
        b = sluice.Sluiced(data_dir=str(tmp_path / "b"))
        nodes = node(a) + "," + node(b)
        p = subprocess.Popen([CHECK, "nodedown", nodes], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline() == "READY\n"
            b.stop()
            out, err = p.communicate("go\n", timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        for m in sluice.SANITIZER_MARKERS:
            assert m not in err, err
        assert p.returncode == 0, out + err
        assert "live node: 0 jobs left, 1 put" in out


def test_go_queue_framing_both_ways(server):
    """Jobs framed by go-queue's dq ("<unix-nanos>/payload", pri 2, TTR 5)
    are unwrapped; unframed jobs from other tools run whole; a framed job
    more than 30 minutes late is dropped and reported, as dq drops it; and
    sl_delay's jobs look like dq's on the wire."""
    port = server.port("beanstalk")
    bs = Beanstalk(port)
    assert bs.cmd("use remind") == "USING remind"
    now = time.time_ns()
    jobs = [
        b"%d/stale one" % (now - 31 * 60 * 10**9),
        b"%d/from go-queue" % now,
        b"plain job from another tool",
        b"12/short prefix is not framing",
        b"%d/" % now,  # framed, empty payload
    ]
    for body in jobs:
        assert bs.cmd("put 2 0 5 %d" % len(body), body).startswith("INSERTED ")
    # A job in "default" is not this consumer's (it ignores default).
    assert bs.cmd("use default") == "USING default"
    assert bs.cmd("put 2 0 5 7", b"default").startswith("INSERTED ")
    p = run("consume", node(server), redis(server), 4)
    assert p.returncode == 0, p.stdout + p.stderr
    got = [l for l in p.stdout.splitlines() if l.startswith("job ")]
    assert got == ["job 13 from go-queue", "job 27 plain job from another tool",
                   "job 30 12/short prefix is not framing", "job 0 "], p.stdout
    assert re.search(r"^error -11 .*dropped", p.stdout, re.M), p.stdout
    line = bs.cmd("stats-tube default")
    assert line.startswith("OK "), line
    assert b"current-jobs-ready: 1\n" in bs.body(int(line.split()[1]))
    bs.close()

    # The other way: what sl_delay writes, read as go-queue's consumer would.
    before = time.time_ns()
    p = run("produce", node(server, "wire"), 1500, "hello dq")
    after = time.time_ns()
    assert p.returncode == 0, p.stderr
    jobid = int(p.stdout.strip().rsplit("/", 1)[1])
    bs = Beanstalk(port)
    line = bs.cmd("peek %d" % jobid)
    assert line.startswith("FOUND %d " % jobid), line
    body = bs.body(int(line.split()[2]))
    m = re.fullmatch(rb"(\d{19})/hello dq", body)
    assert m, body
    due = int(m.group(1))
    assert before + 1500 * 10**6 <= due <= after + 1500 * 10**6
    line = bs.cmd("stats-job %d" % jobid)
    stats = bs.body(int(line.split()[1])).decode()
    assert "\npri: 2\n" in stats and "\nttr: 5\n" in stats, stats
    assert "\nstate: delayed\n" in stats and "\ndelay: 2\n" in stats, stats
    assert "\ntube: wire\n" in stats, stats
    bs.close()


def test_producer_shared_by_threads(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "a")) as a, \
            sluice.Sluiced(data_dir=str(tmp_path / "b")) as b:
        p = run("parallel", node(a) + "," + node(b))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "100 jobs from 4 threads" in p.stdout


def test_consumer_reconnects_after_node_restart(tmp_path):
    port = sluice.free_port()
    s = sluice.Sluiced(data_dir=str(tmp_path / "a"), extra=["--beanstalk-port=%d" % port])
    try:
        assert s.port("beanstalk") == port
        c = subprocess.Popen([CHECK, "consume", node(s), "", "2"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            def put(body):
                bs = Beanstalk(port)
                assert bs.cmd("use remind") == "USING remind"
                data = b"%d/%s" % (time.time_ns(), body)
                assert bs.cmd("put 2 0 5 %d" % len(data), data).startswith("INSERTED ")
                bs.close()

            put(b"before restart")
            assert c.stdout.readline() == "job 14 before restart\n"
            s.restart()
            assert s.port("beanstalk") == port
            put(b"after restart")
            lines = []
            for line in c.stdout:  # ends when the program exits
                lines.append(line)
            c.wait(timeout=30)
            err = c.stderr.read()
        finally:
            if c.poll() is None:
                c.kill()
                c.wait()
        for m in sluice.SANITIZER_MARKERS:
            assert m not in err, err
        assert c.returncode == 0, "".join(lines) + err
        assert "job 13 after restart\n" in lines
        # The lost connection was reported to the error callback.
        assert any(l.startswith("error ") for l in lines), lines
    finally:
        s.stop()
