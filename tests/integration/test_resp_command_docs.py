"""COMMAND DOCS with arguments (what redis-cli 7.0's HELP and hints read),
COMMAND GETKEYS and GETKEYSANDFLAGS: sluiced against Debian's redis-server
7.0, replies compared exactly for every command both have."""
import subprocess

import pytest

import sluice
from resp_util import Conn


@pytest.fixture(scope="module")
def servers():
    ref = sluice.redis_ref()
    srv = sluice.Sluiced(fsync="never", listeners=("resp",))
    yield ref.port, srv.port("resp")
    srv.stop()
    ref.stop()


def names(port):
    c = Conn(port)
    try:
        return sorted(x[1].decode() for x in c.call("COMMAND", "LIST")[1][2])
    finally:
        c.close()


@pytest.mark.parametrize("proto", [2, 3])
def test_docs_match_redis(servers, proto):
    ref, ours = servers
    a, b = Conn(ref), Conn(ours)
    if proto == 3:
        a.call("HELLO", "3")
        b.call("HELLO", "3")
    checked = 0
    for name in names(ours):
        x = a.call("COMMAND", "DOCS", name)
        if x[1][2] == []:
            continue  # not a 7.0 command (CLIENT SETINFO is 7.2's)
        y = b.call("COMMAND", "DOCS", name)
        if "|" not in name and x[1][2][1][2][-2][1] == b"subcommands":
            # a container: the same but for the subcommands sluice lacks
            assert y[1][2][1][2][:-2] == x[1][2][1][2][:-2], name
        else:
            assert y[0] == x[0], "RESP%d COMMAND DOCS %s" % (proto, name)
        checked += 1
    assert checked > 200
    a.close()
    b.close()


@pytest.mark.parametrize("cmd", ["XADD", "ZADD", "SET", "CLIENT KILL", "EVAL", "BLMPOP", "RESTORE"])
def test_redis_cli_help(servers, cmd):
    outs = [subprocess.run(["redis-cli", "-p", str(p), "HELP"] + cmd.split(), capture_output=True,
                           timeout=60).stdout for p in servers]
    assert outs[1] == outs[0]
    assert b"summary:" in outs[0]


GETKEYS = [
    "SET k v", "SET k v NX GET", "GET k", "MSET a 1 b 2 c 3", "ZUNIONSTORE d 2 a b WEIGHTS 1 2", "ZUNION 2 a b",
    "LMOVE a b LEFT RIGHT", "BLPOP a b c 0", "XREAD COUNT 2 STREAMS s1 s2 0 0",
    "XREADGROUP GROUP g c STREAMS s >", "EVAL x 2 k1 k2 a", "EVAL x 0", "SORT k BY w LIMIT 0 1 STORE d",
    "SORT k", "RENAME a b", "PING", "CLIENT KILL x", "NOSUCH k", "GET", "LMPOP 2 a b LEFT",
    "ZADD z 1 m", "XADD s * f v", "EXISTS a b", "MSET a", "XREAD STREAMS s", "OBJECT ENCODING k",
    "CLIENT", "COPY a b", "SINTERCARD 2 a b LIMIT 1", "EVAL_RO x 1 k", "BZMPOP 0 2 a b MIN",
]


@pytest.mark.parametrize("proto", [2, 3])
def test_getkeys(servers, proto):
    outs = []
    for port in servers:
        c = Conn(port)
        if proto == 3:
            c.call("HELLO", "3")
        got = []
        for line in GETKEYS:
            got.append(c.call("COMMAND", "GETKEYS", *line.split())[0])
            got.append(c.call("COMMAND", "GETKEYSANDFLAGS", *line.split())[0])
        c.close()
        outs.append(got)
    for line, x, y in zip([l for l in GETKEYS for _ in (0, 1)], outs[0], outs[1]):
        assert y == x, line


@pytest.mark.parametrize("proto", [2, 3])
def test_info_key_specs_match_redis(servers, proto):
    """COMMAND INFO's key specifications (what cluster clients read) are
    7.0's for every command both servers have."""
    ref, ours = servers
    a, b = Conn(ref), Conn(ours)
    if proto == 3:
        a.call("HELLO", "3")
        b.call("HELLO", "3")
    checked = 0
    for name in names(ours):
        x = a.call("COMMAND", "INFO", name)[1][2][0]
        if x[0] == "null":
            continue
        y = b.call("COMMAND", "INFO", name)[1][2][0]
        assert y[2][8] == x[2][8], "RESP%d COMMAND INFO %s key specs" % (proto, name)
        assert y[2][3:6] == x[2][3:6], "RESP%d COMMAND INFO %s key positions" % (proto, name)
        checked += 1
    assert checked > 200
    a.close()
    b.close()
