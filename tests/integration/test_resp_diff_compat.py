"""Differential sessions for what Redis 7.0.15's own Tcl suites
(tests/unit, external-server mode) found different in sluice: BITOP,
CONFIG SET save "", COMMAND GETKEYS SORT_RO, FUNCTION LOAD's shebang
("#!LUA", "NAME="), and SHUTDOWN's refusals (the ones that leave the
server running). Each session runs against Debian's redis-server 7.0 and
sluiced, in RESP2 and RESP3, replies compared byte for byte."""
import pytest

import sluice
from resp_util import Conn
from test_resp_diff import compare


@pytest.fixture(scope="module")
def servers():
    ref = sluice.redis_ref()
    srv = sluice.Sluiced(fsync="never", listeners=("resp",))
    yield ref.port, srv.port("resp")
    srv.stop()
    ref.stop()


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
}


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_session(servers, name, proto):
    compare(servers, SESSIONS[name], proto)


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
