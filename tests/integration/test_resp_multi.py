"""Differential tests for MULTI / EXEC / DISCARD / WATCH (Redis 7.0 vs
sluiced, RESP2 and RESP3, raw replies): queueing, EXECABORT after a
queue-time error, runtime errors inside EXEC, WATCH invalidated by another
client, by expiry and by deletion, blocking commands that return at once
inside a transaction, and blocked clients served only after EXEC."""
import pytest

from test_resp_lists import diff, pair  # noqa: F401


def c(i, *a):
    return ("c", i) + a


MULTI = [
    c(0, "MULTI"), c(0, "SET", "a", "1"), c(0, "INCR", "a"), c(0, "LPUSH", "a", "x"), c(0, "RPUSH", "l", "1", "2"),
    c(0, "LPOP", "l"), c(0, "GET", "a"), c(0, "EXEC"),
    c(0, "EXEC"), c(0, "DISCARD"), c(0, "MULTI"), c(0, "MULTI"), c(0, "SET", "b", "1"), c(0, "DISCARD"), c(0, "GET", "b"),
    c(0, "MULTI"), c(0, "SET", "b", "1"), c(0, "NOSUCH"), c(0, "GET"), c(0, "EXEC"), c(0, "GET", "b"),
    c(0, "MULTI"), c(0, "WATCH", "x"), c(0, "PING"), c(0, "EXEC"), c(0, "MULTI"), c(0, "EXEC"),
    c(0, "MULTI"), c(0, "BLPOP", "empty", "0"), c(0, "BRPOPLPUSH", "empty", "d", "0"),
    c(0, "BLMOVE", "empty", "d", "LEFT", "LEFT", "0"), c(0, "BLMPOP", "0", "1", "empty", "LEFT"), c(0, "EXEC"),
    c(0, "MULTI"), c(0, "RPUSH", "q", "v"), c(0, "BLPOP", "q", "0"), c(0, "EXEC"),
    c(0, "MULTI"), c(0, "UNWATCH"), c(0, "EXEC"), c(0, "MULTI"), c(0, "RESET"), c(0, "EXEC"),
]

WATCH = [
    c(0, "SET", "w", "1"), c(0, "WATCH", "w"), c(1, "SET", "w", "2"), c(0, "MULTI"), c(0, "SET", "w", "3"),
    c(0, "EXEC"), c(0, "GET", "w"),
    c(0, "WATCH", "w"), c(0, "MULTI"), c(0, "SET", "w", "3"), c(0, "EXEC"), c(0, "GET", "w"),
    c(0, "WATCH", "w", "nosuch"), c(1, "RPUSH", "nosuch", "x"), c(0, "MULTI"), c(0, "GET", "w"), c(0, "EXEC"),
    c(0, "WATCH", "w"), c(1, "DEL", "w"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "SET", "w", "1"), c(0, "WATCH", "w"), c(1, "EXPIRE", "w", "100"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "WATCH", "w"), c(0, "UNWATCH"), c(1, "SET", "w", "9"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "WATCH", "w"), c(1, "GET", "w"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "SET", "e", "v", "PX", "50"), c(0, "WATCH", "e"), ("sleep", 0.1), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "RPUSH", "wl", "a"), c(0, "WATCH", "wl"), c(1, "LPOP", "wl"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "WATCH", "st"), c(1, "XADD", "st", "1-1", "f", "v"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "WATCH", "st"), c(1, "XTRIM", "st", "MAXLEN", "0"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
    c(0, "WATCH", "st"), c(1, "XLEN", "st"), c(0, "MULTI"), c(0, "PING"), c(0, "EXEC"),
]

SERVED_AFTER_EXEC = [
    ("s", 0, "BLPOP", "q", "5"), c(1, "MULTI"), c(1, "RPUSH", "q", "a", "b"), c(1, "LPOP", "q"), c(1, "EXEC"),
    ("r", 0), c(1, "LLEN", "q"),
    ("s", 0, "BLPOP", "q2", "0.3"), c(1, "MULTI"), c(1, "RPUSH", "q2", "a"), c(1, "LPOP", "q2"), c(1, "EXEC"), ("r", 0),
    # Several of a waiter's keys get data in one transaction: it is served
    # from the key that became ready first.
    ("s", 0, "BLPOP", "k1", "k2", "5"), c(1, "MULTI"), c(1, "RPUSH", "k2", "x"), c(1, "RPUSH", "k1", "y"),
    c(1, "EXEC"), ("r", 0), c(1, "LRANGE", "k1", "0", "-1"),
    ("s", 0, "BLMPOP", "5", "2", "m1", "m2", "LEFT", "COUNT", "5"), c(1, "MULTI"), c(1, "RPUSH", "m2", "a", "b"),
    c(1, "RPUSH", "m1", "c"), c(1, "EXEC"), ("r", 0),
    ("s", 0, "BRPOP", "z1", "z2", "5"), c(1, "MULTI"), c(1, "RPUSH", "z1", "1"), c(1, "RPUSH", "z2", "2"),
    c(1, "EXEC"), ("r", 0),
]


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name,steps,n", [("multi", MULTI, 1), ("watch", WATCH, 2),
                                          ("served_after_exec", SERVED_AFTER_EXEC, 2)])
def test_multi_differential(pair, proto, name, steps, n):
    diff(pair, steps, proto, nclients=n)
