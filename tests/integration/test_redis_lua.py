"""Lua scripting: differential sessions against Debian's redis-server 7.0
(RESP2 and RESP3, replies compared byte for byte) and the properties Redis
cannot be compared on: a script is atomic, its writes are durable together
before its reply, a failed sync fails the script's reply and none of its
writes survive a restart.

Scripts avoid unseeded math.random (Redis 7.0 does not reset the generator
per script, so its values differ from run to run on Redis itself)."""
import signal
import time

import pytest
import redis

import sluice
from resp_util import Conn


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ref = sluice.redis_ref()
    srv = sluice.Sluiced(fsync="never", listeners=("resp",))
    yield ref.port, srv.port("resp")
    srv.stop()
    ref.stop()


def run_session(port, lines, proto):
    c = Conn(port)
    out = []
    try:
        c.call("FLUSHALL")
        c.call("SCRIPT", "FLUSH")
        if proto == 3:
            c.call("HELLO", "3")
        for line in lines:
            raw, _ = c.call(*line)
            out.append((line, raw))
    finally:
        c.close()
    return out


def compare(servers, lines, proto):
    ref, ours = servers
    a = run_session(ref, lines, proto)
    b = run_session(ours, lines, proto)
    assert len(a) == len(b)
    for (line, x), (_, y) in zip(a, b):
        assert y == x, "RESP%d %r:\n redis:  %r\n sluice: %r" % (proto, line, x, y)


def ev(body, *rest):
    if not rest:
        rest = ("0",)
    return ("EVAL", body) + tuple(str(r) for r in rest)


SESSIONS = {
    "errors": [
        ev("return redis.call('nosuch')"), ev("return redis.call('get')"),
        ev("return redis.call('set','a')"), ev("return a"), ev("a=1"), ev("error('boom')"),
        ev("error({err='MY x'})"), ("SET", "s", "x"), ev("return redis.call('incr','s')"),
        ev("return redis.pcall('incr','s')"), ev("return redis.call('subscribe','x')"),
        ev("return redis.call('blpop','l',0)"), ev("syntax error here"),
        ev("return os.time()"), ev("return 1", "-1"), ev("return 1", "2", "a"),
        ev("return 1", "x"), ("EVAL_RO", "return redis.call('set','a','b')", "0"),
        ev("return redis.call()"), ev("return redis.call(1.5)"),
        ev("return redis.call('get', {})"), ev("return redis.pcall('set')"),
        ev("return redis.pcall('nosuch')"), ev("return redis.setresp(4)"),
        ev("local ok, e = pcall(function() redis.call('nosuch') end); return e"),
        ev("return redis.call('xread','block','100','streams','nost','$')"),
        ev("return redis.call('eval', 'return 1', '0')"), ev("return redis.call('multi')"),
        ev("return redis.error_reply('My err')"), ev("return redis.error_reply('-CODE x')"),
        ev("return redis.error_reply('')"), ev("return redis.error_reply('oneword')"),
        ev("return redis.error_reply('-')"), ev("return redis.error_reply('-X')"),
        ev("return redis.error_reply('a\\r\\n')"), ev("return redis.error_reply('x').err"),
        ev("return {err='x y'}"), ev("return {1, {err='bad'}, 3}"),
        ev("error('multi\\nline')"), ev("return redis.call('script', 'flush')"),
        ev("return redis.call('object')"), ev("return redis.call('object', 'nosub', 'k')"),
        ("EVAL",), ("EVALSHA", "x"),
    ],
    "conversions": [
        ev("return {1,2,{3,'x'},nil,4}"), ev("return 3.99"), ev("return -1.5"),
        ev("return redis.status_reply('FINE')"), ev("return {true,false}"), ev("return true"),
        ev("return false"), ev("return nil"), ev("return"), ev("return {}"),
        ev("local t = {}; t[1]=1; t[3]=3; return t"), ev("return {ok='fine', err='e'}"),
        ev("return redis.call('echo', 1.5)"), ev("return redis.call('echo', 3)"),
        ev("return redis.call('echo', 0.1)"), ev("return redis.call('echo', 1e20)"),
        ev("return KEYS[1]..ARGV[2]", "1", "k", "a", "b"), ev("return {KEYS, ARGV}", "2", "a", "b", "c"),
        ev("return redis.call('ping')"), ev("return redis.call('get','nokey')"),
        ev("return type(redis.call('get','nokey'))"), ev("return redis.call('lpop','nolist')"),
        ev("redis.call('hset','h','a','1','b','2'); return redis.call('hgetall','h')"),
        ev("redis.setresp(3); return redis.call('hgetall','h')"),
        ev("redis.setresp(3); return redis.call('smembers','nos')"),
        ev("redis.setresp(3); return {double=3.5}"), ev("return {double=3.5}"),
        ev("redis.setresp(3); return redis.call('type','h')"),
        ev("redis.setresp(3); return redis.call('get','nokey') == nil"),
        ev("redis.setresp(3); return {true, false}"),
        ev("redis.setresp(3); return redis.call('zscore','nz','a')"),
        ev("redis.call('zadd','z','1.5','a'); redis.setresp(3); local s = redis.call('zscore','z','a'); return type(s) .. tostring(s['double'])"),
        ev("return {map={a=1}}"), ev("return {set={a=true}}"),
        ev("return {verbatim_string={format='txt', string='hello'}}"),
        ev("return redis.call('incrbyfloat','f','1.5')"), ev("return redis.call('xadd','x','1-1','a','b')"),
        ev("return redis.call('xrange','x','-','+')"), ev("return {1,'2',{3,{4}}}"),
        ev("return tonumber('0x10')"), ev("return unpack({1,2})"),
        ev("local t = redis.call('hgetall','h'); return #t"),
    ],
    # 7.0's shebang line: engine, flags= options, flag names; no-writes
    # makes a read-only script, EVAL_RO wants it once a shebang is there.
    "shebang": [
        ev("#!not-lua\nreturn 1"), ev("#!lua\nreturn 1"), ev("#!lua badger=data\nreturn 1"),
        ev("#!lua flags=allow-oom,what?\nreturn 1"),
        ev("#!lua flags=no-writes\nredis.call('set','x',1)\nreturn 1", "1", "x"),
        ev("#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"),
        ("EVAL_RO", "#!lua\nreturn 2", "0"), ("EVAL_RO", "#!lua flags=no-writes\nreturn 3", "0"),
        ("EVAL_RO", "return 7", "0"), ev("#!lua flags=\nreturn 4"),
        ev("#!lua flags=no-writes,\nreturn 4"), ev("#!lua"), ev("#!lua\nerror('x')"),
        ev("#!lua \"flags=no-writes\"\nreturn 5"), ev("#!LUA\nreturn 1"),
        ("SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"),
        ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 6"),
        ("EVALSHA_RO", "37d509a92da52297d6df9f4e56f524f7dceba400", "0"),
        ("SCRIPT", "LOAD", "#!lua\nreturn redis.call('set','y','1')"),
        ("EVALSHA_RO", "220c5c72406118ce9f60a5757900cd60179f90cf", "0"),
        ev("#!lua flags=allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\n"
           "return redis.call('set','y','1')", "1", "y"),
    ],
    "sandbox": [
        ev("return loadstring"), ev("return type(print)"), ev("return type(loadstring)"),
        ev("return type(debug)"), ev("return type(io)"), ev("return type(require)"),
        ev("return type(dofile)"), ev("return type(loadfile)"), ev("return _VERSION"),
        ev("string = 1"), ev("redis = nil"), ev("_G.x = 1"), ev("return type(_G)"),
        ev("local g = getmetatable(_G); g.__index = {}"),
        ev("rawset(getmetatable(_G), 'x', 1)"), ev("return type(getmetatable(_G))"),
        ev("return loadstring(string.dump(function() return 1 end))()"),
        ev("local f, e = loadstring(string.dump(function() return 1 end)); return {type(f), e}"),
        ev("return loadstring('return 5')()"), ev("return {loadstring('x x')}"),
        ev("return string.format('%d', 5)"), ev("return table.concat({'a','b'}, ',')"),
        ev("return getmetatable('').__index == string"), ev("return pcall(function() error('x') end)"),
        ev("return math.floor(2.5)"), ev("math.randomseed(7); return tostring(math.random())"),
        ev("math.randomseed(7); return {math.random(100), math.random(3,9)}"),
        ev("return math.random(0)"), ev("return redis.REDIS_VERSION"),
        ev("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"),
        ev("return redis.log(redis.LOG_WARNING, 'hello', 'from', 'test')"),
        ev("return redis.log(99, 'x')"), ev("return redis.log(1)"),
        ev("return redis.set_repl(redis.REPL_ALL)"), ev("return redis.set_repl(99)"),
        ev("return redis.sha1hex('')"), ev("return redis.sha1hex('abc')"),
        ev("return redis.sha1hex(string.rep('x', 1000))"), ev("return redis.sha1hex()"),
        ev("return redis.replicate_commands()"),
    ],
    "readonly_tables": [
        # 7.0's read-only library tables and globals (script_lua.c proxies).
        ev("x = 1"), ev("_G.x = 1"), ev("redis = 1"), ev("redis.call = nil"),
        ev("redis.setresp = nil"), ev("string.foo = 1"), ev("local t = string; t.x = 1"),
        ev("math.x = 1"), ev("table.insert = 1"), ev("cjson.encode = nil"), ev("bit.band = 1"),
        ev("struct.pack = 1"), ev("cmsgpack.pack = 1"), ev("setmetatable(_G, nil)"),
        ev("setmetatable(string, {})"), ev("rawset(_G, 'x', 1)"), ev("rawset(string, 'x', 1)"),
        ev("return type(getmetatable(string))"), ev("return type(getmetatable(_G))"),
        ev("return getmetatable('').__index == string"), ev("return ('a'):upper()"),
        ev("return rawget(_G, 'zz')"), ev("return rawget(string, 'len') ~= nil"),
        ev("return next(string) ~= nil"), ev("return newproxy"), ev("return gcinfo ~= nil"),
        ev("local n = 0 for k in pairs(math) do n = n + 1 end return n"),
        ev("local t = {} for k in pairs(cjson) do t[#t+1] = k end table.sort(t) return t"),
        ev("for i, v in ipairs(KEYS) do end return #KEYS", 1, "k"),
        ev("rawset({}, 'a', 1) return 1"), ev("return redis.call('ping')"),
        ev("local t = setmetatable({}, {}) return type(getmetatable(t))"),
        ev("return redis.acl_check_cmd('set', 'k', 'v')"), ev("return redis.acl_check_cmd('get')"),
        ev("return redis.acl_check_cmd('nosuch')"), ev("return redis.acl_check_cmd()"),
        ev("return redis.acl_check_cmd('config', 'nosub')"), ev("return redis.acl_check_cmd({})"),
        ev("local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t"),
    ],
    "libraries": [
        ev("return cjson.encode({1,2,{a=1}})"), ev("return cjson.encode({a='x\"y', b={true, false}})"),
        ev("return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null"),
        ev("local t = cjson.decode('{\"k\":[1,2.5,\"s\"]}'); return {t.k[1], t.k[3], tostring(t.k[2])}"),
        ev("return cjson.decode('{bad')"),
        ev("return cmsgpack.pack({1,2,'x'})"),
        ev("return cmsgpack.pack({a=1}, -5, 300, -300, 70000, -70000, 5000000000, 1.5, 0.1, true, false, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')"),
        ev("return cmsgpack.pack(string.rep('y', 300))"), ev("return cmsgpack.pack({})"),
        ev("local t = {} for i=1,20 do t[i]=i end return cmsgpack.pack(t)"),
        ev("return {cmsgpack.unpack(cmsgpack.pack({1,2,'x'}, 7, 'y'))}"),
        ev("local t = cmsgpack.unpack(cmsgpack.pack({a={b='c'}, n=-7})); return {t.a.b, t.n}"),
        ev("return cmsgpack.unpack('\\x93\\x01')"),
        ev("return struct.pack('>I2',7)"), ev("return {struct.unpack('>I2', 'ab')}"),
        ev("return {struct.unpack('<i4 h', struct.pack('<i4 h', -3, 9))}"),
        ev("return struct.size('>I4 d')"), ev("return struct.pack('<d', 1.5)"),
        ev("return {struct.unpack('b B', struct.pack('b B', -1, 255))}"),
        ev("return struct.pack('s c3', 'ab', 'xyz')"), ev("return {struct.unpack('s', 'ab\\0')}"),
        ev("return struct.pack('!4 b i4', 1, 2)"),
        ev("return bit.tohex(65535)"), ev("return bit.band(12, 10)"), ev("return bit.bor(1, 2, 4)"),
        ev("return bit.bxor(5, 3)"), ev("return bit.lshift(1, 10)"), ev("return bit.rshift(-1, 28)"),
        ev("return bit.bnot(0)"), ev("return bit.tobit(4294967295)"),
    ],
    "script_cmds": [
        ("SCRIPT", "LOAD", "return 1"), ("SCRIPT", "LOAD", "return"),
        ("SCRIPT", "LOAD", "bad syntax ("),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "f" * 40, "x"),
        ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
        ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"),
        ("EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
        ("EVALSHA", "0123456789012345678901234567890123456789", "0"), ("EVALSHA", "abc", "0"),
        ("SCRIPT", "FLUSH"), ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "FLUSH", "foo"),
        ("SCRIPT", "KILL"), ("SCRIPT", "HELP"), ("SCRIPT", "NOSUCH"), ("SCRIPT",),
        ("SCRIPT", "EXISTS"), ("SCRIPT", "LOAD"),
        ev("return 'x'"), ("SCRIPT", "EXISTS", "e9e2c5a1ab7ae15ea5bbf0a5ee2e3e6e2ea1c09a"),
        ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"),
    ],
    "writes": [
        ev("redis.call('set', KEYS[1], ARGV[1]); redis.call('incr', KEYS[2]); return redis.call('mget', KEYS[1], KEYS[2])", "2", "a", "n", "v"),
        ev("redis.call('rpush', 'l', 1, 2, 3); return redis.call('lrange', 'l', 0, -1)"),
        ev("redis.call('set', 'a', 'changed'); redis.call('incr', 'a'); redis.call('set', 'b', 'never')"),
        ("GET", "a"), ("GET", "b"),
        ev("redis.call('set', 'c', '1'); return redis.pcall('incr', 'l')"), ("GET", "c"),
        ev("return redis.call('zadd', 'z', 1, 'a', 2, 'b')"), ev("return redis.call('zrange', 'z', 0, -1, 'withscores')"),
        ev("return redis.call('sadd', 's', 'x')"), ev("return redis.call('spop', 's')"),
        ev("return redis.call('del', 'a', 'b', 'c', 'l', 'z', 'n')"), ("DBSIZE",),
    ],
}


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_session(servers, name, proto):
    compare(servers, SESSIONS[name], proto)


def test_eval_inside_multi_and_script_in_pipeline(servers):
    for port in servers:
        r = redis.Redis(port=port)
        r.flushall()
        p = r.pipeline(transaction=True)
        p.eval("return redis.call('incr', KEYS[1])", 1, "n")
        p.eval("return redis.call('incr', KEYS[1])", 1, "n")
        assert p.execute() == [1, 2]
        s = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
        assert s(keys=["n"], args=[5]) == 7
        r.script_flush()
        assert s(keys=["n"], args=[1]) == 8  # redis-py reloads after NOSCRIPT


def start(tmp_path, fsync="always"):
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    return sluice.Sluiced(data_dir=str(d), fsync=fsync, listeners=("resp", "http"), faults=True)


MULTI_WRITE = """
redis.call('set', KEYS[1], ARGV[1])
redis.call('rpush', KEYS[2], ARGV[1], ARGV[1])
redis.call('hset', KEYS[3], 'f', ARGV[1])
redis.call('zadd', KEYS[4], 1, ARGV[1])
return redis.call('incr', KEYS[5])
"""
KEYS5 = ["str", "list", "hash", "zset", "count"]


def state(r):
    return (r.get("str"), r.lrange("list", 0, -1), r.hgetall("hash"),
            r.zrange("zset", 0, -1), r.get("count"))


def test_script_writes_are_durable_together(tmp_path):
    s = start(tmp_path)
    try:
        r = redis.Redis(port=s.port("resp"), socket_timeout=20)
        assert r.eval(MULTI_WRITE, 5, *KEYS5, "v1") == 1
        after = state(r)
        for sig in (signal.SIGKILL, signal.SIGTERM):
            s.stop(sig, check=sig == signal.SIGTERM)
            s.start()
            assert state(redis.Redis(port=s.port("resp"), socket_timeout=20)) == after, sig
    finally:
        s.stop()


@pytest.mark.parametrize("op", ["fdatasync", "pwrite"])
def test_failed_sync_fails_the_script_and_nothing_survives(tmp_path, op):
    s = start(tmp_path)
    try:
        r = redis.Redis(port=s.port("resp"), socket_timeout=20)
        r.set("count", 10)
        before = state(r)
        s.fault("op=%s,path=keys.journal,count=1,errno=EIO" % op)
        with pytest.raises(redis.ResponseError) as e:
            r.eval(MULTI_WRITE, 5, *KEYS5, "v2")
        assert str(e.value).startswith("MISCONF Errors writing to the AOF file: "), str(e.value)
        assert s.fault_hits() >= 1
        s.clear_faults()
        other = redis.Redis(port=s.port("resp"), socket_timeout=20)
        # The failure policy cuts the store back: none of the script's
        # writes is visible, then or after restarts.
        assert state(other) == before
        for sig in (signal.SIGKILL, signal.SIGTERM):
            s.stop(sig, check=sig == signal.SIGTERM)
            s.start()
            assert state(redis.Redis(port=s.port("resp"), socket_timeout=20)) == before, sig
        r = redis.Redis(port=s.port("resp"), socket_timeout=20)
        assert r.eval(MULTI_WRITE, 5, *KEYS5, "v3") == 11
    finally:
        s.stop()


def test_write_refused_mid_script_keeps_nothing_acknowledged(tmp_path):
    """While the keyspace recovers from a failed sync writes are refused with
    MISCONF; a script's refused write raises the script error."""
    s = start(tmp_path)
    try:
        r = redis.Redis(port=s.port("resp"), socket_timeout=20)
        s.fault("op=fdatasync,path=keys.journal,count=-1,errno=EIO")
        with pytest.raises(redis.ResponseError):
            r.set("x", 1)
        with pytest.raises(redis.ResponseError) as e:
            r.eval("return redis.call('set', 'y', 1)", 0)
        assert "MISCONF" in str(e.value)
        assert s.fault_hits() >= 1
        s.clear_faults()
        deadline = time.monotonic() + 20
        while True:
            try:
                assert r.eval("redis.call('set', 'y', 1); return redis.call('incr', 'y')", 0) == 2
                break
            except redis.ResponseError as e:
                assert "MISCONF" in str(e), str(e)
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.get("x") is None
        s.restart()
        assert redis.Redis(port=s.port("resp")).get("y") == b"2"
    finally:
        s.stop()


def raw_eval(port, body):
    import socket
    s = socket.create_connection(("127.0.0.1", port))
    try:
        b = body.encode()
        s.sendall(b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(b), b))
        buf = b""
        while not buf.endswith(b"stack limit\r\n"):
            chunk = s.recv(1 << 16)
            assert chunk, buf[-100:]
            buf += chunk
        return buf
    finally:
        s.close()


def test_self_referencing_table_ends_at_the_same_depth(servers):
    body = "local a = {}; local b = {a}; a[1] = b; return a"
    ref, ours = servers
    x, y = raw_eval(ref, body), raw_eval(ours, body)
    assert x.count(b"*1\r\n") > 1000
    assert y == x

