"""Differential tests for hashes, sets and sorted sets: the same scripted
sessions against Debian's redis-server 7.0 and sluiced, in RESP2 and RESP3,
raw reply bytes compared. Unordered replies (hashtable-encoded sets and
hashes, random picks) are compared sorted ("sorted" steps) or by shape.
Blocking sorted-set pops (BZPOPMIN, BZPOPMAX, BZMPOP) run with several
clients in blocking order."""
import pytest

from test_resp_lists import C, diff, pair  # noqa: F401  (pair is a fixture)


def S(*a):
    return ("sorted", 0) + a


HASHES = [
    C("HSET", "h", "f1", "v1", "f2", "v2"), C("HSET", "h", "f1", "x", "f3", "v3"), C("HGETALL", "h"),
    C("HSET", "h", "f1"), C("HSET", "h"), C("HMSET", "h", "a", "1", "b", "2"), C("HMSET", "h", "a"),
    C("HGET", "h", "a"), C("HGET", "h", "nosuch"), C("HGET", "nosuch", "a"), C("HMGET", "h", "a", "zz", "b"),
    C("HMGET", "nosuch", "a", "b"), C("HLEN", "h"), C("HLEN", "nosuch"), C("HKEYS", "h"), C("HVALS", "h"),
    C("HKEYS", "nosuch"), C("HVALS", "nosuch"), C("HGETALL", "nosuch"), C("HEXISTS", "h", "a"),
    C("HEXISTS", "h", "q"), C("HEXISTS", "nosuch", "a"), C("HSTRLEN", "h", "f3"), C("HSTRLEN", "h", "q"),
    C("HSTRLEN", "nosuch", "q"), C("HSETNX", "h", "a", "9"), C("HSETNX", "h", "n", "9"), C("HGET", "h", "n"),
    C("HSETNX", "new", "a", "1"), C("HGETALL", "new"), C("HDEL", "h", "a", "b", "zz"), C("HDEL", "h", "a"),
    C("HDEL", "nosuch", "a"), C("HDEL", "new", "a"), C("EXISTS", "new"), C("TYPE", "h"), C("OBJECT", "ENCODING", "h"),
    C("HINCRBY", "h", "ctr", "5"), C("HINCRBY", "h", "ctr", "-7"), C("HINCRBY", "h", "ctr", "x"),
    C("HINCRBY", "h", "f3", "1"), C("HSET", "h", "big", "9223372036854775807"), C("HINCRBY", "h", "big", "1"),
    C("HINCRBY", "h", "ctr", "9223372036854775808"), C("HINCRBY", "nh", "x", "3"), C("HGETALL", "nh"),
    C("HINCRBYFLOAT", "h", "fl", "1.5"), C("HINCRBYFLOAT", "h", "fl", "0.1"), C("HINCRBYFLOAT", "h", "fl", "-1.6"),
    C("HINCRBYFLOAT", "h", "fl", "1e3"), C("HINCRBYFLOAT", "h", "fl", "abc"), C("HINCRBYFLOAT", "h", "fl", "inf"),
    C("HINCRBYFLOAT", "h", "f3", "1"), C("HSET", "h", "sp", " 1"), C("HINCRBYFLOAT", "h", "sp", "1"),
    C("HINCRBYFLOAT", "h", "ctr", "2.5"), C("HGET", "h", "ctr"), C("HGETALL", "h"),
    C("HINCRBYFLOAT", "fh", "fl", "1.7976931348623157e308"), C("HINCRBYFLOAT", "fh", "fl", "1.7976931348623157e308"),
    C("HGET", "fh", "fl"),
    C("SET", "str", "x"), C("HSET", "str", "a", "1"), C("HGET", "str", "a"), C("HMGET", "str", "a"),
    C("HGETALL", "str"), C("HDEL", "str", "a"), C("HLEN", "str"), C("HINCRBY", "str", "a", "1"),
    C("HINCRBYFLOAT", "str", "a", "1"), C("HSETNX", "str", "a", "1"), C("HKEYS", "str"), C("HEXISTS", "str", "a"),
    C("HSTRLEN", "str", "a"), C("HRANDFIELD", "str"), C("HSCAN", "str", "0"),
    C("HRANDFIELD", "nosuch"), C("HRANDFIELD", "nosuch", "3"), C("HRANDFIELD", "nosuch", "3", "WITHVALUES"),
    C("HRANDFIELD", "h", "0"), C("HRANDFIELD", "h", "100"), C("HRANDFIELD", "h", "100", "WITHVALUES"),
    C("HRANDFIELD", "h", "1", "WITHVALUE"), C("HRANDFIELD", "h", "x"), C("HRANDFIELD", "h", "1", "2", "3"),
    C("HRANDFIELD", "h", "-9223372036854775808"), C("HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"),
    C("HSET", "one", "only", "v"), C("HRANDFIELD", "one"), C("HRANDFIELD", "one", "-3"),
    C("HRANDFIELD", "one", "-2", "WITHVALUES"), C("HRANDFIELD", "one", "1", "WITHVALUES"),
    C("HSCAN", "h", "0"), C("HSCAN", "h", "0", "MATCH", "f*"), C("HSCAN", "h", "0", "COUNT", "1"),
    C("HSCAN", "h", "0", "COUNT", "0"), C("HSCAN", "h", "0", "COUNT", "x"), C("HSCAN", "h", "x"),
    C("HSCAN", "h", "-1"), C("HSCAN", "h", "0", "FOO"), C("HSCAN", "nosuch", "0", "FOO"), C("HSCAN", "h", "0", "MATCH"),
    C("HSCAN", "h", "18446744073709551616"), C("HSET", "h", "", ""), C("HGET", "h", ""), C("HDEL", "h", ""),
    C("HGET"), C("HGETALL"), C("HINCRBY", "h", "x"), C("HSTRLEN", "h"),
]

HASH_ENCODING = [
    C("HSET", "e", "f", "v"), C("OBJECT", "ENCODING", "e"), C("HSET", "e", "long", "x" * 65),
    C("OBJECT", "ENCODING", "e"), C("HDEL", "e", "long"), C("OBJECT", "ENCODING", "e"),
    C("HSET", "e2", "x" * 64, "y" * 64), C("OBJECT", "ENCODING", "e2"),
] + [C("HSET", "e3", "f%d" % i, "v") for i in range(513)] + [
    C("OBJECT", "ENCODING", "e3"), C("HLEN", "e3"), S("HKEYS", "e3"), S("HVALS", "e3"),
]

SETS = [
    C("SADD", "s", "3", "1", "2", "1"), C("SMEMBERS", "s"), C("SADD", "s", "3"), C("SCARD", "s"),
    C("OBJECT", "ENCODING", "s"), C("SISMEMBER", "s", "2"), C("SISMEMBER", "s", "02"), C("SISMEMBER", "nosuch", "2"),
    C("SMISMEMBER", "s", "1", "9", "3"), C("SMISMEMBER", "nosuch", "1", "2"), C("SADD", "s", "-5", "100"),
    C("SMEMBERS", "s"), C("SREM", "s", "100", "nope"), C("SREM", "s", "x"), C("SREM", "nosuch", "a"),
    C("SMEMBERS", "nosuch"), C("SCARD", "nosuch"), C("SADD", "s", "a"), C("OBJECT", "ENCODING", "s"),
    S("SMEMBERS", "s"), C("SADD", "w", "x", "y", "z"), C("OBJECT", "ENCODING", "w"), S("SMEMBERS", "w"),
    C("SREM", "w", "x", "y", "z"), C("EXISTS", "w"), C("SADD", "i1", "1", "2", "3", "4"), C("SADD", "i2", "3", "4", "5"),
    C("SADD", "i3", "4", "5", "6", "3"), C("SINTER", "i1", "i2"), C("SINTER", "i1", "i2", "i3"), C("SINTER", "i1", "nosuch"),
    C("SINTER", "nosuch"), C("SINTERCARD", "2", "i1", "i2"), C("SINTERCARD", "3", "i1", "i2", "i3", "LIMIT", "1"),
    C("SINTERCARD", "2", "i1", "i2", "LIMIT", "0"), C("SINTERCARD", "0", "i1"), C("SINTERCARD", "3", "i1", "i2"),
    C("SINTERCARD", "2", "i1", "i2", "LIMIT", "-1"), C("SINTERCARD", "2", "i1", "i2", "LIMIT"),
    C("SINTERCARD", "2", "i1", "i2", "FOO", "1"), C("SINTERCARD", "x", "i1"), C("SINTERCARD", "1", "nosuch"),
    C("SUNION", "i1", "i2", "i3"), C("SUNION", "i1", "nosuch"), C("SUNION", "nosuch"), C("SDIFF", "i1", "i2"),
    C("SDIFF", "i1", "i2", "i3"), C("SDIFF", "i1", "i1"), C("SDIFF", "nosuch", "i1"), C("SDIFF", "i1", "nosuch"),
    C("SINTERSTORE", "d", "i1", "i2"), C("SMEMBERS", "d"), C("OBJECT", "ENCODING", "d"),
    C("SUNIONSTORE", "d", "i1", "i3"), C("SMEMBERS", "d"), C("SDIFFSTORE", "d", "i1", "i3"), C("SMEMBERS", "d"),
    C("SINTERSTORE", "d", "i1", "nosuch"), C("EXISTS", "d"), C("SET", "str", "x"), C("SINTERSTORE", "str", "i1", "i2"),
    C("TYPE", "str"), C("SDIFFSTORE", "str", "nosuch"), C("EXISTS", "str"), C("SET", "str", "x"),
    C("SINTER", "i1", "str"), C("SUNION", "str", "i1"), C("SDIFF", "i1", "str"), C("SINTERCARD", "1", "str"),
    C("SADD", "str", "a"), C("SREM", "str", "a"), C("SMEMBERS", "str"), C("SCARD", "str"), C("SISMEMBER", "str", "a"),
    C("SMISMEMBER", "str", "a"), C("SPOP", "str"), C("SRANDMEMBER", "str"), C("SMOVE", "str", "i1", "a"),
    C("SMOVE", "i1", "str", "1"), C("SSCAN", "str", "0"),
    C("SMOVE", "i1", "i9", "1"), C("SMEMBERS", "i9"), C("OBJECT", "ENCODING", "i9"), C("SMOVE", "i1", "i9", "1"),
    C("SMOVE", "nosuch", "i9", "1"), C("SMOVE", "nosuch", "str", "1"), C("SMOVE", "i1", "i1", "2"),
    C("SMOVE", "i1", "i1", "9"), C("SMOVE", "i9", "i1", "1"), C("EXISTS", "i9"), C("SMEMBERS", "i1"),
    C("SPOP", "nosuch"), C("SPOP", "nosuch", "2"), C("SPOP", "i1", "0"), C("SPOP", "i1", "-1"), C("SPOP", "i1", "x"),
    C("SPOP", "i1", "1", "2"), C("SADD", "p", "a"), C("SPOP", "p"), C("EXISTS", "p"), C("SADD", "p", "1", "2", "3"),
    C("SPOP", "p", "10"), C("EXISTS", "p"), C("SADD", "p", "x", "y"), S("SPOP", "p", "5"),
    C("SRANDMEMBER", "nosuch"), C("SRANDMEMBER", "nosuch", "5"), C("SRANDMEMBER", "i1", "0"),
    C("SRANDMEMBER", "i1", "100"), C("SRANDMEMBER", "i1", "x"), C("SRANDMEMBER", "i1", "1", "2"),
    C("SADD", "one", "x"), C("SRANDMEMBER", "one"), C("SRANDMEMBER", "one", "-3"), C("SRANDMEMBER", "one", "1"),
    C("SRANDMEMBER", "i1", "-9223372036854775808"),
    C("SSCAN", "i1", "0"), C("SSCAN", "i1", "0", "MATCH", "2*"), C("SSCAN", "i1", "0", "COUNT", "1"),
    C("SSCAN", "nosuch", "0"), C("SSCAN", "i1", "abc"), C("SSCAN", "i1", "0", "COUNT", "0"),
    C("SADD", "s"), C("SREM", "s"), C("SINTER"), C("SMOVE", "a", "b"), C("SINTERSTORE", "d"),
]

SET_ENCODING = [C("SADD", "big", *[str(i) for i in range(512)]), C("OBJECT", "ENCODING", "big"),
                C("SCARD", "big"), C("SADD", "big", "512"), C("OBJECT", "ENCODING", "big"), C("SCARD", "big"),
                C("SADD", "neg", "-9223372036854775808", "9223372036854775807", "0"), C("SMEMBERS", "neg"),
                C("SADD", "neg", "9223372036854775808"), C("OBJECT", "ENCODING", "neg"), S("SMEMBERS", "neg")]

ZSETS = [
    C("ZADD", "z", "1", "a", "2", "b", "3", "c"), C("ZADD", "z", "1.5", "x"), C("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    C("ZADD", "z", "NX", "9", "a", "4", "d"), C("ZADD", "z", "XX", "9", "a", "5", "e"), C("ZADD", "z", "CH", "2", "a", "7", "f"),
    C("ZADD", "z", "GT", "1", "a", "3", "a"), C("ZADD", "z", "LT", "CH", "1", "a", "8", "b"), C("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    C("ZADD", "z", "NX", "XX", "1", "a"), C("ZADD", "z", "GT", "LT", "1", "a"), C("ZADD", "z", "NX", "GT", "1", "a"),
    C("ZADD", "z", "INCR", "1", "a", "2", "b"), C("ZADD", "z", "1"), C("ZADD", "z", "x", "a"), C("ZADD", "z", "nan", "a"),
    C("ZADD", "z", "1", "a", "2"), C("ZADD", "z", "INCR", "2.5", "a"), C("ZADD", "z", "INCR", "NX", "1", "a"),
    C("ZADD", "z", "INCR", "XX", "1", "nosuch"), C("ZADD", "z", "INCR", "GT", "-1", "a"), C("ZADD", "z", "INCR", "inf", "a"),
    C("ZADD", "z", "INCR", "-inf", "a"), C("ZSCORE", "z", "a"), C("ZADD", "z", "-inf", "m", "+inf", "n"),
    C("ZINCRBY", "z", "1", "b"), C("ZINCRBY", "z", "x", "b"), C("ZINCRBY", "z", "1", "new"), C("ZINCRBY", "nz", "3", "q"),
    C("ZSCORE", "z", "b"), C("ZSCORE", "z", "nope"), C("ZSCORE", "nosuch", "a"), C("ZMSCORE", "z", "a", "nope", "b"),
    C("ZMSCORE", "nosuch", "a"), C("ZCARD", "z"), C("ZCARD", "nosuch"), C("ZRANK", "z", "b"), C("ZREVRANK", "z", "b"),
    C("ZRANK", "z", "nope"), C("ZRANK", "nosuch", "a"), C("ZADD", "xx", "XX", "1", "a"), C("EXISTS", "xx"),
    C("ZADD", "z", "0.1", "p", "1e20", "q", "-0", "r", "123456789012345678", "s"), C("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    C("ZCOUNT", "z", "-inf", "+inf"), C("ZCOUNT", "z", "(1", "3"), C("ZCOUNT", "z", "1", "(3"), C("ZCOUNT", "z", "x", "3"),
    C("ZCOUNT", "z", "5", "1"), C("ZCOUNT", "nosuch", "1", "2"), C("ZCOUNT", "z", "(", "("), C("ZCOUNT", "z", "", ""),
    C("ZREM", "z", "m", "n", "nope"), C("ZREM", "nosuch", "a"), C("ZCARD", "z"), C("OBJECT", "ENCODING", "z"),
    C("SET", "str", "x"), C("ZADD", "str", "1", "a"), C("ZSCORE", "str", "a"), C("ZRANGE", "str", "0", "-1"),
    C("ZCARD", "str"), C("ZRANK", "str", "a"), C("ZREM", "str", "a"), C("ZINCRBY", "str", "1", "a"),
    C("ZMSCORE", "str", "a"), C("ZCOUNT", "str", "0", "1"), C("ZPOPMIN", "str"), C("ZRANDMEMBER", "str"),
    C("ZADD", "str", "x", "a"), C("ZREMRANGEBYRANK", "str", "0", "1"), C("ZSCAN", "str", "0"),
]

ZRANGES = [
    C("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
    C("ZRANGE", "z", "0", "2"), C("ZRANGE", "z", "-2", "-1"), C("ZRANGE", "z", "3", "1"), C("ZRANGE", "z", "0", "100"),
    C("ZRANGE", "z", "-100", "1"), C("ZRANGE", "z", "0", "-1", "REV"), C("ZRANGE", "z", "0", "1", "REV", "WITHSCORES"),
    C("ZRANGE", "z", "1", "3", "BYSCORE"), C("ZRANGE", "z", "(1", "(3", "BYSCORE", "WITHSCORES"),
    C("ZRANGE", "z", "3", "1", "BYSCORE", "REV"), C("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"),
    C("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"), C("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"),
    C("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "0"), C("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "9", "1"),
    C("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"), C("ZRANGE", "z", "[a", "[c", "BYLEX", "WITHSCORES"),
    C("ZRANGE", "z", "a", "c", "BYLEX"), C("ZRANGE", "z", "1", "x", "BYSCORE"), C("ZRANGE", "z", "x", "1"),
    C("ZRANGE", "z", "0", "1", "FOO"), C("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"), C("ZRANGE", "z", "0", "1", "REV", "REV"),
    C("ZRANGE", "nosuch", "0", "-1"), C("ZRANGE", "nosuch", "0", "-1", "WITHSCORES"),
    C("ZREVRANGE", "z", "0", "1"), C("ZREVRANGE", "z", "0", "1", "WITHSCORES"), C("ZREVRANGE", "z", "0", "1", "REV"),
    C("ZRANGEBYSCORE", "z", "2", "4"), C("ZRANGEBYSCORE", "z", "2", "4", "WITHSCORES", "LIMIT", "1", "1"),
    C("ZRANGEBYSCORE", "z", "2", "4", "BYSCORE"), C("ZREVRANGEBYSCORE", "z", "4", "2"), C("ZREVRANGEBYSCORE", "z", "2", "4"),
    C("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "2"),
    C("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "aa"), C("ZRANGEBYLEX", "l", "-", "+"),
    C("ZRANGEBYLEX", "l", "[b", "(d"), C("ZRANGEBYLEX", "l", "(a", "[c", "LIMIT", "1", "10"), C("ZRANGEBYLEX", "l", "+", "-"),
    C("ZRANGEBYLEX", "l", "-", "-"), C("ZRANGEBYLEX", "l", "b", "d"), C("ZRANGEBYLEX", "l", "[b", "d"),
    C("ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"), C("ZREVRANGEBYLEX", "l", "+", "-"), C("ZREVRANGEBYLEX", "l", "(d", "[b"),
    C("ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "2", "2"), C("ZLEXCOUNT", "l", "-", "+"), C("ZLEXCOUNT", "l", "[aa", "(c"),
    C("ZLEXCOUNT", "l", "x", "y"), C("ZLEXCOUNT", "nosuch", "-", "+"), C("ZRANGEBYLEX", "l", "[", "(z"),
    C("ZRANGESTORE", "dst", "z", "0", "2"), C("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
    C("ZRANGESTORE", "dst", "z", "(1", "4", "BYSCORE", "LIMIT", "1", "5"), C("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
    C("ZRANGESTORE", "dst", "l", "[b", "+", "BYLEX", "REV"), C("ZRANGE", "dst", "0", "-1"),
    C("ZRANGESTORE", "dst", "z", "0", "1", "WITHSCORES"), C("ZRANGESTORE", "dst", "nosuch", "0", "-1"), C("EXISTS", "dst"),
    C("ZRANGESTORE", "dst", "z", "5", "1"), C("SET", "str", "x"), C("ZRANGESTORE", "str", "z", "0", "0"), C("TYPE", "str"),
    C("ZREMRANGEBYSCORE", "z", "(1", "2"), C("ZREMRANGEBYSCORE", "z", "x", "2"), C("ZREMRANGEBYRANK", "z", "-1", "-1"),
    C("ZREMRANGEBYRANK", "z", "5", "1"), C("ZREMRANGEBYRANK", "z", "x", "1"), C("ZRANGE", "z", "0", "-1"),
    C("ZREMRANGEBYLEX", "l", "[b", "[c"), C("ZREMRANGEBYLEX", "l", "b", "c"), C("ZRANGE", "l", "0", "-1"),
    C("ZREMRANGEBYRANK", "l", "0", "-1"), C("EXISTS", "l"), C("ZREMRANGEBYSCORE", "nosuch", "0", "1"),
]

ZPOPS = [
    C("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), C("ZPOPMIN", "z"), C("ZPOPMAX", "z"), C("ZPOPMIN", "z", "0"),
    C("ZPOPMIN", "z", "5"), C("EXISTS", "z"), C("ZPOPMIN", "nosuch"), C("ZPOPMIN", "nosuch", "2"), C("ZPOPMIN", "z", "-1"),
    C("ZPOPMIN", "z", "1", "2"), C("ZADD", "z", "1", "a", "2", "b", "3", "c"), C("ZPOPMAX", "z", "2"), C("ZPOPMIN", "z", "1"),
    C("ZADD", "m1", "1", "a", "2", "b"), C("ZMPOP", "2", "nosuch", "m1", "MIN"), C("ZMPOP", "2", "nosuch", "m1", "MAX", "COUNT", "5"),
    C("ZMPOP", "1", "m1", "MIN"), C("ZMPOP", "0", "m1", "MIN"), C("ZMPOP", "2", "m1", "MIN"), C("ZMPOP", "1", "m1", "UP"),
    C("ZMPOP", "1", "m1", "MIN", "COUNT", "0"), C("ZMPOP", "1", "m1", "MIN", "COUNT"), C("ZMPOP", "x", "m1", "MIN"),
    C("ZMPOP", "1", "m1", "MIN", "COUNT", "1", "COUNT", "1"), C("SET", "str", "x"), C("ZMPOP", "2", "str", "m1", "MIN"),
    C("ZADD", "b", "5", "q"), C("BZPOPMIN", "nosuch", "b", "0"), C("BZPOPMAX", "b", "0.01"), C("BZPOPMIN", "str", "0"),
    C("BZPOPMIN", "b", "x"), C("BZPOPMIN", "b", "-1"), C("ZADD", "b", "1", "a", "2", "b"), C("BZMPOP", "0", "1", "b", "MAX", "COUNT", "5"),
    C("BZMPOP", "x", "1", "b", "MIN"), C("BZMPOP", "0", "0", "b", "MIN"), C("BZMPOP", "0.01", "1", "nosuch", "MIN"),
    C("BZPOPMIN", "nosuch", "0.001"),
    C("ZADD", "r", "1", "a", "2", "b", "3", "c"), C("ZRANDMEMBER", "nosuch"), C("ZRANDMEMBER", "nosuch", "2"),
    C("ZRANDMEMBER", "r", "0"), C("ZRANDMEMBER", "r", "10"), C("ZRANDMEMBER", "r", "10", "WITHSCORES"),
    C("ZRANDMEMBER", "r", "1", "FOO"), C("ZRANDMEMBER", "r", "x"), C("ZADD", "one", "7", "x"), C("ZRANDMEMBER", "one"),
    C("ZRANDMEMBER", "one", "-2", "WITHSCORES"), C("ZRANDMEMBER", "one", "9223372036854775807", "WITHSCORES"),
    C("ZSCAN", "r", "0"), C("ZSCAN", "r", "0", "MATCH", "b"), C("ZSCAN", "nosuch", "0"), C("ZSCAN", "r", "x"),
    C("ZADD", "f", "0.1", "a", "1e20", "b"), C("ZSCAN", "f", "0"),
]

ZOPS = [
    C("ZADD", "a", "1", "x", "2", "y", "3", "z"), C("ZADD", "b", "10", "y", "20", "z", "30", "w"), C("SADD", "s", "z", "q"),
    C("ZUNION", "2", "a", "b"), C("ZUNION", "2", "a", "b", "WITHSCORES"), C("ZUNION", "3", "a", "b", "s", "WITHSCORES"),
    C("ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"), C("ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"),
    C("ZUNION", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"), C("ZUNION", "2", "a", "b", "AGGREGATE", "FOO"),
    C("ZUNION", "2", "a", "b", "WEIGHTS", "1"), C("ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"), C("ZUNION", "0", "a"),
    C("ZUNION", "3", "a", "b"), C("ZUNION", "x", "a"), C("ZUNION", "1", "nosuch"), C("ZINTER", "2", "a", "b", "WITHSCORES"),
    C("ZINTER", "3", "a", "b", "s", "WITHSCORES"), C("ZINTER", "2", "a", "nosuch"), C("ZINTER", "2", "a", "a", "WITHSCORES"),
    C("ZINTERCARD", "2", "a", "b"), C("ZINTERCARD", "2", "a", "b", "LIMIT", "1"), C("ZINTERCARD", "2", "a", "b", "LIMIT", "-1"),
    C("ZINTERCARD", "2", "a", "b", "WITHSCORES"), C("ZINTERCARD", "0", "a"), C("ZDIFF", "2", "a", "b", "WITHSCORES"),
    C("ZDIFF", "2", "b", "s"), C("ZDIFF", "1", "a"), C("ZDIFF", "2", "a", "b", "WEIGHTS", "1", "2"),
    C("ZUNIONSTORE", "d", "2", "a", "b"), C("ZRANGE", "d", "0", "-1", "WITHSCORES"), C("OBJECT", "ENCODING", "d"),
    C("ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"), C("ZRANGE", "d", "0", "-1", "WITHSCORES"),
    C("ZDIFFSTORE", "d", "2", "a", "b"), C("ZRANGE", "d", "0", "-1", "WITHSCORES"), C("ZINTERSTORE", "d", "2", "a", "nosuch"),
    C("EXISTS", "d"), C("ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"), C("ZUNIONSTORE", "d", "0", "a"),
    C("ZADD", "i", "inf", "x"), C("ZADD", "j", "-inf", "x"), C("ZUNION", "2", "i", "j", "WITHSCORES"),
    C("ZINTER", "2", "i", "j", "WITHSCORES"), C("ZUNION", "2", "i", "j", "WEIGHTS", "0", "1", "WITHSCORES"),
    C("SET", "str", "x"), C("ZUNION", "2", "a", "str"), C("ZINTERSTORE", "d", "1", "str"), C("ZUNIONSTORE", "str", "1", "a"),
    C("TYPE", "str"),
]


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name,steps", [
    ("hashes", HASHES), ("hash_encoding", HASH_ENCODING), ("sets", SETS), ("set_encoding", SET_ENCODING),
    ("zsets", ZSETS), ("zranges", ZRANGES), ("zpops", ZPOPS), ("zops", ZOPS)])
def test_types_differential(pair, proto, name, steps):
    diff(pair, steps, proto)


def test_blocking_zpops(pair):
    steps = [
        ("s", 0, "BZPOPMIN", "z", "5"), ("s", 1, "BZPOPMAX", "z", "other", "5"),
        ("s", 2, "BZMPOP", "5", "2", "other", "z", "MIN", "COUNT", "2"),
        ("c", 3, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("r", 0), ("r", 1), ("r", 2),
        ("c", 3, "ZRANGE", "z", "0", "-1"),
        ("s", 0, "BZPOPMIN", "q", "0.1"), ("r", 0), ("s", 0, "BZMPOP", "0.1", "1", "q", "MAX"), ("r", 0),
        # A key of another type keeps the waiter waiting; the sorted set serves it.
        ("s", 0, "BZPOPMIN", "w", "5"), ("c", 3, "RPUSH", "w", "x"), ("c", 3, "DEL", "w"),
        ("c", 3, "ZADD", "w", "7", "m"), ("r", 0),
        # A sorted set stored at the key serves it too.
        ("s", 1, "BZPOPMAX", "v", "5"), ("c", 3, "ZADD", "src", "1", "p", "2", "q"),
        ("c", 3, "ZUNIONSTORE", "v", "1", "src"), ("r", 1), ("c", 3, "ZRANGE", "v", "0", "-1"),
        # Inside MULTI nothing blocks.
        ("c", 3, "MULTI"), ("c", 3, "BZPOPMIN", "none", "0"), ("c", 3, "BZMPOP", "0", "1", "none", "MIN"), ("c", 3, "EXEC"),
    ]
    for proto in (2, 3):
        diff(pair, steps, proto, nclients=4)
