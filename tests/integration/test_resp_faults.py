"""Storage failures on every write path of the Redis front, with redis-py.

For each write command a storage fault is armed on the file it writes
(keys.journal, streams.journal, a stream's .log) for each way a write can
fail: the file space cannot be reserved (fallocate: a full disk, refused
before anything changes), the write itself fails (pwrite), or the sync
fails (fdatasync). Each time:
  - the client gets Redis's error for a write refused because persistence
    failed: "MISCONF Errors writing to the AOF file: <strerror>";
  - a second client sees the state from before (no XADD entry with nil
    fields, no popped element gone, no counter incremented);
  - once the fault is cleared the same write is accepted, without a
    restart;
  - after a SIGKILL and after a SIGTERM restart the errored write is
    absent and every acknowledged one present.
Plus: a client blocked in BLPOP served by a push whose sync fails gets the
error too and the element stays unpopped; stream IDs handed out for a
failed XADD are not handed out again; and on a real small filesystem (a
tmpfs of a few MiB) writes fail with MISCONF once it is full, everything
acknowledged survives a restart, and deleting keys frees space so writes
work again without a restart.
"""
import signal
import threading
import time

import pytest
import redis

import sluice
from resp_util import wait_blocked

MISCONF = "MISCONF Errors writing to the AOF file: "

OPS = {
    # Reservations happen in steps; a clean restart trims every file to its
    # data, so the first append after it has to reserve (and fails).
    "fallocate": ("op=fallocate,path=%s,count=-1,errno=ENOSPC", "No space left on device"),
    "pwrite": ("op=pwrite,path=%s,count=1,errno=EIO", "Input/output error"),
    "fdatasync": ("op=fdatasync,path=%s,count=1,errno=EIO", "Input/output error"),
}


def start(tmp_path, fsync="always"):
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    return sluice.Sluiced(data_dir=str(d), fsync=fsync, listeners=("resp", "http"), faults=True)


def client(s):
    return redis.Redis(port=s.port("resp"), socket_timeout=20)


def refused(fn, why):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    assert str(e.value) == MISCONF + why, str(e.value)


class Case:
    def __init__(self, name, path, setup, act, probe, retry=None):
        self.name, self.path = name, path
        self.setup, self.act, self.probe = setup, act, probe
        self.retry = retry or (lambda r, op: act(r))

    def __repr__(self):
        return self.name


def streams_setup(r):
    r.xadd("s", {"f": "v1"}, id="1-1")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"})


def lmove(r):
    return r.lmove("src", "dst", "LEFT", "RIGHT")


# A script that writes a stream entry and a string: a multi-record unit
# whose entry reaches its log only after the streams journal's sync (the
# unit gate, keyspace_unit.c). The XADD comes first: a call refused for
# space leaves the calls before it applied (as in EXEC and in Redis).
SET_XADD = "local id = redis.call('xadd', 's', ARGV[2], 'f', ARGV[1]); redis.call('set', 'k', ARGV[1]); return id"


def set_xadd(r, value, id):
    """The script's error names the script after the storage error (Redis's
    " script: <sha>, on @user_script:1."): compared without it."""
    try:
        return r.eval(SET_XADD, 0, value, id)
    except redis.ResponseError as e:
        raise redis.ResponseError(str(e).split(" script: ")[0])


def pending_setup(r):
    streams_setup(r)
    r.xadd("s", {"f": "v2"}, id="2-1")
    r.xreadgroup("g", "c", {"s": ">"})
    r.xdel("s", "2-1")  # pending, its entry deleted: COPY/RENAME keep it


def stream_state(r, k):
    if not r.exists(k):
        return None
    pend = r.xpending_range(k, "g", "-", "+", 10)
    return r.xrange(k), [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pend]


def xadd_far(r):
    return r.xadd("s", {"f": "v2"})


def xadd_retry(r, op):
    # An XADD whose write failed after it was applied had been handed
    # 9999999999999-1: never again. One refused before (no room) never had
    # an ID.
    assert xadd_far(r) == (b"9999999999999-1" if op == "fallocate" else b"9999999999999-2")


CASES = [
    Case("rpush", "keys.journal", lambda r: r.rpush("q", "a", "b"),
         lambda r: r.rpush("q", "c"), lambda r: r.lrange("q", 0, -1)),
    Case("lpop", "keys.journal", lambda r: r.rpush("q", "a", "b", "c"),
         lambda r: r.lpop("q"), lambda r: r.lrange("q", 0, -1)),
    Case("set", "keys.journal", lambda r: r.set("k", "old"),
         lambda r: r.set("k", "new"), lambda r: r.get("k")),
    Case("expire", "keys.journal", lambda r: r.set("k", "v"),
         lambda r: r.expire("k", 1000), lambda r: (r.get("k"), r.ttl("k") > 0)),
    Case("incr", "keys.journal", lambda r: r.set("n", "5"),
         lambda r: r.incr("n"), lambda r: r.get("n")),
    Case("del", "keys.journal", lambda r: (r.rpush("q", "a"), r.set("k", "v")),
         lambda r: r.delete("q", "k"), lambda r: (r.lrange("q", 0, -1), r.get("k"))),
    Case("lmove", "keys.journal", lambda r: (r.rpush("src", "a", "b"), r.rpush("dst", "x")),
         lmove, lambda r: (r.lrange("src", 0, -1), r.lrange("dst", 0, -1))),
    Case("xadd", ".log", lambda r: r.xadd("s", {"f": "v1"}, id="9999999999999-0"),
         xadd_far, lambda r: r.xrange("s"), retry=xadd_retry),
    Case("xadd-new-stream", "streams.journal", lambda r: r.xadd("s", {"f": "v1"}),
         lambda r: r.xadd("s2", {"f": "v2"}, id="5-1"),
         lambda r: (r.xrange("s2"), r.exists("s2"))),
    Case("xack", "streams.journal", streams_setup,
         lambda r: r.xack("s", "g", "1-1"), lambda r: r.xpending("s", "g")["pending"]),
    Case("hset", "keys.journal", lambda r: r.hset("h", mapping={"a": "1", "b": "2"}),
         lambda r: r.hset("h", mapping={"a": "9", "c": "3"}), lambda r: r.hgetall("h")),
    Case("hincrby", "keys.journal", lambda r: r.hset("h", "n", "5"),
         lambda r: r.hincrby("h", "n", 2), lambda r: r.hget("h", "n")),
    Case("sadd", "keys.journal", lambda r: r.sadd("s", "a", "b"),
         lambda r: r.sadd("s", "c", "d"), lambda r: sorted(r.smembers("s"))),
    Case("spop", "keys.journal", lambda r: r.sadd("s", "a", "b", "c"),
         lambda r: r.spop("s"), lambda r: sorted(r.smembers("s"))),
    Case("zadd", "keys.journal", lambda r: r.zadd("z", {"a": 1, "b": 2}),
         lambda r: r.zadd("z", {"a": 5, "c": 3}), lambda r: r.zrange("z", 0, -1, withscores=True)),
    Case("zpopmin", "keys.journal", lambda r: r.zadd("z", {"a": 1, "b": 2, "c": 3}),
         lambda r: r.zpopmin("z"), lambda r: r.zrange("z", 0, -1, withscores=True)),
    Case("zunionstore", "keys.journal", lambda r: (r.zadd("z", {"a": 1}), r.zadd("d", {"x": 9})),
         lambda r: r.zunionstore("d", ["z"]), lambda r: r.zrange("d", 0, -1, withscores=True)),
    Case("copy", "keys.journal", lambda r: r.hset("h", "a", "1"),
         lambda r: r.copy("h", "h2"), lambda r: (r.exists("h2"), r.hgetall("h2"))),
    Case("eval-set-xadd", "streams.journal", lambda r: set_xadd(r, "old", "1-1"),
         lambda r: set_xadd(r, "new", "2-1"), lambda r: (r.get("k"), r.xrange("s"))),
    Case("eval-set-xadd-log", ".log", lambda r: set_xadd(r, "old", "1-1"),
         lambda r: set_xadd(r, "new", "2-1"), lambda r: (r.get("k"), r.xrange("s"))),
    Case("rename-stream", "streams.journal", pending_setup, lambda r: r.rename("s", "s2"),
         lambda r: (stream_state(r, "s"), stream_state(r, "s2"))),
    Case("rename-stream-log", ".log", pending_setup, lambda r: r.rename("s", "s2"),
         lambda r: (stream_state(r, "s"), stream_state(r, "s2"))),
    Case("copy-stream", "streams.journal", pending_setup, lambda r: r.copy("s", "s2"),
         lambda r: stream_state(r, "s2")),
    Case("xgroup-create", "streams.journal", lambda r: r.xadd("s", {"f": "v1"}, id="1-1"),
         lambda r: r.xgroup_create("s", "g2", id="$"),
         lambda r: sorted(g["name"] for g in r.xinfo_groups("s"))),
]


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_failed_write_is_refused_invisible_and_absent_after_restart(tmp_path, case, op):
    spec, why = OPS[op]
    s = start(tmp_path)
    try:
        r = client(s)
        case.setup(r)
        if op == "fallocate":
            s.restart()
            r = client(s)
        other = client(s)
        before = case.probe(other)
        s.fault(spec % case.path)
        refused(lambda: case.act(r), why)
        assert s.fault_hits() >= 1
        assert case.probe(other) == before
        s.clear_faults()
        case.retry(r, op)
        after = case.probe(other)
        assert after != before
        for sig in (signal.SIGKILL, signal.SIGTERM):
            s.stop(sig, check=sig == signal.SIGTERM)
            s.start()
            assert case.probe(client(s)) == after, sig
    finally:
        s.stop()


def test_blocked_pop_served_by_a_failing_push_gets_the_error(tmp_path):
    s = start(tmp_path)
    try:
        r = client(s)
        r.rpush("other", "x")
        out = {}

        def blpop(key):
            try:
                out[key] = client(s).blpop(key, 0)
            except redis.ResponseError as e:
                out[key] = e

        t = threading.Thread(target=blpop, args=("q",))
        t.start()
        wait_blocked(s.port("resp"), 1)
        s.fault(OPS["fdatasync"][0] % "keys.journal")
        refused(lambda: r.rpush("q", "a"), "Input/output error")
        t.join(20)
        assert not t.is_alive()
        # Its pop was part of the failed batch: it is told, and the element
        # is neither popped nor pushed.
        assert isinstance(out["q"], redis.ResponseError), out
        assert str(out["q"]).startswith(MISCONF)
        assert client(s).lrange("q", 0, -1) == []
        # A push refused before it applied (no room) wakes nobody: the
        # client stays blocked until a push goes through.
        s.clear_faults()
        s.restart()
        r = client(s)
        t = threading.Thread(target=blpop, args=("q",))
        t.start()
        wait_blocked(s.port("resp"), 1)
        s.fault(OPS["fallocate"][0] % "keys.journal")
        refused(lambda: r.rpush("q", "b"), "No space left on device")
        info = client(s).info("clients")
        assert info["blocked_clients"] == 1
        s.clear_faults()
        assert r.rpush("q", "c") == 1
        t.join(20)
        assert out["q"] == (b"q", b"c")
        assert r.lrange("q", 0, -1) == []
        s.stop(signal.SIGKILL, check=False)
        s.start()
        assert client(s).lrange("q", 0, -1) == []
        assert client(s).lrange("other", 0, -1) == [b"x"]
    finally:
        s.stop()


def test_recovery_waits_for_the_disk_then_writes_resume(tmp_path):
    """A sync failure whose cut back fails too (every sync keeps failing)
    leaves the keyspace failed: every request answers MISCONF (PING too, as
    in Redis; reads too, since what they would see may still be undone).
    It retries by itself each second, and serves again once the disk works,
    without a restart."""
    s = start(tmp_path)
    try:
        r = client(s)
        r.set("k", "v1")
        s.fault("op=fdatasync,path=keys.journal,count=-1,errno=EIO")
        refused(lambda: r.set("k", "v2"), "Input/output error")
        refused(lambda: r.set("k", "v3"), "Input/output error")
        refused(lambda: r.ping(), "Input/output error")
        refused(lambda: r.get("k"), "Input/output error")
        s.clear_faults()
        deadline = time.monotonic() + 15
        while True:
            try:
                r.set("k", "v4")
                break
            except redis.ResponseError as e:
                assert str(e).startswith(MISCONF)
                assert time.monotonic() < deadline, "writes never resumed"
                time.sleep(0.05)  # polling the server's 1 s recovery retry
        assert client(s).get("k") == b"v4"
        s.stop(signal.SIGKILL, check=False)
        s.start()
        assert client(s).get("k") == b"v4"
    finally:
        s.stop()


def fill(r, acked, key, value, n):
    """Pushes value n times onto key until MISCONF; returns True if refused."""
    for i in range(n):
        try:
            r.rpush(key, value)
        except redis.ResponseError as e:
            assert str(e).startswith(MISCONF), str(e)
            return True
        acked[key] = acked.get(key, 0) + 1
    return False


def test_full_tmpfs_refuses_writes_and_deleting_keys_frees_space(tmp_path):
    with sluice.tmpfs("8m") as d:
        s = sluice.Sluiced(data_dir=d + "/data", listeners=("resp",))
        try:
            r = client(s)
            value = "v" * 65536
            acked = {}
            entries = []
            full = False
            # A stream holds most of the data (its log is one file the
            # deletion removes); lists fill the keys journal.
            for i in range(200):
                try:
                    entries.append(r.xadd("big", {"f": value}))
                except redis.ResponseError as e:
                    assert str(e).startswith(MISCONF), str(e)
                    full = True
                    break
                if i % 4 == 0 and fill(r, acked, "q", value, 1):
                    full = True
                    break
            assert full, "the tmpfs never filled up"
            # Every acknowledged write is there, before and after a crash.
            assert r.xlen("big") == len(entries)
            assert r.llen("q") == acked.get("q", 0)
            s.stop(signal.SIGKILL, check=False)
            s.start()
            r = client(s)
            assert [e[0] for e in r.xrange("big")] == entries
            assert r.llen("q") == acked.get("q", 0)
            # Still full: a write of the same size is refused.
            with pytest.raises(redis.ResponseError):
                for _ in range(64):
                    r.xadd("big", {"f": value})
            # Deleting the stream frees its log once the deletion is on
            # disk; writes work again, no restart.
            assert r.delete("big") == 1
            deadline = time.monotonic() + 15
            while True:
                try:
                    r.set("after", value)
                    break
                except redis.ResponseError as e:
                    assert str(e).startswith(MISCONF), str(e)
                    assert time.monotonic() < deadline, "space never came back"
                    time.sleep(0.05)  # polling for the deleted log's removal
            for i in range(8):
                r.rpush("q2", value)
            assert r.llen("q2") == 8
            s.stop()
            s.start()
            r = client(s)
            assert r.get("after") == value.encode()
            assert r.llen("q2") == 8
            assert r.exists("big") == 0
        finally:
            s.stop()
