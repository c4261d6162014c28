"""Incremental compaction of the keys journal (kv_store.c): the snapshot is
written into keys.journal.tmp a piece per loop turn while clients keep
changing keys, and the file that replaces the journal must replay to
exactly the state the clients were told about: after changes of every kind
interleaved with the snapshot (keys before and after its cursor, RENAME,
COPY, expiry times, FLUSHALL), after a SIGKILL in the middle of the
snapshot, and after a SIGKILL right after it committed."""
import os
import random
import time

import redis

import sluice

NKEYS = 60000
DEADLINE = 240


def start(tmp_path, fsync="always"):
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    return sluice.Sluiced(data_dir=str(d), fsync=fsync, listeners=("resp",),
                          extra=["--journal.compact.min.bytes=65536"])


def client(s):
    return redis.Redis(host="127.0.0.1", port=s.port("resp"), socket_timeout=60)


def tmp_file(s):
    return os.path.join(s.data_dir, "resp", "keys.journal.tmp")


def compactions(s):
    return s.stderr().count("keys.journal: compacted")


def populate(r, rnd):
    """Keys of every type the journal holds, some with times; then every
    string rewritten, so half the journal is garbage and a compaction is
    due at the next idle moment."""
    for rewrite in range(2):
        p = r.pipeline(transaction=False)
        for i in range(NKEYS):
            if i % 7 == 0:
                p.set("k:%d" % i, "v%d-%d" % (i, rewrite), px=3600000 + i)
            else:
                p.set("k:%d" % i, "v%d-%d" % (i, rewrite))
            if len(p) >= 2000:
                p.execute()
        p.execute()
    p = r.pipeline(transaction=False)
    for i in range(300):
        p.rpush("l:%d" % i, *["e%d" % j for j in range(rnd.randint(1, 30))])
        p.hset("h:%d" % i, mapping={"f%d" % j: "x%d" % j for j in range(rnd.randint(1, 20))})
        p.sadd("s:%d" % i, *["m%d" % j for j in range(rnd.randint(1, 20))])
        p.zadd("z:%d" % i, {"m%d" % j: j * 1.5 for j in range(rnd.randint(1, 20))})
        if i % 5 == 0:
            p.pexpire("l:%d" % i, 7200000)
    p.execute()


def random_changes(p, rnd, n):
    """n changes of every kind on random keys, queued on pipeline p."""
    for _ in range(n):
        i = rnd.randrange(NKEYS)
        j = rnd.randrange(300)
        op = rnd.randrange(20)
        if op == 0:
            p.set("k:%d" % i, "new%d" % rnd.randrange(1000))
        elif op == 1:
            p.delete("k:%d" % i)
        elif op == 2:
            p.pexpire("k:%d" % i, 3600000 + rnd.randrange(100000))
        elif op == 3:
            p.persist("k:%d" % i)
        elif op == 4:
            # A RENAME of a missing key is an error: raise_on_error=False
            # lets the batch go on.
            p.rename("k:%d" % i, "k:%d" % rnd.randrange(NKEYS))
        elif op == 5:
            p.copy("k:%d" % i, "k:%d" % rnd.randrange(NKEYS), replace=True)
        elif op == 6:
            p.lpush("l:%d" % j, "p%d" % rnd.randrange(1000))
        elif op == 7:
            p.rpop("l:%d" % j)
        elif op == 8:
            p.linsert("l:%d" % j, "BEFORE", "e2", "ins")
        elif op == 9:
            p.ltrim("l:%d" % j, 1, 15)
        elif op == 10:
            p.lrem("l:%d" % j, 1, "e3")
        elif op == 11:
            p.hset("h:%d" % j, "f%d" % rnd.randrange(30), "y%d" % rnd.randrange(1000))
        elif op == 12:
            p.hdel("h:%d" % j, "f%d" % rnd.randrange(30))
        elif op == 13:
            p.sadd("s:%d" % j, "m%d" % rnd.randrange(30))
        elif op == 14:
            p.srem("s:%d" % j, "m%d" % rnd.randrange(30))
        elif op == 15:
            p.zadd("z:%d" % j, {"m%d" % rnd.randrange(30): rnd.randrange(100) / 4})
        elif op == 16:
            p.zrem("z:%d" % j, "m%d" % rnd.randrange(30))
        elif op == 17:
            p.copy("h:%d" % j, "h:%d" % rnd.randrange(300), replace=True)
        elif op == 18:
            p.append("n:%d" % j, "ab")
        else:
            p.lmove("l:%d" % j, "l:%d" % rnd.randrange(300), "LEFT", "RIGHT")


def run_changes(r, p_rnd, n):
    p = r.pipeline(transaction=False)
    random_changes(p, p_rnd, n)
    p.execute(raise_on_error=False)


def state(r):
    """Every key: its type, its value in a comparable form, its absolute
    expiry time (read in pipelines: quick, so a kill can follow it while a
    snapshot is still being written)."""
    keys = sorted(set(r.scan_iter(count=10000)))
    p = r.pipeline(transaction=False)
    for k in keys:
        p.type(k)
        p.execute_command("PEXPIRETIME", k)
    got = p.execute()
    types = got[0::2]
    reads = {b"string": lambda k: p.get(k), b"list": lambda k: p.lrange(k, 0, -1),
             b"hash": lambda k: p.hgetall(k), b"set": lambda k: p.smembers(k),
             b"zset": lambda k: p.zrange(k, 0, -1, withscores=True)}
    for k, t in zip(keys, types):
        reads.get(t, lambda k: p.exists(k))(k)
    vals = p.execute()
    out = {}
    for k, t, at, v in zip(keys, types, got[1::2], vals):
        if isinstance(v, dict):
            v = sorted(v.items())
        elif isinstance(v, set):
            v = sorted(v)
        out[k] = (t, v, at)
    return out


def same(before, after):
    assert len(before) == len(after)
    for k in before:
        assert after.get(k) == before[k], k


def changes_during_snapshot(s, r, rnd):
    """Runs changes until a compaction was seen both running (its .tmp
    there between two batches of changes) and committed; returns how many
    batches ran while the .tmp was there."""
    before = compactions(s)
    during = 0
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        there = os.path.exists(tmp_file(s))
        run_changes(r, rnd, 200)
        if there and os.path.exists(tmp_file(s)):
            during += 1
        if during and compactions(s) > before and not os.path.exists(tmp_file(s)):
            return during
    raise AssertionError("no incremental compaction was seen (%d batches ran during one)" % during)


def test_changes_during_snapshot_replay_exactly(tmp_path):
    rnd = random.Random(18)
    s = start(tmp_path)
    try:
        r = client(s)
        populate(r, rnd)
        during = changes_during_snapshot(s, r, rnd)
        assert during >= 1
        run_changes(r, rnd, 500)
        before = state(r)
        assert len(before) > NKEYS // 2
        s.kill()
        s.start()
        same(before, state(client(s)))
        # The compacted journal keeps working: more changes, one more
        # restart, the same state again.
        r = client(s)
        run_changes(r, rnd, 2000)
        before = state(r)
        s.stop()
        s.start()
        same(before, state(client(s)))
    finally:
        s.stop()


class Model:
    """What the server was told, for the kill in the middle of a snapshot
    (reading the whole state back takes longer than the snapshot): string
    keys with absolute times, lists, hashes; changes of every kind the
    snapshot must keep, including RENAME and COPY across its cursor."""

    def __init__(self):
        self.keys = {}  # key -> [type, value, pexpiretime]

    def populate(self, r):
        at0 = int(time.time() * 1000) + 3600000
        for rewrite in range(2):
            p = r.pipeline(transaction=False)
            for i in range(NKEYS):
                k = b"k:%d" % i
                v = b"v%d-%d" % (i, rewrite)
                at = at0 + i if i % 7 == 0 else -1
                if at > 0:
                    p.set(k, v, pxat=at)
                else:
                    p.set(k, v)
                self.keys[k] = [b"string", v, at]
                if len(p) >= 2000:
                    p.execute()
            p.execute()
        p = r.pipeline(transaction=False)
        for j in range(300):
            items = [b"e%d" % x for x in range(1 + j % 30)]
            p.rpush(b"l:%d" % j, *items)
            self.keys[b"l:%d" % j] = [b"list", items, -1]
            fields = {b"f%d" % x: b"x%d" % x for x in range(1 + j % 20)}
            p.hset(b"h:%d" % j, mapping=fields)
            self.keys[b"h:%d" % j] = [b"hash", sorted(fields.items()), -1]
        p.execute()

    def changes(self, r, rnd, n):
        p = r.pipeline(transaction=False)
        for _ in range(n):
            a = b"k:%d" % rnd.randrange(NKEYS)
            b = b"k:%d" % rnd.randrange(NKEYS)
            op = rnd.randrange(7)
            if op == 0:
                v = b"new%d" % rnd.randrange(1000)
                p.set(a, v)
                self.keys[a] = [b"string", v, -1]
            elif op == 1:
                p.delete(a)
                self.keys.pop(a, None)
            elif op == 2 and a in self.keys:
                at = int(time.time() * 1000) + 3600000 + rnd.randrange(1000)
                p.pexpireat(a, at)
                self.keys[a][2] = at
            elif op == 3 and a in self.keys:
                p.rename(a, b)
                self.keys[b] = self.keys.pop(a)
            elif op == 4 and a in self.keys:
                p.copy(a, b, replace=True)
                self.keys[b] = list(self.keys[a])
            elif op == 5:
                lk = b"l:%d" % rnd.randrange(300)
                p.rpush(lk, b"p")
                self.keys.setdefault(lk, [b"list", [], -1])[1].append(b"p")
            elif op == 6:
                hk = b"h:%d" % rnd.randrange(300)
                f, v = b"f%d" % rnd.randrange(30), b"y%d" % rnd.randrange(9)
                p.hset(hk, f, v)
                e = self.keys.setdefault(hk, [b"hash", [], -1])
                e[1] = sorted({**dict(e[1]), f: v}.items())
        p.execute()

    def state(self):
        return {k: tuple(v) for k, v in self.keys.items()}


def sigkill_mid_snapshot(tmp_path, rnd):
    """One run of the scenario: False when the snapshot ended before the
    kill (the run proves nothing), True once checked."""
    tmp_path.mkdir()
    s = start(tmp_path)
    try:
        r = client(s)
        m = Model()
        m.populate(r)
        # Changes go on until the snapshot is being written, a few more
        # batches (acknowledged, so durable under fsync=always), then the
        # kill while the .tmp is still there.
        deadline = time.monotonic() + DEADLINE
        while not os.path.exists(tmp_file(s)):
            assert time.monotonic() < deadline, "no compaction started"
            m.changes(r, rnd, 100)
        for _ in range(3):
            m.changes(r, rnd, 100)
        killed_mid = os.path.exists(tmp_file(s))
        s.kill()
        if not killed_mid:
            return False
        s.start()
        assert "left by an unfinished compaction" in s.stderr()
        same(m.state(), state(client(s)))
        return True
    finally:
        s.stop()


def test_sigkill_in_the_middle_of_a_snapshot(tmp_path):
    # The snapshot is only a few dozen turns' worth of work: when the
    # client is slow next to the server (a loaded machine) it can end
    # before the batches do, and the scenario runs again on a new server.
    for attempt in range(5):
        if sigkill_mid_snapshot(tmp_path / ("run%d" % attempt), random.Random(7 + attempt)):
            return
    assert False, "the snapshot ended before the kill in every run"


def test_flushall_during_snapshot(tmp_path):
    rnd = random.Random(3)
    s = start(tmp_path)
    try:
        r = client(s)
        populate(r, rnd)
        deadline = time.monotonic() + DEADLINE
        while not os.path.exists(tmp_file(s)):
            assert time.monotonic() < deadline, "no compaction started"
            run_changes(r, rnd, 100)
        p = r.pipeline(transaction=False)
        p.flushall()
        p.set("after", "1", px=9000000)
        p.rpush("after:l", "a", "b")
        p.execute()
        while os.path.exists(tmp_file(s)):
            assert time.monotonic() < deadline, "the compaction never committed"
            run_changes(r, rnd, 50)
        before = state(r)
        s.kill()
        s.start()
        same(before, state(client(s)))
    finally:
        s.stop()
