"""Differential tests for pub/sub (Redis 7.0 vs sluiced, RESP2 and RESP3,
raw replies): confirmations per channel, message and pmessage frames,
RESP2 subscribed-mode rules, RESP3 push frames with normal commands while
subscribed, PUBSUB introspection; and the slow-subscriber cut-off."""
import socket

import pytest

import sluice
from test_resp_lists import Raw, diff, pair  # noqa: F401


def c(i, *a):
    return ("c", i) + a


def rr(i):
    return ("rr", i)


PUBSUB = [
    c(0, "SUBSCRIBE", "news", "sport"), rr(0), c(1, "PUBLISH", "news", "hello"), rr(0),
    c(1, "PUBLISH", "nobody", "x"), c(0, "PSUBSCRIBE", "n*", "s?ort"), rr(0),
    c(1, "PUBLISH", "news", "both"), rr(0), rr(0), c(1, "PUBLISH", "sport", "goal"), rr(0), rr(0),
    c(1, "PUBSUB", "NUMSUB", "news", "sport", "none"), c(1, "PUBSUB", "NUMPAT"), ("sorted", 1, "PUBSUB", "CHANNELS"),
    ("sorted", 1, "PUBSUB", "CHANNELS", "n*"), c(1, "PUBSUB", "FOO"), c(1, "PUBSUB"), c(1, "PUBSUB", "HELP"),
    c(0, "UNSUBSCRIBE", "news"), c(0, "UNSUBSCRIBE", "nosuch"), c(0, "PUNSUBSCRIBE", "n*"),
    c(0, "SUBSCRIBE", "news"), c(0, "SUBSCRIBE", "news"), c(1, "PUBLISH", "news", "once"), rr(0),
    c(0, "UNSUBSCRIBE", "news", "sport"), rr(0), c(0, "PUNSUBSCRIBE"), c(0, "UNSUBSCRIBE"), c(0, "PUNSUBSCRIBE"),
    c(0, "GET", "x"), c(0, "PUBLISH", "news", "self"),
]

RESP2_RULES = [
    c(0, "SUBSCRIBE", "ch"), c(0, "GET", "k"), c(0, "SET", "k", "v"), c(0, "PING"), c(0, "PING", "hi"),
    c(0, "CLIENT", "GETNAME"), c(0, "NOSUCHCMD"), c(0, "PUBLISH", "ch", "x"), c(0, "MULTI"), c(0, "SUBSCRIBE", "ch2"),
    c(0, "PSUBSCRIBE", "p*"), c(0, "UNSUBSCRIBE", "ch2"), c(0, "UNSUBSCRIBE"), c(0, "PING"), c(0, "PUNSUBSCRIBE"), c(0, "PING"),
    c(0, "SUBSCRIBE", "ch"), c(0, "RESET"), c(0, "GET", "k"), c(1, "PUBLISH", "ch", "x"),
]


@pytest.mark.parametrize("proto", [2, 3])
def test_pubsub_differential(pair, proto):
    diff(pair, PUBSUB, proto, nclients=2)


@pytest.mark.parametrize("proto", [2, 3])
def test_subscribed_mode_rules(pair, proto):
    diff(pair, RESP2_RULES, proto, nclients=2)


def test_slow_subscriber_is_disconnected(tmp_path):
    # A subscriber that never reads is cut once its pending output passes
    # the limit; the publisher and another subscriber are unaffected.
    d = tmp_path / "data"
    d.mkdir()
    with sluice.Sluiced(data_dir=str(d), fsync="never", listeners=("resp",),
                        extra=["--client-output-buffer-limit-pubsub=1048576"]) as s:
        port = s.port("resp")
        slow = socket.create_connection(("127.0.0.1", port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
        good = Raw(port)
        assert good.cmd("SUBSCRIBE", "ch").startswith(b"*3\r\n$9\r\nsubscribe")
        pub = Raw(port)
        payload = b"x" * 16384
        got = 0
        cut = False
        for i in range(2000):  # 32 MiB at most; the cut comes after ~1 MiB + socket buffers
            n = pub.cmd("PUBLISH", "ch", payload)
            assert n in (b":2\r\n", b":1\r\n")
            # The good subscriber keeps reading.
            assert good.read().endswith(payload + b"\r\n")
            got += 1
            if n == b":1\r\n":
                cut = True
                break
        assert cut, "the slow subscriber was never disconnected"
        assert pub.cmd("PUBSUB", "NUMSUB", "ch") == b"*2\r\n$2\r\nch\r\n:1\r\n"
        assert pub.cmd("PING") == b"+PONG\r\n"
        info = pub.cmd("INFO", "clients")
        assert b"connected_clients:2\r\n" in info, info
        slow.close()
