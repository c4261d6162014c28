"""Active expiry at volume (issue 18): keys with short lifetimes written
faster than the old fixed sweep could reclaim them (64 keys x 16 rounds per
100 ms tick: 10,240 keys/s) must all disappear without anyone reading them,
while keys without a time and keys with a long one stay. The bound is
generous (never a timing assertion on speed): the old sweep needed
N / 10,240 s after the last expiry, the adaptive one a small part of that.

Also: the deletions are journaled, so a restart does not bring the keys
back."""
import socket
import time

import sluice

N = 300_000          # short-lived keys
LIFE_MS = 1500       # their PX
KEEP = 1000          # keys without a time
LONG = 1000          # keys with an hour to live
# Seconds after the last key's expiry by which every one must be gone. The
# old sweep needed N / 10,240 = 29 s at best; the adaptive one, under ASan
# on a loaded 2-core machine, a few seconds.
BOUND_S = 20


def _bulk(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def _load(s, cmds, reply=b"+OK\r\n"):
    """Sends cmds (bytes each) pipelined in chunks; every reply must be reply."""
    for i in range(0, len(cmds), 5000):
        chunk = cmds[i:i + 5000]
        s.sendall(b"".join(chunk))
        want = len(reply) * len(chunk)
        got = b""
        while len(got) < want:
            part = s.recv(1 << 20)
            assert part, "connection closed"
            got += part
        assert got == reply * len(chunk), got[:200]


def _cmd(s, *args):
    """One command; its reply (a simple one or one bulk string) as raw bytes."""
    s.sendall(_bulk(*args))
    buf = b""
    while True:
        e = buf.find(b"\r\n")
        if e >= 0 and buf[:1] != b"$":
            return buf
        if e >= 0 and (int(buf[1:e]) < 0 or len(buf) >= e + 2 + int(buf[1:e]) + 2):
            return buf
        part = s.recv(1 << 16)
        assert part, "connection closed"
        buf += part


def _dbsize(s):
    r = _cmd(s, "DBSIZE")
    assert r[:1] == b":", r
    return int(r[1:-2])


def test_active_expiry_keeps_up_with_fast_writers(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "data"), fsync="never") as srv:
        port = srv.port("resp")
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        _load(s, [_bulk("SET", "keep:%d" % i, "v") for i in range(KEEP)])
        _load(s, [_bulk("SET", "long:%d" % i, "v", "EX", "3600") for i in range(LONG)])
        t0 = time.monotonic()
        _load(s, [_bulk("SET", "short:%d" % i, "v" * 16, "PX", LIFE_MS) for i in range(N)])
        rate = N / (time.monotonic() - t0)
        last_expiry = time.monotonic() + LIFE_MS / 1000
        # Written faster than the old sweep could reclaim: otherwise this
        # test would not tell the two apart.
        assert rate > 10_240, "keys were written at only %.0f/s" % rate
        # Nobody reads the short keys: only the active cycle can remove them.
        deadline = last_expiry + BOUND_S
        while _dbsize(s) != KEEP + LONG:
            n = _dbsize(s)
            assert n >= KEEP + LONG, n
            assert time.monotonic() < deadline, \
                "%d expired keys still held %d s after expiry" % (n - KEEP - LONG, BOUND_S)
            time.sleep(0.1)
        assert _cmd(s, "GET", "keep:7") == b"$1\r\nv\r\n"
        assert _cmd(s, "EXISTS", "long:7") == b":1\r\n"
        s.close()
        # The deletions were journaled: a restart finds only the kept keys.
        srv.restart()
        s = socket.create_connection(("127.0.0.1", srv.port("resp")), timeout=60)
        assert _dbsize(s) == KEEP + LONG
        r = _cmd(s, "TTL", "long:9")
        assert r[:1] == b":" and 0 < int(r[1:-2]) <= 3600, r
        s.close()
