"""Raw RESP client helpers for the RESP integration tests: encode commands,
read exactly one reply (RESP2 or RESP3) as raw bytes plus a parsed value,
and mask what legitimately differs between two servers (times, idle
counters, server-generated IDs)."""
import re
import shlex
import socket
import time


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def send_raw(self, data):
        self.s.sendall(data)

    def send(self, *args):
        self.s.sendall(encode(args))

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _line(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill()

    def _parse(self, pos):
        """Returns (value, end) for the frame at pos, reading more as needed."""
        end = self._line(pos)
        t = self.buf[pos:pos + 1]
        body = self.buf[pos + 1:end]
        nxt = end + 2
        if t in (b"+", b"-"):
            return (("err" if t == b"-" else "str"), body.decode(errors="replace")), nxt
        if t in (b":", b","):
            return ("int", body.decode()), nxt
        if t == b"_":
            return ("null",), nxt
        if t == b"#":
            return ("bool", body.decode()), nxt
        if t in (b"$", b"=", b"!"):
            n = int(body)
            if n < 0:
                return ("null",), nxt
            while len(self.buf) < nxt + n + 2:
                self._fill()
            return ("bulk", self.buf[nxt:nxt + n]), nxt + n + 2
        if t in (b"*", b"~", b">", b"%"):
            n = int(body)
            if n < 0:
                return ("null",), nxt
            if t == b"%":
                n *= 2
            items = []
            for _ in range(n):
                v, nxt = self._parse(nxt)
                items.append(v)
            return ("agg", t.decode(), items), nxt
        raise AssertionError("bad frame type %r in %r" % (t, self.buf[pos:pos + 80]))

    def read(self):
        """One reply: (raw bytes, parsed value)."""
        v, end = self._parse(0)
        raw, self.buf = self.buf[:end], self.buf[end:]
        return raw, v

    def call(self, *args):
        self.send(*args)
        return self.read()

    def cmd(self, line):
        return self.call(*shlex.split(line))


TS = re.compile(rb"^\d{13}$")


def mask(v):
    """Replaces integers and timestamp-like IDs (idle times, delivery times,
    auto IDs) so that two servers' replies compare on shape and content."""
    kind = v[0]
    if kind == "int":
        return ("int", "N")
    if kind == "bulk":
        b = v[1]
        if re.match(rb"^\d{13}-\d+$", b):
            return ("bulk", b"<ID>")
        if b.isdigit():
            return ("bulk", b"N")
        return v
    if kind == "agg":
        return ("agg", v[1], [mask(x) for x in v[2]])
    return v


def wait_blocked(port, n, timeout=10):
    """Polls INFO clients on a separate connection until n clients are
    blocked (server state, not a sleep)."""
    c = Conn(port)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw, v = c.call("INFO", "clients")
            m = re.search(rb"blocked_clients:(\d+)", v[1] if v[0] == "bulk" else raw)
            if m and int(m.group(1)) >= n:
                return
            time.sleep(0.005)
        raise AssertionError("port %d: %d clients never blocked: %r" % (port, n, raw))
    finally:
        c.close()
