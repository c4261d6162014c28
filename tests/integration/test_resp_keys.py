"""Differential tests for string keys and expiry (Redis 7.0 vs sluiced,
RESP2 and RESP3, raw replies), and expiry behaviour over the wall clock:
lazy (a read finds the key gone) and active (keys nobody reads disappear
from DBSIZE)."""
import time

import pytest

from test_resp_lists import C, Raw, diff, pair  # noqa: F401  (pair is a fixture)

STRINGS = [
    C("SET", "k", "v"), C("GET", "k"), C("GET", "nosuch"), C("SET", "k", "w", "GET"), C("SET", "n", "1", "GET"),
    C("SET", "k", "x", "NX"), C("SET", "k", "x", "XX"), C("SET", "new", "x", "XX"), C("SET", "new", "x", "NX"),
    C("SET", "k", "v", "NX", "XX"), C("SET", "k", "v", "EX", "0"), C("SET", "k", "v", "EX", "-5"),
    C("SET", "k", "v", "EX", "abc"), C("SET", "k", "v", "PX", "100", "EX", "100"), C("SET", "k", "v", "KEEPTTL", "EX", "5"),
    C("SET", "k", "v", "EX"), C("SET", "k", "v", "FOO"), C("SET", "k", "v", "NX", "GET"), C("SET", "k2", "v", "NX", "GET"),
    C("SET", "k", "v", "EX", "100"), C("TTL", "k"), C("SET", "k", "v2", "KEEPTTL"), C("TTL", "k"), C("SET", "k", "v3"),
    C("TTL", "k"), C("SET", "k", "v", "EXAT", "99999999999"), C("EXPIRETIME", "k"), C("SET", "k", "v", "PXAT", "99999999999000"),
    C("PEXPIRETIME", "k"), C("SET", "k", "v", "EX", "9223372036854775807"), C("SET", "k", "v", "PX", "9223372036854775807"),
    C("SETNX", "k", "x"), C("SETNX", "sn", "x"), C("GET", "sn"), C("SETEX", "se", "100", "v"), C("TTL", "se"),
    C("SETEX", "se", "0", "v"), C("SETEX", "se", "x", "v"), C("PSETEX", "pse", "100000", "v"), C("TTL", "pse"),
    C("PSETEX", "pse", "-1", "v"), C("GETDEL", "sn"), C("GETDEL", "sn"), C("EXISTS", "sn"),
    C("MSET", "a", "1", "b", "2"), C("MSET", "a", "1", "b"), C("MGET", "a", "b", "nosuch"),
    C("INCR", "ctr"), C("INCRBY", "ctr", "10"), C("DECR", "ctr"), C("DECRBY", "ctr", "5"), C("INCRBY", "ctr", "x"),
    C("SET", "big", "9223372036854775806"), C("INCR", "big"), C("INCR", "big"), C("DECRBY", "ctr", "-9223372036854775808"),
    C("SET", "neg", "-9223372036854775808"), C("DECR", "neg"), C("INCR", "k"), C("SET", "sp", " 1"), C("INCR", "sp"),
    C("SET", "z", "01"), C("INCR", "z"), C("APPEND", "ap", "hello"), C("APPEND", "ap", " world"), C("GET", "ap"),
    C("STRLEN", "ap"), C("STRLEN", "nosuch"), C("RPUSH", "l", "x"), C("GET", "l"), C("INCR", "l"), C("APPEND", "l", "x"),
    C("STRLEN", "l"), C("GETDEL", "l"), C("MGET", "l", "a"), C("SET", "l", "now-a-string"), C("TYPE", "l"),
    C("SET", "l2", "x", "GET"), C("RPUSH", "l3", "x"), C("SET", "l3", "y", "GET"), C("TYPE", "l3"),
    C("GETEX", "a"), C("GETEX", "a", "EX", "100"), C("TTL", "a"), C("GETEX", "a", "PERSIST"), C("TTL", "a"),
    C("GETEX", "a", "PX", "0"), C("GETEX", "a", "EX", "10", "PX", "10"), C("GETEX", "a", "KEEPTTL"), C("GETEX", "nosuch", "EX", "10"),
    C("GETEX", "l", "EX", "5"), C("GETEX", "a", "EXAT", "1"), C("EXISTS", "a"),
    C("SET", ""), C("GET"), C("MGET"), C("INCRBY", "ctr"),
]

EXPIRY = [
    C("SET", "k", "v"), C("TTL", "k"), C("PTTL", "nosuch"), C("TTL", "nosuch"), C("EXPIRE", "k", "100"), C("TTL", "k"),
    C("EXPIRE", "k", "200", "NX"), C("EXPIRE", "k", "200", "XX"), C("TTL", "k"), C("EXPIRE", "k", "100", "GT"),
    C("EXPIRE", "k", "300", "GT"), C("EXPIRE", "k", "400", "LT"), C("EXPIRE", "k", "100", "LT"), C("TTL", "k"),
    C("EXPIRE", "k", "1", "NX", "XX"), C("EXPIRE", "k", "1", "GT", "LT"), C("EXPIRE", "k", "1", "FOO"),
    C("EXPIRE", "k", "x"), C("EXPIRE", "nosuch", "10"), C("PERSIST", "k"), C("PERSIST", "k"), C("TTL", "k"),
    C("EXPIRE", "k", "10", "GT"), C("EXPIRE", "k", "10", "XX"), C("EXPIRE", "k", "10", "LT"), C("TTL", "k"),
    C("PERSIST", "nosuch"), C("PEXPIRE", "k", "100000"), C("TTL", "k"), C("EXPIREAT", "k", "99999999999"),
    C("EXPIRETIME", "k"), C("PEXPIREAT", "k", "99999999999000"), C("PEXPIRETIME", "k"), C("EXPIRE", "k", "9223372036854775807"),
    C("PEXPIRE", "k", "9223372036854775807"), C("EXPIRE", "k", "0"), C("EXISTS", "k"),
    C("SET", "k", "v"), C("EXPIRE", "k", "-1"), C("EXISTS", "k"), C("SET", "k", "v"), C("EXPIREAT", "k", "1"),
    C("GET", "k"), C("RPUSH", "l", "a"), C("EXPIRE", "l", "100"), C("TTL", "l"), C("RPUSH", "l", "b"), C("TTL", "l"),
    C("LPOP", "l", "2"), C("TTL", "l"), C("EXPIRE"),
    C("SET", "r1", "v", "EX", "100"), C("RENAME", "r1", "r2"), C("TTL", "r2"), C("EXISTS", "r1"), C("GET", "r2"),
    C("RENAME", "nosuch", "x"), C("RENAME", "r2", "r2"), C("RPUSH", "rl", "x"), C("RENAME", "r2", "rl"),
    C("TYPE", "rl"), C("GET", "rl"), C("TTL", "rl"), C("UNLINK", "rl", "nosuch", "r2"), C("SET", "u", "1"),
    C("UNLINK", "u", "u"),
]


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name,steps", [("strings", STRINGS), ("expiry", EXPIRY)])
def test_keys_differential(pair, proto, name, steps):
    diff(pair, steps, proto)


def test_expiry_over_time_lazy_and_active(pair):
    # Same session on both: keys with 100-200 ms lifetimes; after 300 ms they
    # are gone for reads (lazy) and, without any read, from DBSIZE (active).
    steps = [
        C("SET", "a", "1", "PX", "100"), C("SET", "b", "1", "PX", "150"), C("RPUSH", "l", "x"),
        C("PEXPIRE", "l", "120"), C("SET", "keep", "1"), C("SETEX", "c", "1", "v"), C("DBSIZE"),
        ("sleep", 0.35), C("GET", "a"), C("LLEN", "l"), C("EXISTS", "l"), C("TTL", "c"),
    ]
    diff(pair, steps, 2)
    # Active expiry: 200 keys that nobody touches again disappear.
    for port in pair:
        r = Raw(port)
        r.cmd("FLUSHALL")
        for i in range(200):
            r.send("SET", "t%d" % i, "v", "PX", "50")
        for i in range(200):
            assert r.read() == b"+OK\r\n"
        deadline = time.monotonic() + 10
        while r.cmd("DBSIZE") != b":0\r\n":
            assert time.monotonic() < deadline, "expired keys were never collected"
            time.sleep(0.05)
        r.close()


def test_dedup_guard(pair):
    # The SET NX EX guard: the first worker wins, the second sees nil, and
    # once the guard expires the job can be taken again.
    steps = [C("SET", "job:42:lock", "w1", "NX", "PX", "200"), C("SET", "job:42:lock", "w2", "NX", "PX", "200"),
             C("GET", "job:42:lock"), ("sleep", 0.3), C("SET", "job:42:lock", "w2", "NX", "PX", "200"),
             C("GET", "job:42:lock")]
    for proto in (2, 3):
        diff(pair, steps, proto)


def test_keys_and_scan_skip_logically_expired_keys(pair):
    # 20 ms lifetimes, read 60 ms later: whether or not the active sweep
    # has run yet, KEYS and SCAN must not list them (Redis checks expiry
    # per key); INFO keyspace counts keys that carry a TTL.
    steps = [
        C("SET", "keep", "1"), C("SET", "gone", "1", "PX", "20"), C("RPUSH", "gonelist", "x"),
        C("PEXPIRE", "gonelist", "20"), ("sleep", 0.06), C("KEYS", "*"),
        C("SCAN", "0", "COUNT", "100"),
    ]
    diff(pair, steps, 2)
    for port in pair:
        r = Raw(port)
        r.cmd("FLUSHALL")
        r.cmd("SET", "a", "1")
        r.cmd("SET", "b", "1", "EX", "100")
        info = r.cmd("INFO", "keyspace")
        assert b"db0:keys=2,expires=1," in info, info
        r.close()
