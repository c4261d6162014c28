"""Another protocol's client on the wrong port (issue 19): the server logs
once per connection, at info, with the peer and a hint of what the bytes
look like; a Kafka request refused for an unsupported API or version says
so with the peer. The log is polled (with a deadline) as the server writes
it."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402


def send(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    local = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    return local


def wait_log(sl, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in sl.stderr():
            return True
        time.sleep(0.02)
    return False


def kafka_request(key, version):
    hdr = struct.pack(">hhih", key, version, 7, 3) + b"cli"
    return struct.pack(">i", len(hdr)) + hdr


def test_wrong_protocol_on_each_listener_is_named(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "d")) as sl:
        peer = send(sl.port("kafka"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_log(sl, "kafka: %s: looks like an HTTP request on the Kafka listener" % peer)
        peer = send(sl.port("kafka"), b"*1\r\n$4\r\nPING\r\n")
        assert wait_log(sl, "kafka: %s: looks like a Redis command on the Kafka listener" % peer)
        b = socket.create_connection(("127.0.0.1", sl.port("beanstalk")), timeout=5)
        b.sendall(kafka_request(18, 3))
        peer = "127.0.0.1:%d" % b.getsockname()[1]
        assert wait_log(sl, "beanstalk: %s: looks like a Kafka request on the beanstalkd listener" % peer)
        b.close()
        r = socket.create_connection(("127.0.0.1", sl.port("resp")), timeout=5)
        r.sendall(kafka_request(18, 3))
        peer = "127.0.0.1:%d" % r.getsockname()[1]
        assert wait_log(sl, "resp: %s: looks like a Kafka request on the Redis listener" % peer)
        r.close()
        peer = send(sl.port("resp"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_log(sl, "resp: %s: looks like an HTTP request on the Redis listener" % peer)
        peer = send(sl.port("kafka"), kafka_request(9999, 0))
        assert wait_log(sl, "kafka: %s: unsupported API key 9999 (v0), closing" % peer)
        peer = send(sl.port("kafka"), kafka_request(3, 99))
        assert wait_log(sl, "kafka: %s: Metadata v99 not supported (v0..v12 are), closing" % peer)
