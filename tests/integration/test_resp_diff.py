"""Differential tests: the same RESP sessions against Debian's redis-server
7.0 and sluiced, in RESP2 and RESP3, replies compared byte for byte.

A line starting with "~" is compared after masking numbers that legitimately
differ (idle and delivery times, server-generated IDs, client ids)."""
import shlex

import pytest

import sluice
from resp_util import Conn, mask, wait_blocked


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ref = sluice.redis_ref()
    srv = sluice.Sluiced(fsync="never",
                         listeners=("resp",))
    yield ref.port, srv.port("resp")
    srv.stop()
    ref.stop()


def run_session(port, lines, proto):
    c = Conn(port)
    out = []
    try:
        c.call("FLUSHALL")
        if proto == 3:
            c.call("HELLO", "3")
        for line in lines:
            masked = line.startswith("~")
            raw, v = c.call(*shlex.split(line.lstrip("~ ")))
            out.append((line, mask(v) if masked else raw))
    finally:
        c.close()
    return out


def compare(servers, lines, proto):
    ref, ours = servers
    a = run_session(ref, lines, proto)
    b = run_session(ours, lines, proto)
    for (line, x), (_, y) in zip(a, b):
        assert y == x, "RESP%d `%s`:\n redis:  %r\n sluice: %r" % (proto, line, x, y)


SESSIONS = {
    "connection": [
        "PING", "PING hello", "PING a b", "ECHO x", "ECHO", "SELECT 0", "SELECT 16", "SELECT -1", "SELECT x",
        "CLIENT SETNAME myname", "CLIENT GETNAME", "CLIENT SETNAME 'bad name'", "CLIENT SETNAME ''",
        "CLIENT GETNAME", "CLIENT FOO", "CLIENT", "AUTH pass", "AUTH default x", "AUTH a b c",
        "HELLO 4", "HELLO x", "HELLO 3 FOO", "NOSUCH a b", "nosuch", "xadd", "DBSIZE",
        "TIME x", "COMMAND FOO", "CONFIG GET maxmemory-policy", "CONFIG GET appendonly-nosuch",
    ],
    "keys": [
        "XADD s 1-1 a b", "XADD t 1-1 a b", "TYPE s", "TYPE none", "EXISTS s t none s", "DBSIZE",
        "KEYS s", "KEYS none*", "SCAN x", "DEL s none", "EXISTS s", "DEL", "FLUSHDB", "DBSIZE",
        "FLUSHDB junk", "FLUSHALL ASYNC", "FLUSHALL SYNC",
    ],
    "xadd": [
        "XADD s 5 f v", "XADD s 5 f v", "XADD s 5-* f v", "XADD s 5-* f v", "XADD s 4-* f v",
        "XADD s 0-0 f v", "XADD s 6-1 f", "XADD s 6-1 f v g", "XADD s abc f v", "XADD s (5 f v",
        "XADD s NOMKSTREAM 7 f v", "XADD nokey NOMKSTREAM 7 f v", "EXISTS nokey",
        "XADD s MAXLEN 2 8-1 f v", "XLEN s", "XRANGE s - +", "XADD s MAXLEN = 1 9-1 f v",
        "XADD s MAXLEN ~ 10 10-1 f v", "XADD s MINID 10-1 11-1 f v", "XRANGE s - +",
        "XADD s MAXLEN -1 12-1 f v", "XADD s MAXLEN x 12-1 f v", "XADD s MAXLEN 1 MINID 1 12-1 f v",
        "XADD s LIMIT 10 12-1 f v", "XADD s MAXLEN 1 LIMIT 10 12-1 f v",
        "XADD s MAXLEN ~ 1 LIMIT -1 12-1 f v", "XADD s MAXLEN ~ 0 LIMIT 0 12-1 f v",
        "XADD s MAXLEN 0 13-1 f v", "XLEN s", "EXISTS s", "XADD s 18446744073709551615-18446744073709551615 f v",
        "~ XADD s * f v", "XADD s 18446744073709551615-* f v", "XADD s +5-1 f v", "XADD s 00020-1 f v",
        "XADD k 1-1 f v", "XADD k -01-1 f v",
    ],
    "xadd_exhaust": [
        "XADD e 18446744073709551615-18446744073709551614 f v", "XADD e 18446744073709551615-* f v",
        "XADD e 18446744073709551615-* f v", "XADD e * f v", "XLEN e",
    ],
    "xrange": [
        "XADD s 1-1 a 1", "XADD s 1-2 b 2", "XADD s 2-1 c 3", "XADD s 3-0 d 4", "XADD s 3-5 e 5",
        "XRANGE s - +", "XRANGE s 1 1", "XRANGE s 1-2 3", "XRANGE s (1-1 (3-5", "XRANGE s (1 +",
        "XRANGE s - + COUNT 2", "XRANGE s - + COUNT 0", "XRANGE s - + COUNT -1", "XRANGE s - + COUNT x",
        "XRANGE s - + JUNK", "XRANGE s 3 1", "XRANGE s (- +", "XRANGE s - (+", "XRANGE s abc +",
        "XRANGE s (0-0 +", "XRANGE s - (0-0", "XRANGE s (18446744073709551615-18446744073709551615 +",
        "XREVRANGE s + -", "XREVRANGE s + - COUNT 2", "XREVRANGE s (3-5 (1-1", "XREVRANGE s 1 3",
        "XRANGE nokey - +", "XRANGE nokey - + COUNT 0", "XLEN s", "XLEN nokey",
        "XDEL s 1-2 2-1 9-9", "XDEL s 1-2", "XDEL s bad", "XDEL nokey 1-1", "XRANGE s - +",
        "XREVRANGE s + - COUNT 1", "XDEL s 1-1 3-0 3-5", "XLEN s", "XRANGE s - +", "EXISTS s",
        "XINFO STREAM s",
    ],
    "xtrim": [
        "XADD s 1-1 a 1", "XADD s 2-1 a 2", "XADD s 3-1 a 3", "XADD s 4-1 a 4", "XADD s 5-1 a 5",
        "XTRIM s MAXLEN 3", "XRANGE s - +", "XTRIM s MINID 4", "XRANGE s - +", "XTRIM s MAXLEN ~ 1",
        "XLEN s", "XTRIM s", "XTRIM s junk", "XTRIM s MAXLEN 1 junk", "XTRIM s LIMIT 1",
        "XTRIM s MAXLEN = 0", "XLEN s", "XTRIM nokey MAXLEN 0", "XTRIM s MINID bad",
        "XTRIM s MAXLEN 1 LIMIT 1", "XINFO STREAM s",
    ],
    "xsetid": [
        "XSETID nokey 1-1", "XADD s 5-1 f v", "XSETID s 4-1", "XSETID s 10-1", "XADD s 9-1 f v",
        "~ XADD s * f v", "XSETID s 20-1 ENTRIESADDED 0", "XSETID s 20-1 ENTRIESADDED -1",
        "XSETID s 20-1 MAXDELETEDID 30-1", "XSETID s 30-1 ENTRIESADDED 5 MAXDELETEDID 3-1",
        "XSETID s 30-1 JUNK", "~ XINFO STREAM s", "XSETID s bad",
    ],
    "xread": [
        "XADD s 1-1 a 1", "XADD s 2-1 b 2", "XADD t 1-5 c 3",
        "XREAD STREAMS s 0", "XREAD COUNT 1 STREAMS s t 0 0", "XREAD STREAMS s t 1-1 1-5",
        "XREAD STREAMS s t $ $", "XREAD STREAMS s nokey 0 0", "XREAD STREAMS s", "XREAD STREAMS s t 0",
        "XREAD COUNT x STREAMS s 0", "XREAD BLOCK -1 STREAMS s 0", "XREAD BLOCK x STREAMS s 0",
        "XREAD s 0", "XREAD STREAMS s >", "XREAD STREAMS s +", "XREAD GROUP g c STREAMS s 0",
        "XREAD NOACK STREAMS s 0", "XREAD BLOCK 10 STREAMS s 2-1", "XREAD BLOCK 10 COUNT 5 STREAMS s $",
        "XREAD COUNT 0 STREAMS s 0", "XREAD STREAMS s bad",
    ],
    "groups": [
        "XGROUP CREATE nokey g $", "XGROUP CREATE nokey g $ MKSTREAM", "XINFO GROUPS nokey",
        "XADD s 1-1 a 1", "XADD s 2-1 b 2", "XADD s 3-1 c 3",
        "XGROUP CREATE s g 0", "XGROUP CREATE s g 0", "XGROUP CREATE s g2 $", "XGROUP CREATE s g3 bad",
        "XGROUP CREATE s g4 0 ENTRIESREAD 1", "XGROUP CREATE s g5 0 ENTRIESREAD -2",
        "XGROUP CREATE s g5 0 JUNK", "XGROUP CREATE s", "XGROUP FOO", "XGROUP CREATECONSUMER s g c0",
        "XGROUP CREATECONSUMER s g c0", "XGROUP CREATECONSUMER s nog c0", "XINFO GROUPS s",
        "~ XINFO CONSUMERS s g",
        "XREADGROUP GROUP g c1 COUNT 1 STREAMS s >", "XREADGROUP GROUP g c2 STREAMS s >",
        "XREADGROUP GROUP g c2 STREAMS s >", "XREADGROUP GROUP g c1 STREAMS s 0",
        "XREADGROUP GROUP g c2 COUNT 1 STREAMS s 0", "XREADGROUP GROUP g c2 STREAMS s 2-1",
        "XREADGROUP GROUP g c9 STREAMS s 0", "XREADGROUP GROUP g c1 STREAMS s $",
        "XREADGROUP GROUP nog c1 STREAMS s >", "XREADGROUP GROUP g c1 STREAMS nokey >",
        "XREADGROUP STREAMS s >", "XREADGROUP GROUP g c1 STREAMS s", "XREADGROUP GROUP g c1 NOACK STREAMS s >",
        "XINFO GROUPS s", "XPENDING s g", "~ XPENDING s g - + 10", "~ XPENDING s g - + 10 c2",
        "XPENDING s g - + 10 nosuch", "~ XPENDING s g (1-1 + 1", "~ XPENDING s g IDLE 0 - + 10",
        "XPENDING s g IDLE 100000000 - + 10", "XPENDING s g - +", "XPENDING s g IDLE 1 - +",
        "XPENDING s nog", "XPENDING nokey g", "XPENDING s g - + x", "XPENDING s g bad + 10",
        "XACK s g 1-1 1-1 9-9", "XACK s g bad", "XACK s nog 1-1", "XACK nokey g 1-1", "XPENDING s g",
        "XDEL s 3-1", "~ XREADGROUP GROUP g c2 STREAMS s 0", "XGROUP DELCONSUMER s g c2",
        "XGROUP DELCONSUMER s g c2", "XGROUP DELCONSUMER s nog c2", "XPENDING s g",
        "XGROUP SETID s g 0", "XGROUP SETID s g $ ENTRIESREAD 3", "XGROUP SETID s nog 0",
        "XGROUP SETID nokey g 0", "XGROUP SETID s g bad", "XINFO GROUPS s",
        "XGROUP DESTROY s g", "XGROUP DESTROY s g", "XGROUP DESTROY nokey g", "XINFO GROUPS s",
        "XINFO CONSUMERS s nog", "XINFO CONSUMERS nokey g", "XGROUP HELP", "XINFO HELP", "XINFO FOO",
        "XADD str 1-1 a b", "XGROUP CREATE str g 0", "XREADGROUP GROUP g c STREAMS str >",
        "XDEL str 1-1", "XINFO STREAM str", "XADD str 2-1 x y", "XINFO GROUPS str",
    ],
    "claim": [
        "XADD s 1-1 a 1", "XADD s 2-1 b 2", "XADD s 3-1 c 3", "XADD s 4-1 d 4", "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g c1 STREAMS s >",
        "XCLAIM s g c2 0 1-1", "~ XPENDING s g - + 10", "XCLAIM s g c2 0 2-1 JUSTID",
        "XCLAIM s g c2 100000000 3-1", "XCLAIM s g c2 0 3-1 RETRYCOUNT 7 JUSTID", "~ XPENDING s g - + 10",
        "XCLAIM s g c2 0 9-9 FORCE", "XDEL s 4-1", "XCLAIM s g c2 0 4-1", "~ XPENDING s g - + 10",
        "XCLAIM s g c2 x 1-1", "XCLAIM s g c2 0 1-1 FOO", "XCLAIM s g c2 0 1-1 IDLE x",
        "XCLAIM s g c2 0 1-1 TIME x", "XCLAIM s g c2 0 1-1 RETRYCOUNT x", "XCLAIM s g c2 0 1-1 LASTID bad",
        "XCLAIM s nog c2 0 1-1", "XCLAIM nokey g c2 0 1-1", "XACK s g 1-1 2-1 3-1",
        "XADD s 5-1 e 5", "XCLAIM s g c3 0 5-1 FORCE JUSTID", "~ XPENDING s g - + 10",
        "XCLAIM s g c3 0 5-1 LASTID 10-1 JUSTID", "XINFO GROUPS s",
        "XADD s 6-1 f 6", "XADD s 7-1 g 7", "XGROUP CREATE s h 0", "XREADGROUP GROUP h a STREAMS s >",
        "XDEL s 6-1", "XAUTOCLAIM s h b 0 0 COUNT 1", "XAUTOCLAIM s h b 0 0 COUNT 2",
        "XAUTOCLAIM s h b 0 (5-1 JUSTID", "XAUTOCLAIM s h b 0 0", "~ XPENDING s h - + 10",
        "XAUTOCLAIM s h b 100000000 0", "XAUTOCLAIM s h b 0 0 COUNT 0", "XAUTOCLAIM s h b x 0",
        "XAUTOCLAIM s h b 0 bad", "XAUTOCLAIM s h b 0 0 FOO", "XAUTOCLAIM s nog b 0 0",
        "XAUTOCLAIM nokey h b 0 0", "~ XINFO CONSUMERS s h",
    ],
    "info": [
        "XADD s 1-1 a 1", "XADD s 2-1 b 2", "XGROUP CREATE s g 0", "XINFO STREAM s",
        "XINFO STREAM s FULL COUNT x", "XINFO STREAM s JUNK", "XINFO STREAM nokey", "XINFO STREAM",
        "XGROUP CREATE e g $ MKSTREAM", "XINFO STREAM e", "XINFO GROUPS e", "XDEL s 1-1",
        "XINFO GROUPS s", "XDEL s 2-1", "XINFO STREAM s", "XINFO GROUPS s",
    ],
    "wrongtype": [
        "XADD s 1-1 a 1", "XGROUP CREATE s g 0", "SET s v", "TYPE s", "XLEN s", "XADD s 2-1 a b",
        "XADD s NOMKSTREAM 2-1 a b", "XRANGE s - +", "XREVRANGE s + -", "XREAD STREAMS s 0",
        "XREADGROUP GROUP g c STREAMS s >", "XGROUP CREATE s g 0", "XGROUP CREATE s g 0 MKSTREAM",
        "XGROUP SETID s g 0", "XGROUP DESTROY s g", "XINFO STREAM s", "XINFO GROUPS s",
        "XINFO CONSUMERS s g", "XACK s g 1-1", "XPENDING s g", "XCLAIM s g c 0 1-1",
        "XAUTOCLAIM s g c 0 0", "XTRIM s MAXLEN 0", "XDEL s 1-1", "XSETID s 5-5", "DEL s",
        "XADD s 1-1 a 1", "LPUSH s x", "XLEN s", "TYPE s",
    ],
    "pipeline_and_case": [
        "xadd S 1-1 a 1", "XaDd S 2-1 b 2", "xrange S - +", "xlen S", "Xgroup Create S g 0",
        "xinfo Groups S", "xreadgroup group g c count 1 streams S >",
    ],
}


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_session(servers, name, proto):
    compare(servers, SESSIONS[name], proto)


@pytest.mark.parametrize("proto", [2, 3])
def test_hello_and_full_info(servers, proto):
    """HELLO's reply differs only in the client id; XINFO STREAM FULL only in
    delivery and seen times."""
    lines = ["~ HELLO %d" % proto, "~ HELLO", "XADD s 1-1 a 1", "XGROUP CREATE s g 0",
             "XREADGROUP GROUP g c STREAMS s >", "~ XINFO STREAM s FULL", "~ XINFO STREAM s FULL COUNT 1",
             "~ XINFO STREAM s FULL COUNT 0", "~ CLIENT ID"]
    compare(servers, lines, proto)


def test_pipelined_bytes(servers):
    """A whole session sent in one write, inline commands included, gives the
    same byte stream."""
    ref, ours = servers
    data = (b"*1\r\n$8\r\nFLUSHALL\r\nPING\r\nECHO \"a b\"\r\n*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$3\r\n1-1\r\n"
            b"$1\r\na\r\n$1\r\nb\r\nxrange s - +\r\n\r\nXLEN s\r\n")
    outs = []
    for port in (ref, ours):
        c = Conn(port)
        c.send_raw(data)
        got = [c.read()[0] for _ in range(6)]
        outs.append(got)
        c.close()
    assert outs[0] == outs[1]


@pytest.mark.parametrize("frame", [
    b"*x\r\n", b"*1\r\n+a\r\n", b"*1\r\n$-5\r\n", b"*1\r\n$01\r\n", b"\"unbalanced\r\n",
    b"*3000000000\r\n",
])
def test_protocol_errors_close(servers, frame):
    ref, ours = servers
    outs = []
    for port in (ref, ours):
        c = Conn(port)
        c.send_raw(b"PING\r\n" + frame)
        data = b""
        try:
            while True:
                c._fill()
        except EOFError:
            data = c.buf
        outs.append(data)
        c.close()
    assert outs[0] == outs[1]
    assert outs[1].startswith(b"+PONG\r\n-ERR Protocol error")


def test_wrongtype_errors(servers):
    """Stream commands against another type: set a string on redis, but the
    sluice side needs a non-stream key too; both only see streams here, so
    check WRONGTYPE through XREAD on a stream key misuse is not possible —
    instead compare TYPE/EXISTS for streams made empty."""
    lines = ["XADD s 1-1 a 1", "XDEL s 1-1", "TYPE s", "EXISTS s", "XLEN s", "XRANGE s - +",
             "XREAD STREAMS s 0", "DEL s", "TYPE s"]
    compare(servers, lines, 2)


@pytest.mark.parametrize("proto", [2, 3])
def test_blocking_xread_broadcast(servers, proto):
    """One XADD wakes every blocked XREAD; a timeout gives a null array."""
    results = []
    for port in servers:
        setup = Conn(port)
        setup.call("FLUSHALL")
        setup.call("XADD", "s", "1-1", "a", "1")
        readers = [Conn(port) for _ in range(3)]
        for r in readers:
            if proto == 3:
                r.call("HELLO", "3")
        readers[0].send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        readers[1].send("XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", "1-1")
        readers[2].send("XREAD", "BLOCK", "0", "STREAMS", "other", "s", "$", "$")
        # Queued behind the blocked command: must wait for it.
        readers[0].send("PING")
        wait_blocked(port, 3)
        w = Conn(port)
        w.call("XADD", "s", "2-1", "b", "2")
        w.call("XADD", "s", "3-1", "c", "3")
        got = [r.read()[0] for r in readers] + [readers[0].read()[0]]
        t = Conn(port)
        if proto == 3:
            t.call("HELLO", "3")
        got.append(t.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$")[0])
        results.append(got)
        for c in readers + [setup, w, t]:
            c.close()
    assert results[0] == results[1]


@pytest.mark.parametrize("proto", [2, 3])
def test_blocking_xreadgroup_one_per_group(servers, proto):
    """An XADD wakes only the first blocked consumer of a group; the second
    XADD the next one; destroying the group and deleting the key unblock
    with Redis's errors."""
    results = []
    for port in servers:
        setup = Conn(port)
        setup.call("FLUSHALL")
        setup.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        setup.call("XGROUP", "CREATE", "s", "h", "$")
        cs = [Conn(port) for _ in range(4)]
        for c in cs:
            if proto == 3:
                c.call("HELLO", "3")
        cs[0].send("XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s", ">")
        wait_blocked(port, 1)
        cs[1].send("XREADGROUP", "GROUP", "g", "b", "BLOCK", "0", "STREAMS", "s", ">")
        wait_blocked(port, 2)
        cs[2].send("XREADGROUP", "GROUP", "h", "x", "BLOCK", "0", "STREAMS", "s", ">")
        wait_blocked(port, 3)
        w = Conn(port)
        w.call("XADD", "s", "1-1", "f", "1")
        got = [cs[0].read()[0], cs[2].read()[0]]
        w.call("XADD", "s", "2-1", "f", "2")
        got.append(cs[1].read()[0])
        cs[0].send("XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s", ">")
        # Group h has not seen 2-1 yet: served at once.
        got.append(cs[2].call("XREADGROUP", "GROUP", "h", "x", "BLOCK", "0", "STREAMS", "s", ">")[0])
        cs[2].send("XREADGROUP", "GROUP", "h", "x", "BLOCK", "0", "STREAMS", "s", ">")
        wait_blocked(port, 2)
        got.append(w.call("XGROUP", "DESTROY", "s", "g")[0])
        got.append(cs[0].read()[0])
        got.append(w.call("DEL", "s")[0])
        got.append(cs[2].read()[0])
        results.append(got)
        for c in cs + [setup, w]:
            c.close()
    assert results[0] == results[1]


def test_blocking_timeout_and_pipeline(servers):
    results = []
    for port in servers:
        c = Conn(port)
        c.call("FLUSHALL")
        c.send_raw(b"XREAD BLOCK 30 STREAMS s $\r\nPING\r\nXGROUP CREATE s g $ MKSTREAM\r\n"
                   b"XREADGROUP GROUP g c BLOCK 30 STREAMS s >\r\nECHO done\r\n")
        results.append([c.read()[0] for _ in range(5)])
        c.close()
    assert results[0] == results[1]


def test_requirepass():
    """AUTH and HELLO AUTH with requirepass, NOAUTH before, and the tighter
    request limits of unauthenticated clients, against redis-server."""
    ref = sluice.redis_ref(["--requirepass", "s3cret"])
    srv = sluice.Sluiced(fsync="never", listeners=("resp",), extra=["--requirepass=s3cret"])
    try:
        lines = ["PING", "XADD s 1-1 a b", "NOSUCH x", "AUTH wrong", "AUTH default wrong",
                 "AUTH nobody s3cret", "HELLO 3", "HELLO 2 AUTH default wrong",
                 "~ HELLO 2 AUTH default s3cret", "PING", "AUTH s3cret", "AUTH default s3cret",
                 "RESET", "PING", "AUTH s3cret", "XLEN s"]
        outs = []
        for port in (ref.port, srv.port("resp")):
            c = Conn(port)
            got = []
            for line in lines:
                raw, v = c.call(*shlex.split(line.lstrip("~ ")))
                got.append(mask(v) if line.startswith("~") else raw)
            c.close()
            # Before AUTH, a request of more than 10 arguments is refused.
            c = Conn(port)
            c.send_raw(b"*11\r\n")
            data = b""
            try:
                while True:
                    c._fill()
            except EOFError:
                data = c.buf
            c.close()
            got.append(data)
            outs.append(got)
        for line, a, b in zip(lines + ["*11 before AUTH"], outs[0], outs[1]):
            assert b == a, "`%s`:\n redis:  %r\n sluice: %r" % (line, a, b)
    finally:
        srv.stop()
        ref.stop()


def test_keys_glob_patterns(servers):
    """KEYS and SCAN MATCH use Redis's glob rules; key order is the hash
    table's, so results are compared as sorted sets."""
    keys = ["a", "ab", "abc", "b[1]", "h?llo", "hello", "hallo", "hbllo", "x*y", "aaaaaaaaaaaaaaaaaaaaab"]
    pats = ["*", "a*", "?b*", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo", "*\\[*", "b\\[1]",
            "x\\*y", "*a*a*a*a*a*b", "h\\?llo", "[", "a[", "*[", "\\", "H*", "*c"]
    results = []
    for port in servers:
        c = Conn(port)
        c.call("FLUSHALL")
        for k in keys:
            c.call("XADD", k, "1-1", "f", "v")
        got = []
        for p in pats:
            raw, v = c.call("KEYS", p)
            got.append(sorted(x[1] for x in v[2]))
            raw, v = c.call("SCAN", "0", "MATCH", p, "COUNT", "1000")
            got.append(sorted(x[1] for x in v[2][1][2]))
        results.append(got)
        c.close()
    for i, p in enumerate(pats):
        assert results[1][2 * i] == results[0][2 * i], p
        assert results[1][2 * i + 1] == results[0][2 * i + 1], p
