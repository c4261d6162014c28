"""beanstalkd protocol helpers for the integration tests: a raw client that
reads whole replies, and a session runner for differential tests (the same
script against Debian's beanstalkd 1.12 and sluiced, replies compared).

Script steps (tuples):
  ("send", conn, bytes, nreplies)   send bytes, read that many replies
  ("recv", conn, nreplies)          read replies already due (blocked reserves)
  ("sleep", seconds)                let delays/TTRs/timeouts run
  ("close", conn)                   close the client socket
  ("eof", conn)                     expect the server to close the socket
"""
import re
import socket
import threading
import time

# Values of `stats` that legitimately differ between two servers
# (cmd-stats: the runner's probe connection polls stats a varying number of
# times).
MASK_STATS = {"cmd-stats", "total-connections", "pid", "version", "rusage-utime", "rusage-stime", "uptime", "id", "hostname",
              "os", "platform", "binlog-records-written", "binlog-oldest-index",
              "binlog-current-index", "binlog-records-migrated", "binlog-max-size"}

BODY_WORDS = (b"RESERVED", b"FOUND", b"OK")


class Client:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no reply")
        self.sock.settimeout(left)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("closed")
        self.buf += chunk

    def reply(self, timeout=None):
        """One whole reply: the line, plus the body for RESERVED/FOUND/OK."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        i = self.buf.index(b"\r\n") + 2
        line = self.buf[:i]
        parts = line.split()
        if parts and parts[0] in BODY_WORDS and len(parts) >= 2:
            n = int(parts[-1]) + 2
            while len(self.buf) < i + n:
                self._fill(deadline)
            i += n
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def cmd(self, data, timeout=None):
        self.send(data)
        return self.reply(timeout)

    def expect_eof(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except EOFError:
            return b"EOF" if not self.buf else b"EOF after " + self.buf
        except (ConnectionResetError, BrokenPipeError):
            return b"EOF"
        except (TimeoutError, socket.timeout):
            return b"OPEN"


def mask_stats(reply):
    """Replaces values that may differ (pid, uptime...) and fixes OK <n>."""
    if not reply.startswith(b"OK ") or b"\npid: " not in reply:
        return reply
    head, body = reply.split(b"\r\n", 1)
    yaml = body[:-2]
    out = []
    for line in yaml.split(b"\n"):
        k, sep, v = line.partition(b": ")
        if sep and k.decode(errors="replace") in MASK_STATS:
            line = k + b": *"
        out.append(line)
    yaml = b"\n".join(out)
    return b"OK %d\r\n" % len(yaml) + yaml + b"\r\n"


def _stats(c):
    """The server's stats as a dict of ints (non-numeric values dropped)."""
    r = c.cmd(b"stats\r\n")
    out = {}
    for line in r.split(b"\r\n", 1)[1].split(b"\n"):
        k, sep, v = line.partition(b": ")
        if sep and v.isdigit():
            out[k.decode()] = int(v)
    return out


def _settled(probe, before, key_fn, timeout=2.0):
    """Polls stats until key_fn(before, now) says the server acted on what
    was just sent (a deadline, not a sleep: some steps leave no trace)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if key_fn(before, _stats(probe)):
            return
        time.sleep(0.005)


def _cmds(st):
    return sum(v for k, v in st.items() if k.startswith("cmd-"))


def run_script(port, script):
    """Runs a script against one server; returns the transcript. A probe
    connection (the same on both servers of a differential run) watches
    stats so that each step is seen by the server before the next acts."""
    conns = {}
    out = []
    probe = Client(port)

    def conn(i):
        if i not in conns:
            conns[i] = Client(port)
        return conns[i]

    for step in script:
        kind = step[0]
        if kind == "send":
            _, i, data, n = step
            c = conn(i)
            before = _stats(probe) if n == 0 else None
            c.send(data)
            if n == 0:
                # A command that blocks: wait until the server registered
                # it (a waiter, or a counted command) before other
                # connections act, so both servers see the same order.
                _settled(probe, before, lambda b, a: a.get("current-waiting", 0) >
                         b.get("current-waiting", 0) or _cmds(a) > _cmds(b) + 1)
            for _ in range(n):
                try:
                    out.append((i, mask_stats(c.reply())))
                except (TimeoutError, socket.timeout):
                    out.append((i, b"<no reply>"))
                except EOFError:
                    out.append((i, b"<closed>"))
                    break
        elif kind == "recv":
            _, i, n = step
            c = conn(i)
            for _ in range(n):
                try:
                    out.append((i, mask_stats(c.reply())))
                except (TimeoutError, socket.timeout):
                    out.append((i, b"<no reply>"))
        elif kind == "sleep":
            time.sleep(step[1])
        elif kind == "close":
            before = _stats(probe)
            conn(step[1]).close()
            del conns[step[1]]
            # The server has seen the close once its connection count fell.
            _settled(probe, before, lambda b, a: a.get("current-connections", 0) <
                     b.get("current-connections", 0))
        elif kind == "eof":
            out.append((step[1], conn(step[1]).expect_eof()))
        else:
            raise ValueError(kind)
    for c in conns.values():
        c.close()
    probe.close()
    return out


def run_both(ref_port, sl_port, script):
    """Runs the script against both servers at the same time (timed steps
    overlap, so a suite's wall time is that of one server)."""
    res = {}

    def go(name, port):
        try:
            res[name] = run_script(port, script)
        except Exception as e:  # reported by the caller
            res[name] = e

    ts = [threading.Thread(target=go, args=("ref", ref_port)),
          threading.Thread(target=go, args=("sluice", sl_port))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for k in ("ref", "sluice"):
        if isinstance(res[k], Exception):
            raise res[k]
    return res["ref"], res["sluice"]
