"""Real Redis clients against sluiced: redis-cli, redis-py (Debian), ioredis
5 and 6, node-redis 4 and 6 (npm, tests/clients/resp-node), predis (Debian,
tests/clients/resp-php). Each runs the message-queue scenarios: a producer
with XADD MAXLEN ~ 100 while a consumer follows with XREAD BLOCK, and a
consumer group with XACK, a consumer that stops with entries pending, and
XAUTOCLAIM recovering them after its restart."""
import os
import subprocess
import threading

import pytest
import redis

import sluice

CLIENTS = os.path.join(sluice.ROOT, "tests", "clients")


@pytest.fixture(scope="module")
def srv():
    s = sluice.Sluiced(fsync="always", listeners=("resp",))
    yield s
    s.stop()


@pytest.mark.parametrize("lib", ["ioredis5", "ioredis6", "redis4", "redis6"])
def test_node_client(srv, lib):
    d = os.path.join(CLIENTS, "resp-node")
    p = subprocess.run(["node", "scenario.js", lib, str(srv.port("resp"))], cwd=d,
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0 and ("OK " + lib) in p.stdout, p.stdout + p.stderr


def test_predis(srv):
    d = os.path.join(CLIENTS, "resp-php")
    p = subprocess.run(["php", "scenario.php", str(srv.port("resp"))], cwd=d,
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0 and "OK predis" in p.stdout, p.stdout + p.stderr


def test_redis_cli(srv):
    port = str(srv.port("resp"))

    def cli(*args, proto=None):
        argv = ["redis-cli", "-p", port] + (["-3"] if proto == 3 else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout

    assert cli("PING") == "PONG\n"
    assert cli("XADD", "cli", "1-1", "a", "b") == "1-1\n"
    assert cli("XADD", "cli", "MAXLEN", "~", "100", "2-1", "c", "d") == "2-1\n"
    assert cli("XRANGE", "cli", "-", "+") == "1-1\na\nb\n2-1\nc\nd\n"
    assert cli("XLEN", "cli") == "2\n"
    assert cli("XREAD", "STREAMS", "cli", "1-1") == "cli\n2-1\nc\nd\n"
    assert "redis_version:7.0.15" in cli("INFO")
    assert cli("XINFO", "GROUPS", "cli") == "\n"
    assert cli("XGROUP", "CREATE", "cli", "g", "0") == "OK\n"
    out = cli("XINFO", "GROUPS", "cli", proto=3)
    assert "name" in out and "g" in out and "lag" in out
    assert cli("NOSUCH") .startswith("ERR unknown command 'NOSUCH'")
    # Piped input, inline commands.
    p = subprocess.run(["redis-cli", "-p", port], input="XLEN cli\nEXISTS cli\n", capture_output=True,
                       text=True, timeout=30)
    assert p.stdout == "2\n1\n"


def test_redis_py(srv):
    r = redis.Redis(host="127.0.0.1", port=srv.port("resp"), decode_responses=True)
    assert r.ping()
    key, n = "py", 30
    done = []

    def produce():
        p = redis.Redis(host="127.0.0.1", port=srv.port("resp"))
        for i in range(1, n + 1):
            done.append(p.xadd(key, {"id": i, "name": "v"}, maxlen=100, approximate=True))
        p.close()

    t = threading.Thread(target=produce)
    t.start()
    got, last = [], "0"
    for _ in range(300):
        if len(got) == n:
            break
        for _, entries in r.xread({key: last}, count=7, block=1000) or []:
            for eid, fields in entries:
                got.append(int(fields["id"]))
                last = eid
    t.join()
    assert got == list(range(1, n + 1))

    r.xgroup_create(key, "g", "0")
    with pytest.raises(redis.ResponseError, match="BUSYGROUP"):
        r.xgroup_create(key, "g", "0")
    c1 = r.xreadgroup("g", "c1", {key: ">"}, count=10)[0][1]
    c2 = r.xreadgroup("g", "c2", {key: ">"}, block=100)[0][1]
    assert len(c1) == 10 and len(c2) == n - 10
    assert r.xack(key, "g", *[e[0] for e in c2]) == n - 10
    assert r.xack(key, "g", c1[0][0]) == 1
    # c1 "restarts" and recovers its own pending entries.
    c1b = redis.Redis(host="127.0.0.1", port=srv.port("resp"), decode_responses=True)
    claimed = c1b.xautoclaim(key, "g", "c1", 0, "0-0", count=100)
    assert [e[0] for e in claimed[1]] == [e[0] for e in c1[1:]]
    assert c1b.xack(key, "g", *[e[0] for e in claimed[1]]) == 9
    assert r.xpending(key, "g")["pending"] == 0
    info = r.xinfo_groups(key)
    assert info[0]["name"] == "g" and info[0]["pending"] == 0
    assert r.xinfo_stream(key)["length"] == n
    assert r.xtrim(key, maxlen=5, approximate=False) == n - 5
    assert r.xlen(key) == 5
    assert r.delete(key) == 1
    c1b.close()
    r.close()
