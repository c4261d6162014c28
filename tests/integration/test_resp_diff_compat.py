"""Differential sessions for what Redis 7.0.15's own Tcl suites
(tests/unit, external-server mode) found different in sluice: BITOP,
CONFIG SET save "", COMMAND GETKEYS SORT_RO, FUNCTION LOAD's shebang
("#!LUA", "NAME="), and SHUTDOWN's refusals (the ones that leave the
server running). Each session runs against Debian's redis-server 7.0 and
sluiced, in RESP2 and RESP3, replies compared byte for byte."""
import pytest

from resp_util import Conn
# The servers fixture (redis-server and sluiced, one pair per module) and
# the session comparison are test_resp_diff's.
from test_resp_diff import compare, servers  # noqa: F401


LIB = "'#!%s %s\nredis.register_function(\"f_%s\", function() return 1 end)'"

SESSIONS = {
    "bitop": [
        "SET a abc", "SET b x", "SET c ''", "BITOP AND d a b", "GET d", "BITOP OR d a b", "GET d",
        "BITOP XOR d a b c", "GET d", "BITOP NOT d a", "GET d", "BITOP not d c", "EXISTS d",
        "BITOP AND d a nokey", "GET d", "BITOP OR d nokey", "EXISTS d", "BITOP NOT d a b",
        "BITOP NOT d", "BITOP nand d a", "BITOP AND d", "RPUSH l x", "BITOP AND d a l",
        "BITOP AND l a", "TYPE l", "SET e 1", "EXPIRE e 100", "BITOP OR e a", "TTL e",
        "SET n 123", "BITOP XOR n n n", "STRLEN n", "BITCOUNT n",
    ],
    "bitfield": [
        "BITFIELD bf SET u8 0 255", "GET bf", "BITFIELD bf GET u8 0 GET i8 0 GET u4 4 GET i64 0 GET u63 1",
        "BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 5 OVERFLOW FAIL INCRBY u2 104 5",
        "STRLEN bf", "BITFIELD bf SET i8 #1 -100 GET i8 #1 SET u8 #2 300 OVERFLOW SAT SET u8 #3 300 SET i8 #4 -300",
        "BITFIELD bf OVERFLOW FAIL SET i8 #5 200 SET u8 #5 -1 INCRBY i64 0 9223372036854775807",
        "BITFIELD bf OVERFLOW WRAP INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807",
        "BITFIELD bf OVERFLOW SAT INCRBY i64 64 -9223372036854775808 INCRBY i64 64 -1 INCRBY u63 128 -1",
        "BITFIELD bf GET i1 0 GET u1 0 GET i64 #100 GET u1 4294967295",
        "BITFIELD bf", "BITFIELD bf GET", "BITFIELD bf GET u8", "BITFIELD bf FOO u8 0",
        "BITFIELD bf GET u64 0", "BITFIELD bf GET i65 0", "BITFIELD bf GET u0 0", "BITFIELD bf GET x8 0",
        "BITFIELD bf GET u8 -1", "BITFIELD bf GET u8 x", "BITFIELD bf GET u8 4294967296",
        "BITFIELD bf GET u8 #536870912", "BITFIELD bf GET i64 #9223372036854775807",
        "BITFIELD bf SET u8 0 x", "BITFIELD bf OVERFLOW x SET u8 0 1", "BITFIELD bf OVERFLOW",
        "BITFIELD bf GET u8 0 SET u8", "BITFIELD bf SET u8 0 1 GET u8 0 BADOP",
        "BITFIELD_RO bf GET u8 0 GET i4 4", "BITFIELD_RO bf SET u8 0 1", "BITFIELD_RO bf OVERFLOW SAT GET u8 0",
        "BITFIELD_RO nokey GET u8 0", "BITFIELD nokey GET u8 0", "EXISTS nokey",
        "BITFIELD new OVERFLOW FAIL SET u2 16 7 SET u2 0 9", "GET new", "EXISTS new",
        "RPUSH l x", "BITFIELD l GET u8 0", "BITFIELD l SET u8 0 1", "BITFIELD_RO l GET u8 0",
        "BITFIELD_RO l SET u8 0 1", "SET t abc EX 100", "BITFIELD t SET u8 0 65", "GET t", "TTL t",
        "SET n 12", "BITFIELD n GET u8 0 INCRBY u8 8 1", "GET n",
    ],
    "config_save": [
        "CONFIG SET save ''", "CONFIG GET save", "CONFIG GET sav*", "CONFIG SET save",
    ],
    "getkeys_sort_ro": [
        "COMMAND GETKEYS sort_ro abc", "COMMAND GETKEYS sort_ro abc BY x GET y",
        "COMMAND GETKEYSANDFLAGS sort_ro abc", "COMMAND GETKEYS sort_ro",
        "COMMAND GETKEYS sort abc STORE d",
    ],
    "function_shebang": [
        "FUNCTION FLUSH", "FUNCTION LOAD " + LIB % ("LUA", "name=up", "up"),
        "FUNCTION LOAD " + LIB % ("Lua", "NAME=mixed", "mixed"),
        "FCALL f_up 0", "FCALL f_mixed 0",
        "FUNCTION LOAD " + LIB % ("lua", "name=a name=b", "ab"),
        "FUNCTION LOAD " + LIB % ("luajit", "name=x", "x"),
        "FUNCTION LOAD " + LIB % ("lua", "name=x foo=bar", "x"),
        "FUNCTION FLUSH",
    ],
    "shutdown_refused": [
        "SHUTDOWN ABORT", "shutdown abort", "SHUTDOWN SAVE NOSAVE", "SHUTDOWN NOSAVE SAVE NOW",
        "SHUTDOWN ABORT NOW", "SHUTDOWN ABORT FORCE", "SHUTDOWN FOO", "SHUTDOWN NOW FOO",
        "MULTI", "SET k v", "SHUTDOWN", "EXEC", "GET k",
        "MULTI", "SHUTDOWN ABORT", "DISCARD",
        "EVAL \"return redis.call('shutdown')\" 0",
        "COMMAND INFO shutdown", "COMMAND INFO bitop get", "PING",
    ],
    # A function reaching the load API through a local of its library
    # (Redis's "LIBRARIES - malicious access test"): no writes to it, no
    # registering at run time.
    "function_load_api_at_run_time": [
        "FUNCTION FLUSH",
        "FUNCTION LOAD '#!lua name=lib1\nlocal lib = redis\n"
        "lib.register_function(\"f1\", function() lib.redis = redis return 1 end)\n"
        "lib.register_function(\"f2\", function() "
        "lib.register_function(\"f3\", function() return 1 end) end)'",
        "FCALL f1 0", "FCALL f2 0", "FCALL f3 0",
        "FUNCTION LOAD '#!lua name=lib2\nredis.math.random()'",
        "FUNCTION LOAD '#!lua name=lib2\nredis.redis.call(\"ping\")'",
        "FUNCTION FLUSH",
    ],
    # A call whose arguments fill the Lua stack (unpack of ~8000 values):
    # the arguments make room for the reply, as in 7.0.
    "call_with_unpacked_arguments": [
        "EVAL \"local a = {} for i=1,7999 do a[i] = 1 end "
        "return redis.call('lpush', 'l', unpack(a))\" 0",
        "EVAL \"local a = {} for i=1,7999 do a[i] = 'x' end "
        "return redis.pcall('lpush', 'l', unpack(a))\" 0",
        "EVAL \"local a = {} for i=1,7998 do a[i] = 1 end "
        "return redis.pcall('lpush', 'nokey-wrong-type', 'x', unpack(a))\" 0",
        "LLEN l",
    ],
    # RENAME / RENAMENX of a stream key: entries, IDs, groups, consumers,
    # pending entries and the TTL go along; the destination is replaced.
    "rename_stream": [
        "XADD s 1-1 a 1", "XADD s 2-1 b 2", "XADD s 3-1 c 3", "XDEL s 2-1",
        "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
        "XGROUP CREATE s g2 $", "EXPIRE s 1000", "SET t x",
        "RENAME s t", "EXISTS s", "TYPE t", "XRANGE t - +", "XINFO GROUPS t",
        "XPENDING t g", "TTL t", "XADD t 4-1 d 4", "XLEN t",
        "RENAMENX t t", "RENAMENX t u", "RENAMENX nokey u", "HSET h f v", "RENAMENX t h",
        "RENAME t h", "TYPE h", "XLEN h", "EXISTS t", "XREADGROUP GROUP g bob STREAMS h >",
        "RENAME h h", "XLEN h",
        "XADD e 1-1 a 1", "XDEL e 1-1", "RENAME e e2", "XLEN e2", "XINFO STREAM e2",
    ],
    # Not a cluster member: every subcommand gets 7.0's cluster-disabled
    # error, the table's checks (arity, unknown subcommand, CLUSTER RESET
    # refused in scripts) still apply first.
    "cluster_disabled": [
        "CLUSTER INFO", "CLUSTER HELP", "CLUSTER KEYSLOT k", "CLUSTER SLOTS", "CLUSTER RESET HARD",
        "CLUSTER FOO", "CLUSTER INFO x", "CLUSTER", "cluster myid",
        "EVAL \"return redis.call('cluster', 'reset', 'hard')\" 0",
        "EVAL \"return redis.call('cluster', 'info')\" 0",
        "MULTI", "CLUSTER INFO", "EXEC",
        "COMMAND INFO cluster|reset cluster|setslot cluster|help cluster|keyslot",
        "COMMAND DOCS cluster|addslotsrange",
    ],
}


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_session(servers, name, proto):
    compare(servers, SESSIONS[name], proto)


def test_bitfield_random_ops(servers):
    """A few hundred random BITFIELD operations (widths, signedness, #
    offsets, overflow policies, values near the limits) give the same
    replies and the same string on both servers."""
    import random
    rnd = random.Random(15)
    edges = [0, 1, -1, 2, 127, 128, -128, 255, 256, 32767, -32768, 2**31, -2**31,
             2**62, -2**62, 2**63 - 1, -2**63]
    lines = []
    for _ in range(400):
        words = []
        for _ in range(rnd.randint(1, 4)):
            if rnd.random() < 0.2:
                words += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
            sign = rnd.choice("iu")
            bits = rnd.randint(1, 64 if sign == "i" else 63)
            off = ("#%d" % rnd.randint(0, 8)) if rnd.random() < 0.3 else str(rnd.randint(0, 200))
            op = rnd.choice(["GET", "SET", "INCRBY"])
            words += [op, "%s%d" % (sign, bits), off]
            if op != "GET":
                v = rnd.choice(edges) if rnd.random() < 0.5 else rnd.randint(-1000, 1000)
                words.append(str(v))
        lines.append("BITFIELD k " + " ".join(words))
    lines += ["GET k", "STRLEN k"]
    compare(servers, lines, 2)


def test_scan_guarantee_under_writes(servers):
    """Redis's unit/scan guarantee: the 100 keys there from the start are
    all returned while ten new keys are written between SCAN calls (the
    key map grows under the cursor). Both servers must keep it."""
    import random
    for port in servers:
        rnd = random.Random(port)
        c = Conn(port)
        c.call("FLUSHALL")
        for i in range(100):
            c.call("SET", "key:%d" % i, "v")
        seen, cursor = set(), b"0"
        while True:
            _, v = c.call("SCAN", cursor)
            cursor = v[2][0][1]
            seen.update(x[1] for x in v[2][1][2])
            if cursor == b"0":
                break
            for _ in range(10):
                c.call("SET", "added:%d" % rnd.randint(0, 5000), "x")
        assert {b"key:%d" % i for i in range(100)} <= seen
        c.call("FLUSHALL")
        c.close()


def command_flags(port):
    """{full name: flags} of every command and subcommand in COMMAND."""
    c = Conn(port)
    _, v = c.call("COMMAND")
    c.close()
    out = {}

    def walk(e):
        info = e[2]
        out[info[0][1].decode()] = [f[1] for f in info[2][2]]
        for sub in info[9][2]:
            walk(sub)
    for e in v[2]:
        walk(e)
    return out


# Flags sluice's table does not model yet (7.0's skip_monitor,
# skip_slowlog; ECHO's loading/stale).
FLAG_DIFFERENCES = {"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro", "exec",
                    "echo"}


def test_command_info_flags(servers):
    """COMMAND's flags, in 7.0's order, for every command both servers
    have: admin from @admin, no_multi, no_mandatory_keys and movablekeys
    from 7.0's key specifications."""
    ref, ours = (command_flags(p) for p in servers)
    diff = {k: (ref[k], ours[k]) for k in ours
            if k in ref and k not in FLAG_DIFFERENCES and ref[k] != ours[k]}
    assert diff == {}
    assert ours["shutdown"] == ref["shutdown"]
    assert "movablekeys" in ours["zunionstore"] and "admin" in ours["config|set"]


def test_shutdown_needs_admin(servers):
    """SHUTDOWN is @admin and @dangerous: a user without them gets NOPERM,
    and the server keeps running."""
    lines = ["ACL SETUSER shut_u on >pw +@all -@admin",
             "ACL SETUSER shut_d on >pw +@all -@dangerous", "AUTH shut_u pw", "SHUTDOWN",
             "SHUTDOWN NOSAVE", "AUTH shut_d pw", "SHUTDOWN NOW", "PING"]
    try:
        compare(servers, lines, 2)
    finally:
        for port in servers:
            c = Conn(port)
            c.call("ACL", "DELUSER", "shut_u", "shut_d")
            c.close()
