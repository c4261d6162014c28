"""SHUTDOWN (Redis 7.0: SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]) stops
sluiced as SIGTERM does: the caller's connection closes without a reply,
replies already owed go out first, everything is synced, the process exits
0, and every write acknowledged before it is there after a restart. The
refusals (bad arguments, MULTI, ACL) are compared with redis-server in
test_resp_diff_compat.py."""
import os

import pytest
import redis

import sluice
from resp_util import Conn, encode


def wait_exit(s):
    """The process exits 0 by itself, with no sanitizer report; returns its
    log."""
    assert s.proc.wait(timeout=30) == 0
    s.proc = None
    s.stderr_file.close()
    err = s.stderr()
    for m in sluice.SANITIZER_MARKERS:
        assert m not in err, err[-8000:]
    return err


def fill(r):
    r.set("s", "v" * 1000)
    r.hset("h", mapping={"f%d" % i: str(i) for i in range(50)})
    r.sadd("set", *range(20))
    r.zadd("z", {"m%d" % i: i / 3 for i in range(30)})
    r.rpush("l", *("e%d" % i for i in range(40)))
    r.xadd("st", {"a": "1"}, id="1-1")
    r.set("ttl", "x", ex=1000)
    r.bitop("OR", "bits", "s")


def snapshot(r):
    return [r.get("s"), r.hgetall("h"), r.smembers("set"), r.zrange("z", 0, -1, withscores=True),
            r.lrange("l", 0, -1), r.xrange("st"), r.get("ttl"), r.ttl("ttl") > 900, r.get("bits"),
            r.dbsize()]


@pytest.mark.parametrize("fsync", ["always", "never"])
@pytest.mark.parametrize("args", [(), ("NOSAVE",), ("SAVE", "NOW", "FORCE")])
def test_shutdown_exits_0_and_keeps_data(tmp_path, fsync, args):
    """With fsync=never nothing was synced when the writes were answered:
    SHUTDOWN must sync it all before exiting."""
    data = tmp_path / "d"
    data.mkdir()
    s = sluice.Sluiced(data_dir=str(data), fsync=fsync, listeners=("resp",))
    try:
        r = redis.Redis(port=s.port("resp"), decode_responses=True)
        fill(r)
        before = snapshot(r)
        if args:
            # redis-py's shutdown() takes flags; raw for the combination.
            with pytest.raises(redis.ConnectionError):
                r.execute_command("SHUTDOWN", *args)
        else:
            assert r.shutdown() is None  # redis-py: the closed connection is success
        err = wait_exit(s)
        assert "SHUTDOWN from" in err
        assert "clean shutdown" in err
        s.start()
        r = redis.Redis(port=s.port("resp"), decode_responses=True)
        assert snapshot(r) == before
    finally:
        s.stop()


def test_shutdown_drains_replies_owed(tmp_path):
    """A pipeline ending in SHUTDOWN: every reply before it arrives (each
    write synced first under fsync=always), then the connection closes with
    no reply to SHUTDOWN; another client's pipelined writes answered before
    the stop are there after the restart."""
    data = tmp_path / "d"
    data.mkdir()
    s = sluice.Sluiced(data_dir=str(data), fsync="always", listeners=("resp",))
    try:
        other = Conn(s.port("resp"))
        other.send_raw(b"".join(encode(("SET", "o%d" % i, str(i))) for i in range(200)))
        got_other = [other.read()[0] for _ in range(200)]
        assert got_other == [b"+OK\r\n"] * 200
        c = Conn(s.port("resp"))
        c.send_raw(b"".join(encode(("RPUSH", "q", str(i))) for i in range(500)) +
                   encode(("SHUTDOWN",)))
        replies = [c.read()[0] for _ in range(500)]
        assert replies == [b":%d\r\n" % (i + 1) for i in range(500)]
        with pytest.raises(EOFError):
            c.read()
        wait_exit(s)
        # The other connection was closed by the stop too.
        with pytest.raises((EOFError, ConnectionError)):
            other.call("PING")
        s.start()
        r = redis.Redis(port=s.port("resp"), decode_responses=True)
        assert r.llen("q") == 500
        assert r.mget(["o%d" % i for i in range(200)]) == [str(i) for i in range(200)]
    finally:
        s.stop()


def test_refused_shutdown_keeps_serving(tmp_path):
    """Bad arguments, ABORT with no shutdown under way, and MULTI are errors
    and the server keeps running."""
    with sluice.Sluiced(fsync="never", listeners=("resp",)) as s:
        r = redis.Redis(port=s.port("resp"))
        for args in (("ABORT",), ("SAVE", "NOSAVE"), ("NOW", "bogus"), ("ABORT", "NOW")):
            with pytest.raises(redis.ResponseError):
                r.execute_command("SHUTDOWN", *args)
        p = r.pipeline(transaction=True)
        p.set("k", "v")
        p.execute_command("SHUTDOWN")
        with pytest.raises(redis.ResponseError):
            p.execute()
        assert r.ping()
        assert s.proc.poll() is None


def test_shutdown_while_script_busy_then_after_kill(tmp_path):
    """While a script is busy SHUTDOWN answers the busy error (sluice asks
    for SCRIPT KILL first; Redis would kill it under NOSAVE); once the
    script is killed, SHUTDOWN stops the server. No timing: the second
    connection polls with PING until it is answered -BUSY."""
    data = tmp_path / "d"
    data.mkdir()
    s = sluice.Sluiced(data_dir=str(data), fsync="always", listeners=("resp",))
    try:
        a, b = Conn(s.port("resp"), timeout=60), Conn(s.port("resp"), timeout=60)
        a.call("CONFIG", "SET", "busy-reply-threshold", "100")
        b.call("SET", "kept", "1")
        a.send("EVAL", "local i = 0 while true do i = i + 1 end", "0")
        while not b.call("PING")[0].startswith(b"-BUSY"):
            pass
        busy = (b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                b"SHUTDOWN NOSAVE.\r\n")
        assert b.call("SHUTDOWN", "NOSAVE")[0] == busy
        assert b.call("SHUTDOWN")[0] == busy
        assert b.call("SCRIPT", "KILL")[0] == b"+OK\r\n"
        assert a.read()[0].startswith(b"-ERR Script killed by user with SCRIPT KILL")
        b.send("SHUTDOWN", "NOSAVE")
        with pytest.raises(EOFError):
            b.read()
        wait_exit(s)
        s.start()
        assert redis.Redis(port=s.port("resp")).get("kept") == b"1"
    finally:
        s.stop()


def test_shutdown_with_blocked_clients(tmp_path):
    """Clients blocked in BLPOP and XREAD do not hold the stop up."""
    with sluice.Sluiced(fsync="always", listeners=("resp",)) as s:
        blocked = [Conn(s.port("resp")) for _ in range(3)]
        blocked[0].send("BLPOP", "nothing", "0")
        blocked[1].send("XREAD", "BLOCK", "0", "STREAMS", "nostream", "$")
        blocked[2].send("BZPOPMIN", "nozset", "0")
        r = redis.Redis(port=s.port("resp"))
        # Served after the blocking requests were read (one loop, in order).
        while r.execute_command("CLIENT", "LIST").count(b"flags=b") < 3:
            pass
        assert r.shutdown() is None
        wait_exit(s)
        for c in blocked:
            with pytest.raises(EOFError):
                c.read()
