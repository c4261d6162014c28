"""MONITOR, SLOWLOG and the CLIENT subcommands that act on connections
(KILL, PAUSE/UNPAUSE, UNBLOCK, REPLY, NO-EVICT, TRACKING*), the same
sessions against Debian's redis-server 7.0 and sluiced, replies compared
exactly (times, client addresses and ids masked)."""
import re
import socket
import time

import pytest

import sluice
from resp_util import Conn, mask, wait_blocked


@pytest.fixture(scope="module", params=["never", "always"])
def servers(request):
    """redis-server and sluiced, under both reply paths (fsync=always holds
    replies in scratch buffers until durable)."""
    ref = sluice.redis_ref()
    srv = sluice.Sluiced(fsync=request.param, listeners=("resp",))
    yield ref.port, srv.port("resp")
    srv.stop()
    ref.stop()


def both(servers, fn):
    """fn(port) on redis then on sluice; returns the two results."""
    return fn(servers[0]), fn(servers[1])


def assert_same(servers, fn):
    a, b = both(servers, fn)
    assert b == a, "\n redis:  %r\n sluice: %r" % (a, b)
    return a


def run_lines(port, lines, proto=2):
    c = Conn(port)
    try:
        c.call("FLUSHALL")
        if proto == 3:
            c.call("HELLO", "3")
        out = []
        for line in lines:
            masked = line.startswith("~")
            raw, v = c.cmd(line.lstrip("~ "))
            out.append((line, mask(v) if masked else raw))
        return out
    finally:
        c.close()


ERRORS = [
    "CLIENT KILL 1.2.3.4:5", "CLIENT KILL ID x", "CLIENT KILL ID 0", "CLIENT KILL TYPE foo",
    "CLIENT KILL USER nobody", "CLIENT KILL SKIPME maybe", "CLIENT KILL ID 999999",
    "CLIENT KILL ADDR 1.1.1.1:1 SKIPME no", "CLIENT KILL TYPE pubsub", "CLIENT KILL ID",
    "CLIENT KILL ID 1 FOO bar", "CLIENT KILL", "CLIENT PAUSE x", "CLIENT PAUSE -1",
    "CLIENT PAUSE 10 FOO", "CLIENT PAUSE", "CLIENT UNPAUSE", "CLIENT UNPAUSE x",
    "CLIENT UNBLOCK 999999", "CLIENT UNBLOCK x", "CLIENT UNBLOCK 1 FOO", "CLIENT UNBLOCK 999999 ERROR",
    "CLIENT REPLY FOO", "CLIENT REPLY", "CLIENT NO-EVICT maybe", "CLIENT NO-EVICT on",
    "CLIENT NO-EVICT OFF", "CLIENT GETREDIR", "CLIENT TRACKINGINFO", "CLIENT TRACKING off",
    "CLIENT TRACKING maybe", "CLIENT HELP", "SLOWLOG HELP", "SLOWLOG GET -2", "SLOWLOG GET x",
    "SLOWLOG GET 1 2", "SLOWLOG FOO", "SLOWLOG", "SLOWLOG RESET", "SLOWLOG LEN",
    "CONFIG GET slowlog-max-len", "CONFIG GET slowlog-log-slower-than",
    "CONFIG SET slowlog-log-slower-than -2", "CONFIG SET slowlog-max-len -1",
    "CONFIG SET slowlog-max-len x", "MONITOR x",
]


@pytest.mark.parametrize("proto", [2, 3])
def test_errors_and_fixed_replies(servers, proto):
    a, b = both(servers, lambda p: run_lines(p, ERRORS, proto))
    for (line, x), (_, y) in zip(a, b):
        assert y == x, "RESP%d `%s`:\n redis:  %r\n sluice: %r" % (proto, line, x, y)


# --- MONITOR ---------------------------------------------------------------------

MON_LINE = re.compile(r"^\d+\.\d{6} \[0 (lua|[0-9.]+:\d+)\] (.*)$")


def monitor_session(port):
    m = Conn(port)
    c = Conn(port)
    try:
        assert m.call("MONITOR")[0] == b"+OK\r\n"
        cmds = [
            ("SET", "k", "plain"), ("SET", "bin", b'a"b\\c\n\r\t\x07\x08\x00\xff '),
            ("GET", "k"), ("AUTH", "secret"), ("AUTH", "user", "pw"),
            ("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "n"), ("CONFIG", "GET", "port"),
            ("CLIENT", "SETNAME", "mon"), ("MULTI",), ("INCR", "n"), ("RPUSH", "l", "1"),
            ("EXEC",), ("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
                        "1", "ek", "ev"), ("NOSUCH", "x"), ("GET",), ("ECHO", "last"),
        ]
        for args in cmds:
            c.call(*args)
        lines = []
        while True:
            raw, v = m.read()
            assert v[0] == "str", raw
            mm = MON_LINE.match(v[1])
            assert mm, v[1]
            src = "lua" if mm.group(1) == "lua" else "client"
            lines.append((src, mm.group(2)))
            if mm.group(2) == '"ECHO" "last"':
                return lines
    finally:
        m.close()
        c.close()


def test_monitor_lines(servers):
    lines = assert_same(servers, monitor_session)
    assert ("client", r'"SET" "bin" "a\"b\\c\n\r\t\a\b\x00\xff "') in lines
    assert ("client", '"AUTH" "(redacted)"') in lines
    assert ("lua", '"set" "ek" "ev"') in lines
    assert not any("CONFIG" in x for _, x in lines)


def test_monitor_client_close_stops_feed(servers):
    """A monitor that went away is forgotten: later commands still work."""
    port = servers[1]
    m = Conn(port)
    assert m.call("MONITOR")[0] == b"+OK\r\n"
    m.close()
    c = Conn(port)
    for i in range(50):
        assert c.call("SET", "x%d" % i, "v")[0] == b"+OK\r\n"
    c.close()


# --- SLOWLOG --------------------------------------------------------------------


def slowlog_session(port):
    c = Conn(port)
    try:
        c.call("CLIENT", "SETNAME", "slowpoke")
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        c.call("CONFIG", "SET", "slowlog-max-len", "128")
        c.call("SLOWLOG", "RESET")
        c.call("SET", "a", "b")
        c.call("SET", "empty", "")
        c.call("RPUSH", "many", *["e%d" % i for i in range(40)])
        c.call("SET", "big", "x" * 300)
        c.call("AUTH", "nopass")
        c.call("MULTI")
        c.call("INCR", "n")
        c.call("EXEC")
        c.call("EVAL", "redis.call('set', 'sk', 'sv') return 1", "0")
        _, v = c.call("SLOWLOG", "GET", "-1")
        _, n = c.call("SLOWLOG", "LEN")
        entries = []
        for e in v[2]:
            kind, _, (eid, ts, dur, args, peer, name) = e
            assert eid[0] == ts[0] == dur[0] == "int"
            assert re.match(rb"^(127\.0\.0\.1:\d+|\?:0)$", peer[1]), peer
            entries.append(([a[1] for a in args[2]], name[1], peer[1] == b"?:0"))
        c.call("CONFIG", "SET", "slowlog-max-len", "2")
        c.call("PING")
        _, n2 = c.call("SLOWLOG", "LEN")
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        c.call("SLOWLOG", "RESET")
        c.call("PING")
        _, n3 = c.call("SLOWLOG", "LEN")
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        c.call("CONFIG", "SET", "slowlog-max-len", "128")
        return entries, n, n2, n3
    finally:
        c.close()


def test_slowlog_entries(servers):
    entries, n, n2, n3 = assert_same(servers, slowlog_session)
    args = [a for a, _, _ in entries]
    assert [b"SET", b"a", b"b"] in args
    assert [b"SET", b"empty", b""] in args
    many = [a for a in args if a[:2] == [b"RPUSH", b"many"]][0]
    assert len(many) == 32 and many[-1] == b"... (11 more arguments)"
    big = [a for a in args if a[:2] == [b"SET", b"big"]][0]
    assert big[2] == b"x" * 128 + b"... (172 more bytes)"
    assert [b"AUTH", b"(redacted)"] in args
    assert [b"EXEC"] not in args and [b"INCR", b"n"] in args
    # a script's commands run as the Lua client: no address, no name
    assert ([b"set", b"sk", b"sv"], b"", True) in entries
    assert all(name == b"slowpoke" for _, name, lua in entries if not lua)
    assert n2 == ("int", "2") and n3 == ("int", "0")


# --- CLIENT REPLY ---------------------------------------------------------------


def reply_session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        from resp_util import encode
        reqs = [("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET", "a"), ("CLIENT", "REPLY", "SKIP"),
                ("CLIENT", "REPLY", "ON"), ("GET", "a"), ("CLIENT", "REPLY", "SKIP"), ("GET", "a"),
                ("INCR", "a"), ("NOSUCH",), ("ECHO", "end")]
        s.sendall(b"".join(encode(r) for r in reqs))
        got = b""
        while not got.endswith(b"$3\r\nend\r\n"):
            d = s.recv(65536)
            assert d, got
            got += d
        return got
    finally:
        s.close()


def test_client_reply(servers):
    got = assert_same(servers, reply_session)
    assert got == b"+OK\r\n$1\r\n1\r\n:2\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n$3\r\nend\r\n"


# --- CLIENT KILL ---------------------------------------------------------------


def client_id(c):
    return int(c.call("CLIENT", "ID")[1][1])


def assert_closed(c):
    deadline = time.monotonic() + 10
    c.s.settimeout(10)
    while time.monotonic() < deadline:
        try:
            if not c.s.recv(65536):
                return
        except (ConnectionResetError, BrokenPipeError):
            return
    raise AssertionError("connection still open")


def kill_session(port):
    out = []
    a, b, me = Conn(port), Conn(port), Conn(port)
    try:
        out.append(me.call("CLIENT", "KILL", "ID", str(client_id(a)))[0])
        assert_closed(a)
        addr = "%s:%d" % b.s.getsockname()
        out.append(me.call("CLIENT", "KILL", addr)[0])
        assert_closed(b)
        # SKIPME yes (default) spares the caller; the new form counts.
        out.append(me.call("CLIENT", "KILL", "ID", str(client_id(me)))[0])
        out.append(me.call("PING")[0])
        sub = Conn(port)
        sub.call("SUBSCRIBE", "ch")
        out.append(me.call("CLIENT", "KILL", "TYPE", "pubsub")[0])
        assert_closed(sub)
        laddr = "%s:%d" % me.s.getpeername()
        other = Conn(port)
        other.call("PING")
        out.append(me.call("CLIENT", "KILL", "LADDR", laddr, "USER", "default", "SKIPME", "yes")[0])
        assert_closed(other)
        # the caller itself: the reply comes, then the connection closes
        out.append(me.call("CLIENT", "KILL", "ID", str(client_id(me)), "SKIPME", "no")[0])
        assert_closed(me)
        return out
    finally:
        a.close()
        b.close()
        me.close()


def test_client_kill(servers):
    out = assert_same(servers, kill_session)
    assert out[0] == b":1\r\n" and out[1] == b"+OK\r\n" and out[2] == b":0\r\n"


# --- CLIENT UNBLOCK ---------------------------------------------------------------

BLOCKERS = [("BLPOP", "l", "0"), ("BRPOPLPUSH", "l", "d", "0"), ("BZPOPMIN", "z", "0"),
            ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), ("BLMOVE", "l", "d", "LEFT", "RIGHT", "0")]


@pytest.mark.parametrize("proto", [2, 3])
def test_client_unblock(servers, proto):
    def session(port):
        out = []
        c = Conn(port)
        c.call("FLUSHALL")
        try:
            for how in ("TIMEOUT", "ERROR", None):
                for cmd in BLOCKERS:
                    w = Conn(port)
                    if proto == 3:
                        w.call("HELLO", "3")
                    wid = client_id(w)
                    w.send(*cmd)
                    wait_blocked(port, 1)
                    args = ["CLIENT", "UNBLOCK", str(wid)] + ([how] if how else [])
                    out.append(c.call(*args)[0])
                    out.append(w.read()[0])
                    out.append(w.call("PING")[0])
                    w.close()
            out.append(c.call("CLIENT", "UNBLOCK", str(client_id(c)))[0])
            return out
        finally:
            c.close()
    out = assert_same(servers, session)
    assert b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" in out


# --- CLIENT PAUSE -----------------------------------------------------------------


def read_within(c, deadline_s=20):
    c.s.settimeout(deadline_s)
    return c.read()[0]


def pause_session(port):
    out = []
    ctl, w, r = Conn(port), Conn(port), Conn(port)
    try:
        ctl.call("DEL", "pk")
        out.append(ctl.call("CLIENT", "PAUSE", "100000", "WRITE")[0])
        # reads go on; the write waits (its reply only after UNPAUSE)
        w.send("SET", "pk", "1")
        out.append(r.call("GET", "other")[0])
        out.append(r.call("PING")[0])
        out.append(ctl.call("CLIENT", "UNPAUSE")[0])
        out.append(read_within(w))
        out.append(r.call("GET", "pk")[0])
        # ALL: even reads wait, until the timeout ends the pause
        out.append(ctl.call("CLIENT", "PAUSE", "300", "ALL")[0])
        r.send("GET", "pk")
        out.append(read_within(r))
        out.append(w.call("INCR", "pk")[0])
        return out
    finally:
        ctl.close()
        w.close()
        r.close()


def test_client_pause(servers):
    out = assert_same(servers, pause_session)
    assert out[-3:] == [b"+OK\r\n", b"$1\r\n1\r\n", b":2\r\n"]


# --- INFO errorstats, cpu -------------------------------------------------------


def info_fields(c, section):
    raw, v = c.call("INFO", section)
    text = v[1].decode() if v[0] == "bulk" else raw.decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def errorstats_session(port):
    c = Conn(port)
    try:
        c.call("CONFIG", "RESETSTAT")
        for args in (("NOSUCH",), ("GET",), ("SET", "ek", "v"), ("LPUSH", "ek", "x"),
                     ("INCR", "ek"), ("INCR", "ek"), ("XADD", "s", "0-0", "f", "v")):
            c.call(*args)
        errs = {k: v for k, v in info_fields(c, "errorstats").items() if k.startswith("errorstat_")}
        total = info_fields(c, "stats")["total_error_replies"]
        cpu = info_fields(c, "cpu")
        assert all(re.match(r"^\d+\.\d{6}$", cpu[k]) for k in (
            "used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"))
        return errs, total
    finally:
        c.close()


def test_info_errorstats(servers):
    errs, total = assert_same(servers, errorstats_session)
    assert errs["errorstat_WRONGTYPE"] == "count=1" and total == "6"


def woken_error_session(port):
    """The error a blocked client gets when it is woken (its group went)
    counts like a command's own (Redis 7.0's stream-cgroups unit)."""
    c, b = Conn(port), Conn(port)
    try:
        c.call("CONFIG", "RESETSTAT")
        c.call("DEL", "wk")
        c.call("XGROUP", "CREATE", "wk", "g", "$", "MKSTREAM")
        b.send("XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "wk", ">")
        wait_blocked(port, 1)
        c.call("XGROUP", "DESTROY", "wk", "g")
        woken = b.read()[0]
        errs = {k: v for k, v in info_fields(c, "errorstats").items() if k.startswith("errorstat_")}
        return woken, errs, info_fields(c, "stats")["total_error_replies"]
    finally:
        b.close()
        c.close()


def test_error_to_a_woken_client_counts(servers):
    woken, errs, total = assert_same(servers, woken_error_session)
    assert woken.startswith(b"-NOGROUP") and errs == {"errorstat_NOGROUP": "count=1"} and total == "1"


# --- CLIENT LIST / INFO fields ----------------------------------------------------

FIELDS = ("flags", "sub", "psub", "multi", "cmd", "user", "db", "resp", "name")


def parse_line(line):
    return dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)


def client_fields_session(port):
    out = {}
    sub, mul, blk, me = Conn(port), Conn(port), Conn(port), Conn(port)
    try:
        ids = {n: client_id(c) for n, c in (("mul", mul), ("me", me), ("sub", sub))}
        sub.call("SUBSCRIBE", "a", "b")
        sub.call("PSUBSCRIBE", "p*")
        mul.call("MULTI")
        mul.call("SET", "x", "1")
        mul.call("INCR", "x")
        blk.send("BLPOP", "nolist", "0")
        wait_blocked(port, 1)
        me.call("CLIENT", "NO-EVICT", "on")
        me.call("CLIENT", "SETNAME", "me")
        raw, v = me.call("CLIENT", "LIST")
        lines = [parse_line(x) for x in v[1].decode().splitlines()]
        keys = list(lines[0].keys())
        for ln in lines:
            role = {str(i): n for n, i in ids.items()}.get(ln["id"], "blk")
            out[role] = {f: ln[f] for f in FIELDS}
        out["info"] = {f: parse_line(me.call("CLIENT", "INFO")[1][1].decode().strip())[f] for f in FIELDS}
        out["pubsub_only"] = me.call("CLIENT", "LIST", "TYPE", "pubsub")[1][1].count(b"\n")
        out["by_id"] = me.call("CLIENT", "LIST", "ID", str(ids["me"]), "999999")[1][1].count(b"\n")
        out["errors"] = [me.call(*a)[0] for a in (("CLIENT", "LIST", "TYPE", "x"), ("CLIENT", "LIST", "ID", "x"),
                                                  ("CLIENT", "LIST", "FOO"))]
        return out, keys
    finally:
        for c in (sub, mul, blk, me):
            c.close()


def test_client_list_fields(servers):
    (a, ka), (b, kb) = both(servers, client_fields_session)
    assert b == a
    assert ka == kb[:len(ka)]  # redis 7.0's fields, in its order (sluice adds 7.2's lib-name/lib-ver)
    assert a["sub"]["flags"] == "P" and a["sub"]["sub"] == "2" and a["mul"]["flags"] == "x"
    assert a["mul"]["multi"] == "2" and a["blk"]["flags"] == "b" and a["info"]["cmd"] == "client|info"


def test_monitor_and_client_list_over_unix_socket(tmp_path):
    """A client on the unix socket shows as Redis shows it: "[0 unix:<path>]"
    in MONITOR, laddr "<path>:0" in CLIENT INFO."""
    path = str(tmp_path / "r.sock")
    srv = sluice.Sluiced(fsync="never", listeners=("resp",), extra=["--resp.unixsocket=" + path])
    try:
        m = Conn(srv.port("resp"))
        assert m.call("MONITOR")[0] == b"+OK\r\n"
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(10)
        u.connect(path)
        c = Conn.__new__(Conn)
        c.s, c.buf = u, b""
        assert c.call("SET", "k", "v")[0] == b"+OK\r\n"
        info = parse_line(c.call("CLIENT", "INFO")[1][1].decode().strip())
        assert info["laddr"] == path + ":0"
        _, v = m.read()
        assert MON_LINE.match(v[1]) is None  # not an ip:port
        assert re.match(r"^\d+\.\d{6} \[0 unix:%s\] \"SET\" \"k\" \"v\"$" % re.escape(path), v[1]), v
        u.close()
        m.close()
    finally:
        srv.stop()
