"""A script, MULTI/EXEC and RESTORE survive a crash all or nothing (issue 15).

Several redis-py clients each run, over and over, one unit that writes the
same counter value v into seven keys of five types and one stream entry:
    SET str v; HSET h f v; RPUSH l v; SADD set v; ZADD z v v; XADD x * v v;
    INCR n
either as an EVAL script or as MULTI/EXEC. The unit's records go to both
keys.journal and streams.journal and to the stream's log, so a crash can
land between their writes. The server is then stopped the hard way, and
after the restart every client's keys must say the same thing: some value
k for all of them (str and h = k, l = 1..k, set and z = {1..k}, x's entries
= 1..k, n = k), with k at least the last acknowledged unit and at most the
last one sent. Crashes: SIGKILL at a moment decided by the acknowledgement
count, and simulated power losses (PUT /debug/powerloss, store/sio.h) that
drop every unsynced write or tear them sector by sector, seeded.
"""
import http.client
import socket
import threading

import redis

import sluice

SCRIPT = """
local v = ARGV[1]
redis.call('SET', KEYS[1], v)
redis.call('HSET', KEYS[2], 'f', v)
redis.call('RPUSH', KEYS[3], v)
redis.call('SADD', KEYS[4], v)
redis.call('ZADD', KEYS[5], v, v)
redis.call('XADD', KEYS[6], '*', 'v', v)
redis.call('INCR', KEYS[7])
return v
"""

CLIENTS = 6
PER_ROUND = 60  # acknowledged units (all clients together) before the crash


def keys(c):
    return ["c%d:%s" % (c, k) for k in ("str", "h", "l", "set", "z", "x", "n")]


class Client(threading.Thread):
    """Runs units for client c from value start on until the connection
    dies; remembers the last value acknowledged and the last one sent."""

    def __init__(self, port, c, start, progress):
        super().__init__(daemon=True)
        self.port, self.c, self.v = port, c, start
        self.acked = start - 1
        self.sent = start - 1
        self.progress = progress

    def unit(self, r, v):
        k = keys(self.c)
        if self.c % 2 == 0:
            assert r.eval(SCRIPT, len(k), *k, v) == str(v).encode()
            return
        p = r.pipeline(transaction=True)
        p.set(k[0], v).hset(k[1], "f", v).rpush(k[2], v).sadd(k[3], v)
        p.zadd(k[4], {str(v): v}).xadd(k[5], {"v": v}).incr(k[6])
        assert p.execute()[-1] == v

    def run(self):
        r = redis.Redis(port=self.port, socket_timeout=30)
        try:
            while True:
                self.sent = self.v
                self.unit(r, self.v)
                self.acked = self.v
                self.v += 1
                self.progress.tick()
        except (redis.ConnectionError, ConnectionError, OSError):
            pass


class Progress:
    def __init__(self):
        self.n = 0
        self.cv = threading.Condition()

    def tick(self):
        with self.cv:
            self.n += 1
            self.cv.notify_all()

    def wait(self, n):
        with self.cv:
            assert self.cv.wait_for(lambda: self.n >= n, timeout=120), "no progress"


def check(port, c, acked, sent):
    """Client c's keys hold one value k for all of them; returns k."""
    r = redis.Redis(port=port, socket_timeout=30)
    k = keys(c)
    s = r.get(k[0])
    kv = int(s) if s is not None else 0
    want = [str(i).encode() for i in range(1, kv + 1)]
    got = {
        "str": s,
        "h": r.hget(k[1], "f"),
        "l": r.lrange(k[2], 0, -1),
        "set": sorted(r.smembers(k[3]), key=int),
        "z": r.zrange(k[4], 0, -1),
        "x": [e[1][b"v"] for e in r.xrange(k[5])],
        "n": r.get(k[6]),
    }
    one = str(kv).encode() if kv else None
    assert got == {"str": one, "h": one, "l": want, "set": want, "z": want, "x": want,
                   "n": one}, "client %d: half a unit applied: %r" % (c, got)
    assert acked <= kv <= sent, "client %d: k=%d, acknowledged %d, sent %d" % (c, kv, acked, sent)
    r.close()
    return kv


def powerloss(s, tear, seed):
    h = http.client.HTTPConnection("127.0.0.1", s.port("http"), timeout=30)
    try:
        h.request("PUT", "/debug/powerloss?tear=%d&seed=%d" % (tear, seed))
        h.getresponse()
    except (http.client.HTTPException, OSError):
        pass  # the process ends before it answers
    h.close()
    s.proc.wait(timeout=60)
    s.stop(check=False)


def test_units_all_or_nothing_across_crashes(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), listeners=("resp", "http"),
                       extra=["--debug.powerloss=true"])
    crashes = [("kill", 0), ("loss", 0), ("tear", 1), ("kill", 0), ("loss", 0), ("tear", 2),
               ("kill", 0), ("tear", 3), ("loss", 0), ("tear", 4)]
    start = {c: 1 for c in range(CLIENTS)}
    try:
        for how, seed in crashes:
            prog = Progress()
            cl = [Client(s.port("resp"), c, start[c], prog) for c in range(CLIENTS)]
            for t in cl:
                t.start()
            prog.wait(PER_ROUND)
            if how == "kill":
                s.kill()
            else:
                powerloss(s, how == "tear", seed)
            for t in cl:
                t.join(timeout=60)
                assert not t.is_alive()
            s.start()
            for t in cl:
                start[t.c] = check(s.port("resp"), t.c, t.acked, t.sent) + 1
        # Units go on after the last restart, and a clean stop keeps them.
        r = redis.Redis(port=s.port("resp"))
        prog = Progress()
        for c in range(CLIENTS):
            t = Client(s.port("resp"), c, start[c], prog)
            t.unit(r, start[c])
            start[c] += 1
        s.restart()
        for c in range(CLIENTS):
            assert check(s.port("resp"), c, start[c] - 1, start[c] - 1) == start[c] - 1
    finally:
        s.stop(check=False)


def restore_cmd(key, dump):
    parts = [b"RESTORE", key.encode(), b"0", dump]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in parts)


def powerloss_server(tmp_path):
    """A sluiced that can simulate a power loss, and a client of it."""
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), listeners=("resp", "http"),
                       extra=["--debug.powerloss=true"])
    return s, redis.Redis(port=s.port("resp"))


def stream_with_group(r, n, read):
    """Stream "src" of n entries, group g with `read` of them pending for
    consumer c; returns (XRANGE, XPENDING) to compare copies with."""
    for i in range(1, n + 1):
        r.xadd("src", {"i": i}, id="%d-1" % i)
    r.xgroup_create("src", "g", id="0")
    r.xreadgroup("g", "c", {"src": ">"}, count=read)
    return r.xrange("src"), r.xpending("src", "g")


def test_restore_of_a_stream_is_all_or_nothing(tmp_path):
    """RESTORE of a stream with a group writes several records (CREATE,
    entries, META, GROUP, CONSUMER, NACKs) in the streams journal and its
    log. A power loss tearing the unsynced writes right after the RESTORE
    was sent (before or after it ran) leaves the copy whole or absent."""
    s, r = powerloss_server(tmp_path)
    try:
        want = stream_with_group(r, 50, 10)
        dump = r.dump("src")
        r.close()
        seen = set()
        for seed in range(1, 7):
            key = "dst%d" % seed
            c = socket.create_connection(("127.0.0.1", s.port("resp")))
            c.sendall(restore_cmd(key, dump))
            powerloss(s, 1, seed)
            c.close()
            s.start()
            r = redis.Redis(port=s.port("resp"))
            if r.exists(key):
                assert (r.xrange(key), r.xpending(key, "g")) == want, "half a RESTORE"
                seen.add("whole")
            else:
                seen.add("absent")
            r.close()
        # Acknowledged, it survives a kill whole.
        r = redis.Redis(port=s.port("resp"))
        r.restore("last", 0, dump)
        s.kill()
        s.start()
        r = redis.Redis(port=s.port("resp"))
        assert (r.xrange("last"), r.xpending("last", "g")) == want
    finally:
        s.stop(check=False)


def test_rename_of_a_stream_is_all_or_nothing(tmp_path):
    """RENAME of a stream copies it into a new log and deletes the source,
    in one unit. A power loss tearing the unsynced writes right after the
    RENAME was sent leaves the stream under exactly one of its names, whole;
    acknowledged, the rename survives a kill."""
    s, r = powerloss_server(tmp_path)
    try:
        want = stream_with_group(r, 40, 7)
        r.close()
        seen = set()
        for seed in range(1, 7):
            dst = "dst%d" % seed
            c = socket.create_connection(("127.0.0.1", s.port("resp")))
            c.sendall(b"*3\r\n$6\r\nRENAME\r\n$3\r\nsrc\r\n$%d\r\n%s\r\n" % (len(dst), dst.encode()))
            powerloss(s, 1, seed)
            c.close()
            s.start()
            r = redis.Redis(port=s.port("resp"))
            names = [k for k in (b"src", dst.encode()) if r.exists(k)]
            assert len(names) == 1, "a stream under %r after a torn RENAME" % (names,)
            assert (r.xrange(names[0]), r.xpending(names[0], "g")) == want
            seen.add(names[0] == b"src")
            if names[0] != b"src":
                r.rename(names[0], "src")
            r.close()
        r = redis.Redis(port=s.port("resp"))
        assert r.rename("src", "last")
        s.kill()
        s.start()
        r = redis.Redis(port=s.port("resp"))
        assert not r.exists("src")
        assert (r.xrange("last"), r.xpending("last", "g")) == want
    finally:
        s.stop(check=False)
