"""Redis listener hardening (issue 14): an HTTP request sent to the Redis
port is closed before its body runs, as redis-server 7.0 does (the same
bytes go to Debian's redis-server and to sluiced; neither sets the key),
and protected mode refuses clients that are not on loopback when no
password is set, with Redis's DENIED text. A client connecting from
127.0.0.2 is not loopback for Redis 7.0 (it compares with 127.0.0.1 and
::1), which lets the test run without a non-loopback interface."""
import os
import socket
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402

POST = (b"POST / HTTP/1.1\r\nHost: localhost:6379\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 20\r\n\r\nSET attack1 1\r\nQUIT\r\n")
GET_HOST = (b"GET / HTTP/1.1\r\nHost: localhost:6379\r\nUser-Agent: x\r\n\r\n"
            b"SET attack2 1\r\n")


def exchange(port, data, source=None):
    """Sends data, returns every byte the server sent until it closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    if data:
        s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    s.close()
    return got


def wait_log(sl, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in sl.stderr():
            return True
        time.sleep(0.02)
    return False


def test_http_post_to_redis_port_closed_like_redis(server):
    port = server.port("resp")
    with sluice.redis_ref() as ref:
        for data, key in ((POST, "attack1"), (GET_HOST, "attack2")):
            ours = exchange(port, data)
            theirs = exchange(ref.port, data)
            assert ours == theirs, (data, ours, theirs)
            assert redis.Redis(port=port).get(key) is None
            assert redis.Redis(port=ref.port).get(key) is None
    assert wait_log(server, "Possible SECURITY ATTACK detected")
    # Logged once a minute at most, whatever the number of attempts.
    assert server.stderr().count("Possible SECURITY ATTACK detected") == 1
    # A command merely starting with the same letters is no attack.
    r = redis.Redis(port=port)
    assert r.set("posted", "1") and r.get("posted") == b"1"


def test_attack_after_commands_stops_there(server):
    """Commands before the attack line run; nothing after it does, and (as
    redis-server) not even their replies are sent."""
    port = server.port("resp")
    data = b"SET before 1\r\nhost: x\r\nSET after 1\r\n"
    with sluice.redis_ref() as ref:
        ours, theirs = exchange(port, data), exchange(ref.port, data)
        assert ours == theirs == b""
        for p in (port, ref.port):
            r = redis.Redis(port=p)
            assert r.get("before") == b"1" and r.get("after") is None


def test_protected_mode_refuses_non_loopback_like_redis(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), extra=["--bind=0.0.0.0"],
                        listeners=("resp",)) as sl, \
            sluice.redis_ref(["--bind", "0.0.0.0"]) as ref:
        ours = exchange(sl.port("resp"), b"SET k 1\r\n", source="127.0.0.2")
        theirs = exchange(ref.port, b"SET k 1\r\n", source="127.0.0.2")
        assert ours.startswith(b"-DENIED Redis is running in protected mode")
        assert ours == theirs
        # Loopback is served, and the refused SET did nothing.
        assert redis.Redis(port=sl.port("resp")).get("k") is None
        assert wait_log(sl, "refused by protected mode")


def test_protected_mode_off_or_password_serves_remote(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "a"), listeners=("resp",),
                        extra=["--bind=0.0.0.0", "--protected-mode=no"]) as sl:
        got = exchange(sl.port("resp"), b"SET k 1\r\nQUIT\r\n", source="127.0.0.2")
        assert got == b"+OK\r\n+OK\r\n"
    with sluice.Sluiced(data_dir=str(tmp_path / "b"), listeners=("resp",),
                        extra=["--bind=0.0.0.0", "--requirepass=s3cret"]) as sl:
        got = exchange(sl.port("resp"), b"AUTH s3cret\r\nSET k 1\r\nQUIT\r\n",
                       source="127.0.0.2")
        assert got == b"+OK\r\n+OK\r\n+OK\r\n"
