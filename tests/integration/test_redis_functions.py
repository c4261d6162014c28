"""Redis 7.0 functions: FUNCTION LOAD/LIST/DELETE/FLUSH/STATS/RESTORE,
FCALL and FCALL_RO, in differential sessions against Debian's
redis-server 7.0 (RESP2 and RESP3, replies compared byte for byte); and
what cannot be compared: FUNCTION DUMP's payload is sluice's own (it
restores its own dumps and refuses Redis's), libraries survive a
restart, and a library change is durable before it is acknowledged."""
import pytest

import sluice
from resp_util import Conn
from test_redis_lua import servers  # noqa: F401 (the module fixture: redis-server 7.0 and sluiced)

LIB1 = """#!lua name=lib1
redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)
redis.register_function{function_name='f2', callback=function(keys, args)
  return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}
"""
LIB1_V2 = """#!lua name=lib1
redis.register_function('f3', function(keys, args) return #keys + #args end)
"""
LIB2 = """#!lua name=lib2
local function helper(x) return 'h' .. x end
redis.register_function{function_name='g1', callback=function(keys, args)
  return helper(args[1]) end, flags={'no-writes', 'allow-stale', 'no-cluster'}}
redis.register_function('g_err', function(keys, args) return redis.call('nosuch') end)
redis.register_function('g_write', function(keys, args)
  redis.call('set', keys[1], 'w') return redis.call('get', keys[1]) end)
redis.register_function('g_types', function(keys, args)
  return {1, 'two', {3}, redis.status_reply('OK'), false} end)
redis.register_function('g_global', function() return string.upper('x') .. tostring(KEYS) end)
"""
LIB_LIST = """#!lua name=lib1
redis.register_function{function_name='f2', callback=function(keys, args)
  return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-oom'}, description='reads'}
"""
RO_WRITE = """#!lua name=lib3
redis.register_function{function_name='h', callback=function(keys)
  return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}
"""


def lib(name, body):
    return "#!lua name=%s\n%s" % (name, body)


SESSIONS = {
    "load_errors": [
        ("FUNCTION", "LOAD", "return 1"),
        ("FUNCTION", "LOAD", lib("lib1", "return 1")),
        ("FUNCTION", "LOAD", lib("bad-name", "return 1")),
        ("FUNCTION", "LOAD", "#!lua name=a foo=bar\nreturn 1"),
        ("FUNCTION", "LOAD", "#!js name=a\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua\nreturn 1"),
        ("FUNCTION", "LOAD", lib("lib2", "redis.call('ping')")),
        ("FUNCTION", "LOAD", lib("lib2", "error('boom')")),
        ("FUNCTION", "LOAD", lib("lib2", "x = 1")),
        ("FUNCTION", "LOAD", lib("lib2", "syntax error")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('bad name', function() end)")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('x')")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('x', 1)")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function(1, function() end)")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('a', function() end, 3)")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name='x', callback=function() end, flags={'bogus'}}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name='x', callback=function() end, flags='no-writes'}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name='x', callback=function() end, foo=1}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{callback=function() end}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name='x'}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name=1, callback=function() end}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name='x', callback=1}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function{function_name='x', callback=function() end, description=1}")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('a', function() end) redis.register_function('a', function() end)")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.log(redis.LOG_NOTICE, 'x') redis.register_function('a', function() return redis.REDIS_VERSION ~= nil end)")),
        ("FCALL", "a", "0"),
        ("FUNCTION", "LOAD", lib("slow", "local i = 0 while true do i = i + 1 end")),
        ("FUNCTION", "LOAD", lib("slow", "while true do pcall(function() while true do end end) end")),
        ("FUNCTION", "LOAD", lib("slow2", "local i = 0 while i < 1000 do i = i + 1 end redis.register_function('s', function() return i end)")),
        ("FCALL", "s", "0"),
        ("FUNCTION", "LOAD", LIB1),
        ("FUNCTION", "LOAD", LIB1),
        ("FUNCTION", "LOAD", lib("lib3", "redis.register_function('f1', function() return 1 end)")),
        ("FUNCTION", "LOAD", "REPLACE", LIB1_V2),
        ("FCALL", "f1", "1", "k", "v"),
        ("FCALL", "f3", "2", "a", "b", "c"),
        ("FUNCTION", "LOAD", "BOGUS", LIB1),
        ("FUNCTION", "LOAD"),
    ],
    "fcall": [
        ("FUNCTION", "LOAD", LIB1),
        ("FUNCTION", "LOAD", LIB2),
        ("FCALL", "f1", "1", "k", "v"),
        ("FCALL", "f2", "1", "k"),
        ("FCALL_RO", "f1", "1", "k", "v"),
        ("FCALL_RO", "f2", "1", "k"),
        ("FCALL", "nosuch", "0"),
        ("FCALL", "f1", "5", "k"),
        ("FCALL", "f1", "-1"),
        ("FCALL", "f1", "x"),
        ("FCALL", "g1", "0", "z"),
        ("FCALL_RO", "g1", "0", "z"),
        ("FCALL", "g_err", "0"),
        ("FCALL", "g_write", "1", "w"),
        ("FCALL_RO", "g_write", "1", "w"),
        ("FCALL", "g_types", "0"),
        ("FCALL", "g_global", "0"),
        ("FUNCTION", "LOAD", RO_WRITE),
        ("FCALL", "h", "1", "k"),
        ("GET", "k"),
        ("EVAL", "return redis.call('fcall', 'f2', 1, 'k')", "0"),
        ("FUNCTION", "STATS"),
        ("SCRIPT", "FLUSH"),
        ("FCALL", "f2", "1", "k"),
        ("FCALL",),
    ],
    "list_delete": [
        # One function per library: Redis lists a library's functions in
        # its hash table's order.
        ("FUNCTION", "LOAD", LIB_LIST),
        ("FUNCTION", "LIST"),
        ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "lib*"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "nomatch"),
        ("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "lib1"),
        ("FUNCTION", "LIST", "LIBRARYNAME"),
        ("FUNCTION", "LIST", "bogus"),
        ("FUNCTION", "STATS"),
        ("FUNCTION", "DELETE", "nosuch"),
        ("FUNCTION", "DELETE", "lib1"),
        ("FCALL", "f1", "0"),
        ("FUNCTION", "LIST"),
        ("FUNCTION", "LOAD", LIB1),
        ("FUNCTION", "FLUSH", "bogus"),
        ("FUNCTION", "FLUSH", "SYNC"),
        ("FUNCTION", "LIST"),
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "STATS"),
        ("FUNCTION", "RESTORE", "garbage"),
        ("FUNCTION", "RESTORE", "garbage", "BOGUS"),
        ("FUNCTION", "KILL"),
        ("FUNCTION", "HELP"),
        ("FUNCTION", "NOSUCH"),
    ],
}




def run_session(port, lines, proto):
    c = Conn(port)
    out = []
    try:
        c.call("FUNCTION", "FLUSH")
        c.call("FLUSHALL")
        if proto == 3:
            c.call("HELLO", "3")
        for line in lines:
            out.append((line, c.call(*line)[0]))
    finally:
        c.close()
    return out


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_session(servers, name, proto):
    ref, ours = servers
    a = run_session(ref, SESSIONS[name], proto)
    b = run_session(ours, SESSIONS[name], proto)
    for (line, x), (_, y) in zip(a, b):
        assert y == x, "RESP%d %r:\n redis:  %r\n sluice: %r" % (proto, line, x, y)


def test_dump_restore_own_payload_and_refuse_redis_payload(servers):
    ref, ours = servers
    r, c = Conn(ref), Conn(ours)
    try:
        for conn in (r, c):
            conn.call("FUNCTION", "FLUSH")
            assert conn.call("FUNCTION", "LOAD", LIB_LIST)[1] == ("bulk", b"lib1")
        redis_dump = r.call("FUNCTION", "DUMP")[1][1]
        ours_dump = c.call("FUNCTION", "DUMP")[1][1]
        assert c.call("FUNCTION", "RESTORE", redis_dump)[0] == \
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        tampered = ours_dump[:-5] + bytes([ours_dump[-5] ^ 1]) + ours_dump[-4:]
        assert c.call("FUNCTION", "RESTORE", tampered)[0] == \
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        # APPEND (default) collides, as Redis's does.
        assert c.call("FUNCTION", "RESTORE", ours_dump)[0] == r.call("FUNCTION", "RESTORE", redis_dump)[0]
        for conn, dump in ((r, redis_dump), (c, ours_dump)):
            conn.call("FUNCTION", "LOAD", LIB2)
        for policy in ("REPLACE", "FLUSH"):
            assert c.call("FUNCTION", "RESTORE", ours_dump, policy)[0] == b"+OK\r\n"
            assert r.call("FUNCTION", "RESTORE", redis_dump, policy)[0] == b"+OK\r\n"
            # (one library at a time: Redis lists them in hash order)
            assert c.call("FUNCTION", "LIST", "LIBRARYNAME", "lib1")[0] == \
                r.call("FUNCTION", "LIST", "LIBRARYNAME", "lib1")[0]
            assert c.call("FUNCTION", "STATS")[0] == r.call("FUNCTION", "STATS")[0]
        assert c.call("FUNCTION", "LIST")[0] == r.call("FUNCTION", "LIST")[0]
        assert c.call("FCALL", "f2", "1", "rk")[0] == b"$-1\r\n"
    finally:
        r.close()
        c.close()


def _libraries(v):
    """FUNCTION LIST's parsed reply as [(library name, entry)], each entry's
    functions sorted by name (Redis keeps them in a hash table too)."""
    out = []
    for lib_entry in v[2]:
        items = lib_entry[2]
        fields = dict((items[i][1], items[i + 1]) for i in range(0, len(items), 2))
        fns = fields[b"functions"]
        fields[b"functions"] = ("agg", fns[1], sorted(fns[2], key=repr))
        out.append((fields[b"library_name"][1], sorted(fields.items())))
    return out


def test_list_order_of_several_libraries(servers):
    """Redis 7.0 lists libraries in the order of a dict keyed with a random
    per-process SipHash seed (functions.c: librariesDictType, dictSdsHash),
    so only the entries compare; sluice lists them in load order, a
    REPLACE moving the library last (docs/redis.md, Functions)."""
    ref, ours = servers
    names = ["lib_%s" % n for n in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")]
    r, c = Conn(ref), Conn(ours)
    try:
        for conn in (r, c):
            conn.call("FUNCTION", "FLUSH")
            for n in names:
                body = "".join("redis.register_function{function_name='%s_%s', callback="
                               "function() return 1 end, description='%s'}\n" % (n, f, f)
                               for f in ("f", "g", "h"))
                assert conn.call("FUNCTION", "LOAD", lib(n, body))[1] == ("bulk", n.encode())
            assert conn.call("FUNCTION", "LOAD", "REPLACE", lib(
                "lib_beta", "redis.register_function('lib_beta_f', function() return 2 end)"))[1] \
                == ("bulk", b"lib_beta")
        theirs = _libraries(r.call("FUNCTION", "LIST")[1])
        mine = _libraries(c.call("FUNCTION", "LIST")[1])
        assert sorted(mine) == sorted(theirs)
        assert [n for n, _ in mine] == [n.encode() for n in names if n != "lib_beta"] + [b"lib_beta"]
    finally:
        r.close()
        c.close()


def test_libraries_survive_restart(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    srv = sluice.Sluiced(data_dir=str(d), fsync="never", listeners=("resp",))
    try:
        c = Conn(srv.port("resp"))
        assert c.call("FUNCTION", "LOAD", LIB1)[1] == ("bulk", b"lib1")
        assert c.call("FUNCTION", "LOAD", LIB2)[1] == ("bulk", b"lib2")
        assert c.call("FUNCTION", "LOAD", "REPLACE", LIB1_V2)[1] == ("bulk", b"lib1")
        assert c.call("FUNCTION", "DELETE", "lib2")[0] == b"+OK\r\n"
        listing = c.call("FUNCTION", "LIST", "WITHCODE")[0]
        c.close()
        srv.stop()  # fsync=never: the change was written ahead anyway
        srv.start()
        c = Conn(srv.port("resp"))
        assert c.call("FUNCTION", "LIST", "WITHCODE")[0] == listing
        assert c.call("FCALL", "f3", "1", "a", "b")[0] == b":2\r\n"
        assert c.call("FCALL", "g1", "0")[0].startswith(b"-ERR Function not found")
        assert c.call("FUNCTION", "FLUSH")[0] == b"+OK\r\n"
        c.close()
        srv.stop()
        srv.start()
        c = Conn(srv.port("resp"))
        assert c.call("FUNCTION", "LIST")[0] == b"*0\r\n"
        c.close()
    finally:
        srv.stop()


def test_sigkill_keeps_acknowledged_library(tmp_path):
    """A library acknowledged by FUNCTION LOAD survives SIGKILL (written
    ahead and synced whatever fsync says)."""
    d = tmp_path / "data"
    d.mkdir()
    srv = sluice.Sluiced(data_dir=str(d), fsync="never", listeners=("resp",))
    try:
        c = Conn(srv.port("resp"))
        assert c.call("FUNCTION", "LOAD", LIB2)[1] == ("bulk", b"lib2")
        c.close()
        srv.proc.kill()
        srv.proc.wait()
        srv.start()
        c = Conn(srv.port("resp"))
        assert c.call("FCALL", "g1", "0", "y")[0] == b"$2\r\nhy\r\n"
        c.close()
    finally:
        srv.stop()
