"""Busy scripts (Redis 7.0): a script past busy-reply-threshold lets the
server answer other clients, which get -BUSY for everything but the
commands Redis allows while busy; SCRIPT KILL stops a script that has not
written and is refused (UNKILLABLE) for one that has. Each session runs
on two connections against Debian's redis-server 7.0 and sluiced, the
replies compared byte for byte, in RESP2 and RESP3.

No timing is asserted: the second connection polls with PING until it is
answered -BUSY (its request may be read before the script's), and a
script that must outlive a few requests runs for seconds by the server
clock (redis.call('TIME'))."""
import time

import pytest

import sluice
from resp_util import Conn
from test_redis_lua import servers  # noqa: F401 (the module fixture: redis-server 7.0 and sluiced)

LOOP = "local i = 0 while true do i = i + 1 end"
# Writes, then runs by the server's clock: unkillable, ends by itself.
WRITE_THEN_WAIT = """
redis.call('set', KEYS[1], 'v')
local t0 = tonumber(redis.call('time')[1])
while tonumber(redis.call('time')[1]) - t0 < 3 do end
return redis.call('get', KEYS[1])
"""




def conns(port, proto):
    a, b = Conn(port, timeout=60), Conn(port, timeout=60)
    a.call("CONFIG", "SET", "busy-reply-threshold", "100")
    a.call("FLUSHALL")
    if proto == 3:
        b.call("HELLO", "3")
    b.call("PING")  # connected and served before the script starts
    return a, b


def wait_busy(b, deadline=60):
    """Polls with PING until the server answers -BUSY: the script sent on
    the other connection may be read after this connection's request."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        raw = b.call("PING")[0]
        if raw.startswith(b"-BUSY"):
            return raw
        assert raw in (b"+PONG\r\n",), raw
    raise AssertionError("the script never became busy")


# While busy: everything is refused but what 7.0 flags allow_busy.
WHILE_BUSY = [
    ("GET", "x"),
    ("SET", "x", "1"),
    ("EVAL", "return 1", "0"),
    ("SCRIPT", "LOAD", "return 1"),
    ("NOSUCHCOMMAND",),
    ("GET",),
    ("AUTH", "pw"),
    ("WATCH", "x"),
    ("UNWATCH",),
    ("MULTI",),
    ("GET", "x"),
    ("DISCARD",),
    ("MULTI",),
    ("SET", "x", "1"),
    ("EXEC",),
    ("DISCARD",),
    ("PING",),
]


def kill_session(port, proto):
    a, b = conns(port, proto)
    out = []
    try:
        a.send("EVAL", LOOP, "0")
        out.append(("PING", wait_busy(b)))
        for line in WHILE_BUSY:
            out.append((line, b.call(*line)[0]))
        # As redis-cli does: a connection opened while the script is busy.
        k = Conn(port, timeout=60)
        try:
            out.append(("new conn PING", k.call("PING")[0]))
            out.append(("SCRIPT KILL", k.call("SCRIPT", "KILL")[0]))
        finally:
            k.close()
        out.append(("EVAL reply", a.read()[0]))
        for line in [("SCRIPT", "KILL"), ("PING",), ("GET", "x"), ("EXISTS", "x")]:
            out.append((line, b.call(*line)[0]))
        out.append(("caller PING", a.call("PING")[0]))
    finally:
        a.close()
        b.close()
    return out


def unkillable_session(port, proto):
    a, b = conns(port, proto)
    out = []
    try:
        a.send("EVAL", WRITE_THEN_WAIT, "1", "k")
        out.append(("PING", wait_busy(b)))
        for line in [("GET", "k"), ("SCRIPT", "KILL"), ("SCRIPT", "KILL"), ("PING",)]:
            out.append((line, b.call(*line)[0]))
        out.append(("EVAL reply", a.read()[0]))
        for line in [("GET", "k"), ("SCRIPT", "KILL")]:
            out.append((line, b.call(*line)[0]))
    finally:
        a.close()
        b.close()
    return out


FN_LOOP = "#!lua name=busylib\nredis.register_function('spin', function() %s end)" % LOOP


def function_session(port, proto):
    """A busy FCALL: -BUSY names FUNCTION KILL, SCRIPT KILL refuses to stop
    a function, FUNCTION STATS answers (its running_script is checked for
    shape only: the duration differs), FUNCTION KILL stops it."""
    a, b = conns(port, proto)
    out = []
    try:
        a.call("FUNCTION", "FLUSH")
        a.call("FUNCTION", "LOAD", FN_LOOP)
        a.send("FCALL", "spin", "0")
        out.append(("PING", wait_busy(b)))
        for line in [("GET", "x"), ("SCRIPT", "KILL"), ("EVAL", "return 1", "0")]:
            out.append((line, b.call(*line)[0]))
        stats = b.call("FUNCTION", "STATS")[1]
        assert stats[0] == "agg" and stats[2][0] == ("bulk", b"running_script")
        running = stats[2][1]
        assert running[0] == "agg" and running[2][:2] == [("bulk", b"name"), ("bulk", b"spin")]
        out.append(("FUNCTION KILL", b.call("FUNCTION", "KILL")[0]))
        out.append(("FCALL reply", a.read()[0]))
        for line in [("FUNCTION", "KILL"), ("FUNCTION", "STATS"), ("FUNCTION", "DELETE", "busylib")]:
            out.append((line, b.call(*line)[0]))
    finally:
        a.close()
        b.close()
    return out


def compare(servers, session, proto):
    ref, ours = servers
    a = session(ref, proto)
    b = session(ours, proto)
    assert len(a) == len(b)
    for (line, x), (_, y) in zip(a, b):
        assert y == x, "RESP%d %r:\n redis:  %r\n sluice: %r" % (proto, line, x, y)
    return b


@pytest.mark.parametrize("proto", [2, 3])
def test_busy_script_killed(servers, proto):
    out = compare(servers, kill_session, proto)
    assert out[1][1].startswith(b"-BUSY Redis is busy running a script.")
    assert b"Script killed by user with SCRIPT KILL" in dict(out)["EVAL reply"]


@pytest.mark.parametrize("proto", [2, 3])
def test_busy_script_that_wrote_is_unkillable(servers, proto):
    out = compare(servers, unkillable_session, proto)
    assert dict(out)["EVAL reply"] == b"$1\r\nv\r\n"
    assert out[2][1].startswith(b"-UNKILLABLE")


def test_no_script_running(servers):
    for port in servers:
        c = Conn(port)
        try:
            assert c.call("SCRIPT", "KILL")[0] == b"-NOTBUSY No scripts in execution right now.\r\n"
        finally:
            c.close()


def test_unkillable_script_is_durable_and_killed_one_wrote_nothing(tmp_path):
    """fsync=always: the busy script's reply waits for its sync, the other
    clients' -BUSY replies do not wait for it; after a restart the
    unkillable script's write is there and the killed one left nothing."""
    d = tmp_path / "data"
    d.mkdir()
    srv = sluice.Sluiced(data_dir=str(d), fsync="always", listeners=("resp",))
    try:
        port = srv.port("resp")
        a, b = conns(port, 2)
        a.send("EVAL", "redis.call('get', 'nothing') " + LOOP, "0")
        wait_busy(b)
        assert b.call("SET", "killed", "1")[0].startswith(b"-BUSY")
        assert b.call("SCRIPT", "KILL")[0] == b"+OK\r\n"
        assert b"Script killed" in a.read()[0]
        a.send("EVAL", WRITE_THEN_WAIT, "1", "k")
        wait_busy(b)
        assert b.call("GET", "k")[0].startswith(b"-BUSY")
        assert a.read()[0] == b"$1\r\nv\r\n"
        a.close()
        b.close()
        srv.stop()
        srv.start()
        c = Conn(srv.port("resp"))
        assert c.call("GET", "k")[0] == b"$1\r\nv\r\n"
        assert c.call("EXISTS", "killed")[0] == b":0\r\n"
        c.close()
    finally:
        srv.stop()


@pytest.mark.parametrize("proto", [2, 3])
def test_busy_function_killed(servers, proto):
    out = compare(servers, function_session, proto)
    assert b"FUNCTION KILL" in out[0][1]
    assert dict(out)["FUNCTION KILL"] == b"+OK\r\n"
