"""Differential tests for the rest of Redis 7.0's string and key commands
(INCRBYFLOAT GETRANGE SETRANGE MSETNX GETSET SETBIT GETBIT BITCOUNT BITPOS
LCS COPY RENAMENX RANDOMKEY TOUCH EXPIRETIME PEXPIRETIME OBJECT SORT) and
the generic key commands over hashes, sets and sorted sets (TYPE, RENAME,
COPY, DEL, EXPIRE, SCAN TYPE), against Debian's redis-server 7.0, RESP2 and
RESP3, raw replies compared."""
import pytest

from test_resp_lists import C, diff, pair  # noqa: F401  (pair is a fixture)

STRINGS_EXT = [
    C("SET", "f", "10.5"), C("INCRBYFLOAT", "f", "0.1"), C("INCRBYFLOAT", "f", "-5"), C("INCRBYFLOAT", "f", "5.0e3"),
    C("INCRBYFLOAT", "f", "abc"), C("INCRBYFLOAT", "nf", "3"), C("INCRBYFLOAT", "f", "inf"), C("SET", "s", "hello"),
    C("INCRBYFLOAT", "s", "1"), C("SET", "e", "1e400"), C("INCRBYFLOAT", "e", "1"), C("SET", "sp", " 1"),
    C("INCRBYFLOAT", "sp", "1"), C("INCRBYFLOAT", "f", "1.7976931348623157e308"), C("GET", "f"),
    C("RPUSH", "l", "x"), C("INCRBYFLOAT", "l", "x"), C("INCRBYFLOAT", "l", "1"),
    C("SET", "g", "Hello World"), C("GETRANGE", "g", "0", "4"), C("GETRANGE", "g", "-5", "-1"), C("GETRANGE", "g", "5", "1"),
    C("GETRANGE", "g", "0", "100"), C("GETRANGE", "g", "-100", "-50"), C("GETRANGE", "g", "-1", "-5"),
    C("GETRANGE", "nosuch", "0", "1"), C("GETRANGE", "g", "x", "1"), C("GETRANGE", "l", "0", "1"), C("SUBSTR", "g", "6", "-1"),
    C("SET", "i", "12345"), C("GETRANGE", "i", "1", "2"),
    C("SETRANGE", "g", "6", "Redis"), C("GET", "g"), C("SETRANGE", "g", "20", "!"), C("GET", "g"), C("SETRANGE", "g", "0", ""),
    C("SETRANGE", "new", "0", ""), C("EXISTS", "new"), C("SETRANGE", "new", "3", "x"), C("GET", "new"),
    C("SETRANGE", "g", "-1", "x"), C("SETRANGE", "g", "x", "x"), C("SETRANGE", "g", "536870911", "xx"),
    C("SETRANGE", "l", "0", "x"), C("OBJECT", "ENCODING", "g"),
    C("MSETNX", "a", "1", "b", "2"), C("MSETNX", "b", "3", "c", "4"), C("MGET", "a", "b", "c"), C("MSETNX", "a"),
    C("MSETNX", "x", "1", "x", "2"), C("GET", "x"),
    C("GETSET", "a", "new"), C("GETSET", "nosuch2", "v"), C("GET", "nosuch2"), C("GETSET", "l", "v"),
    C("SETBIT", "b1", "7", "1"), C("GET", "b1"), C("SETBIT", "b1", "7", "0"), C("SETBIT", "b1", "100", "1"), C("STRLEN", "b1"),
    C("GETBIT", "b1", "100"), C("GETBIT", "b1", "99"), C("GETBIT", "b1", "100000"), C("GETBIT", "nosuch", "1"),
    C("SETBIT", "b1", "-1", "1"), C("SETBIT", "b1", "1", "2"), C("SETBIT", "b1", "x", "1"), C("SETBIT", "b1", "1", "x"),
    C("SETBIT", "b1", "4294967296", "1"), C("GETBIT", "b1", "x"), C("SETBIT", "l", "1", "1"), C("GETBIT", "l", "1"),
    C("SET", "bc", "foobar"), C("BITCOUNT", "bc"), C("BITCOUNT", "bc", "0", "0"), C("BITCOUNT", "bc", "1", "1"),
    C("BITCOUNT", "bc", "1", "1", "BYTE"), C("BITCOUNT", "bc", "5", "30", "BIT"), C("BITCOUNT", "bc", "-2", "-1"),
    C("BITCOUNT", "bc", "-1", "-2"), C("BITCOUNT", "bc", "0"), C("BITCOUNT", "bc", "0", "1", "FOO"),
    C("BITCOUNT", "bc", "x", "1"), C("BITCOUNT", "nosuch"), C("BITCOUNT", "l"),
    C("SET", "bp", "\xff\xf0\x00"), C("BITPOS", "bp", "0"), C("BITPOS", "bp", "1"), C("BITPOS", "bp", "1", "1"),
    C("BITPOS", "bp", "0", "0", "-1"), C("BITPOS", "bp", "1", "7", "15", "BIT"), C("BITPOS", "bp", "0", "2", "-1", "BIT"),
    C("BITPOS", "bp", "1", "2"), C("BITPOS", "bp", "2"), C("BITPOS", "nosuch", "1"), C("BITPOS", "nosuch", "0"),
    C("SET", "ones", "\xff\xff"), C("BITPOS", "ones", "0"), C("BITPOS", "ones", "0", "0", "-1"), C("BITPOS", "bp", "1", "0", "1", "FOO"),
    C("BITPOS", "l", "1"),
    C("SET", "k1", "ohmytext"), C("SET", "k2", "mynewtext"), C("LCS", "k1", "k2"), C("LCS", "k1", "k2", "LEN"),
    C("LCS", "k1", "k2", "IDX"), C("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4"), C("LCS", "k1", "k2", "IDX", "WITHMATCHLEN"),
    C("LCS", "k1", "k2", "IDX", "LEN"), C("LCS", "k1", "nosuch"), C("LCS", "k1", "l"), C("LCS", "k1", "k2", "FOO"),
    C("SET", "r1", "ABCBDAB"), C("SET", "r2", "BDCABA"), C("LCS", "r1", "r2", "IDX", "WITHMATCHLEN"),
]

KEYS_EXT = [
    C("SET", "s", "v"), C("COPY", "s", "s2"), C("GET", "s2"), C("COPY", "s", "s2"), C("COPY", "s", "s2", "REPLACE"),
    C("COPY", "s", "s"), C("COPY", "nosuch", "x"), C("COPY", "s", "s3", "DB", "0"), C("COPY", "s", "s3", "FOO"),
    C("COPY", "s", "s4", "DB", "x"), C("HSET", "h", "a", "1"), C("COPY", "h", "h2"), C("HGETALL", "h2"),
    C("SADD", "st", "1", "x"), C("COPY", "st", "st2"), C("SCARD", "st2"), C("ZADD", "z", "1", "a"), C("COPY", "z", "z2"),
    C("ZRANGE", "z2", "0", "-1", "WITHSCORES"), C("RPUSH", "l", "1", "2"), C("COPY", "l", "l2"), C("LRANGE", "l2", "0", "-1"),
    C("EXPIRE", "h", "1000"), C("COPY", "h", "h3"), C("TTL", "h3"), C("COPY", "z", "h3", "REPLACE"), C("TYPE", "h3"),
    C("RENAMENX", "s", "s2"), C("RENAMENX", "s", "fresh"), C("GET", "fresh"), C("RENAMENX", "nosuch", "a"),
    C("RENAMENX", "fresh", "fresh"), C("RENAME", "h2", "hr"), C("HGETALL", "hr"), C("RENAME", "st2", "sr"),
    C("TYPE", "sr"), C("RENAME", "z2", "zr"), C("ZSCORE", "zr", "a"), C("RENAME", "zr", "sr"), C("TYPE", "sr"),
    C("TOUCH", "sr", "nosuch", "l"), C("EXPIRETIME", "l"), C("PEXPIRETIME", "nosuch"), C("EXPIRETIME", "sr"),
    C("EXPIREAT", "sr", "99999999999"), C("EXPIRETIME", "sr"), C("PEXPIRETIME", "sr"),
    C("TYPE", "h"), C("TYPE", "st"), C("TYPE", "z"), C("DEL", "h", "st", "z", "nosuch"), C("EXISTS", "h", "st", "z"),
    C("OBJECT", "ENCODING", "l"), C("SET", "n", "123"), C("OBJECT", "ENCODING", "n"), C("SET", "n2", "-0"),
    C("OBJECT", "ENCODING", "n2"), C("SET", "long", "x" * 44), C("OBJECT", "ENCODING", "long"),
    C("SET", "long2", "x" * 45), C("OBJECT", "ENCODING", "long2"), C("APPEND", "n", "4"), C("OBJECT", "ENCODING", "n"),
    C("APPEND", "ap", "5"), C("OBJECT", "ENCODING", "ap"), C("SET", "big", "12345678901234567890"), C("OBJECT", "ENCODING", "big"),
    C("OBJECT", "REFCOUNT", "n2"), C("SET", "small", "100"), C("OBJECT", "REFCOUNT", "small"), C("SET", "mid", "10000"),
    C("OBJECT", "REFCOUNT", "mid"), C("OBJECT", "ENCODING", "nosuch"), C("OBJECT", "REFCOUNT", "nosuch"),
    C("OBJECT", "IDLETIME", "nosuch"), C("OBJECT", "FREQ", "l"), C("OBJECT", "FREQ", "nosuch"), C("OBJECT", "HELP"),
    C("OBJECT", "FOO", "l"), C("OBJECT", "ENCODING"), C("OBJECT", "ENCODING", "a", "b"), C("OBJECT"),
    C("INCR", "ctr"), C("OBJECT", "ENCODING", "ctr"), C("SETRANGE", "sr2", "0", "12"), C("OBJECT", "ENCODING", "sr2"),
    C("SETBIT", "sb", "1", "1"), C("OBJECT", "ENCODING", "sb"),
]

SORTS = [
    C("RPUSH", "l", "3", "1", "2", "10"), C("SORT", "l"), C("SORT", "l", "DESC"), C("SORT", "l", "ALPHA"),
    C("SORT", "l", "LIMIT", "1", "2"), C("SORT", "l", "LIMIT", "-1", "2"), C("SORT", "l", "LIMIT", "1", "-1"),
    C("SORT", "l", "LIMIT", "10", "5"), C("MSET", "w_3", "1", "w_1", "30", "w_2", "20", "w_10", "5"),
    C("SORT", "l", "BY", "w_*"), C("SORT", "l", "BY", "w_*", "DESC", "GET", "#", "GET", "w_*"),
    C("SORT", "l", "BY", "nosort"), C("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"),
    C("HSET", "o_1", "f", "b"), C("HSET", "o_2", "f", "a"), C("SORT", "l", "BY", "o_*->f", "ALPHA", "GET", "o_*->f", "GET", "#"),
    C("SORT", "l", "GET", "missing_*"), C("SORT", "l", "STORE", "dst"), C("LRANGE", "dst", "0", "-1"),
    C("SORT", "l", "GET", "#", "GET", "w_*", "STORE", "dst"), C("LRANGE", "dst", "0", "-1"),
    C("SORT", "nosuch", "STORE", "dst"), C("EXISTS", "dst"), C("SORT", "nosuch"),
    C("RPUSH", "bad", "a", "1"), C("SORT", "bad"), C("SORT", "bad", "ALPHA"), C("SORT", "l", "FOO"),
    C("SORT", "l", "LIMIT", "x", "1"), C("SADD", "s", "5", "2", "9"), C("SORT", "s"), C("SORT", "s", "BY", "nosort", "STORE", "d2"),
    C("LRANGE", "d2", "0", "-1"), C("ZADD", "z", "1", "c", "2", "a", "3", "b"), C("SORT", "z", "ALPHA"),
    C("SORT", "z", "BY", "nosort"), C("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "2"),
    C("SET", "str", "x"), C("SORT", "str"), C("SORT_RO", "l"), C("SORT_RO", "l", "STORE", "dst"), C("SORT", "l", "ALPHA", "DESC"),
]


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name,steps", [("strings", STRINGS_EXT), ("keys", KEYS_EXT), ("sort", SORTS)])
def test_keys_ext_differential(pair, proto, name, steps):
    diff(pair, steps, proto)


def test_randomkey_and_scan_types(pair):
    steps = [C("RANDOMKEY"), C("HSET", "h", "a", "1"), C("RANDOMKEY"), C("SADD", "s", "x"), C("ZADD", "z", "1", "m"),
             C("SCAN", "0", "TYPE", "hash"), C("SCAN", "0", "TYPE", "set"), C("SCAN", "0", "TYPE", "zset"),
             C("DEL", "s", "z"), C("RANDOMKEY")]
    for proto in (2, 3):
        diff(pair, steps, proto)


CONFIG = [
    C("CONFIG", "SET", "hash-max-ziplist-entries", "2", "set-max-intset-entries", "3"),
    S("CONFIG", "GET", "*max-*-entries") if False else C("CONFIG", "GET", "set-max-intset-entries"),
    C("CONFIG", "GET", "hash-max-ziplist-entries"), C("HSET", "h", "a", "1", "b", "2"), C("OBJECT", "ENCODING", "h"),
    C("HSET", "h", "c", "3"), C("OBJECT", "ENCODING", "h"), C("SADD", "s", "1", "2", "3"), C("OBJECT", "ENCODING", "s"),
    C("SADD", "s", "4"), C("OBJECT", "ENCODING", "s"), C("CONFIG", "SET", "zset-max-listpack-value", "3"),
    C("ZADD", "z", "1", "abcd"), C("OBJECT", "ENCODING", "z"), C("CONFIG", "SET", "hash-max-ziplist-entries", "x"),
    C("CONFIG", "SET", "hash-max-ziplist-entries", "-1"), C("CONFIG", "SET", "foo", "bar"),
    C("CONFIG", "SET", "hash-max-ziplist-entries", "5", "hash-max-listpack-entries", "6"),
    C("CONFIG", "SET", "hash-max-ziplist-entries"), C("CONFIG", "SET", "notify-keyspace-events", "KEQ"),
    C("CONFIG", "SET", "notify-keyspace-events", "Kx$l"), C("CONFIG", "GET", "notify-keyspace-events"),
    C("CONFIG", "SET", "notify-keyspace-events", "KEA"), C("CONFIG", "GET", "notify-keyspace-events"),
    C("CONFIG", "SET", "notify-keyspace-events", ""), C("CONFIG", "GET", "notify-keyspace-events"),
    C("CONFIG", "SET", "lua-time-limit", "100"), C("CONFIG", "GET", "lua-time-limit"), C("CONFIG", "GET", "busy-reply-threshold"),
    C("CONFIG", "SET", "maxmemory-policy", "noeviction"), C("CONFIG", "GET", "maxmemory-policy"),
    C("CONFIG", "SET", "hash-max-ziplist-entries", "512", "set-max-intset-entries", "512",
      "zset-max-listpack-value", "64"),
]


def test_config_set_differential(pair):
    for proto in (2, 3):
        diff(pair, CONFIG, proto)


def test_keyspace_notifications(pair):
    def R():
        return ("rr", 1)
    steps = [("c", 0, "CONFIG", "SET", "notify-keyspace-events", "KEA"), ("c", 1, "PSUBSCRIBE", "__key*"),
             ("c", 0, "HSET", "h", "a", "1"), R(), R(), ("c", 0, "HDEL", "h", "a"), R(), R(), R(), R(),
             ("c", 0, "ZADD", "z", "1", "a"), R(), R(), ("c", 0, "RENAME", "z", "z2"), R(), R(), R(), R(),
             ("c", 0, "SET", "k", "v", "EX", "100"), R(), R(), R(), R(), ("c", 0, "SADD", "s", "x"), R(), R(),
             ("c", 0, "SMOVE", "s", "t", "x"), R(), R(), R(), R(), R(), R(), ("c", 0, "RPUSH", "l", "1", "2"), R(), R(),
             ("c", 0, "LMOVE", "l", "m", "LEFT", "RIGHT"), R(), R(), R(), R(), ("c", 0, "DEL", "m", "t"), R(), R(), R(), R(),
             ("c", 0, "EXPIRE", "k", "100"), R(), R(), ("c", 0, "INCR", "n"), R(), R(),
             ("c", 0, "CONFIG", "SET", "notify-keyspace-events", "Kz"), ("c", 0, "SADD", "s2", "x"),
             ("c", 0, "ZADD", "z3", "1", "a"), R(), ("c", 0, "CONFIG", "SET", "notify-keyspace-events", "")]
    diff(pair, steps, 2, nclients=2)
