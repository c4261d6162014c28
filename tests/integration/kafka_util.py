"""Helpers shared by the Kafka integration tests: raw-socket requests for
the bad-input tests and small utilities. Real clients do everything else."""
import socket
import struct

import pytest

import sluice


def bootstrap(server):
    return "127.0.0.1:%d" % server.port("kafka")


def raw_conn(server, timeout=10):
    s = socket.create_connection(("127.0.0.1", server.port("kafka")), timeout=timeout)
    return s


def request(api_key, version, corr, body=b"", client_id=b"raw"):
    hdr = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    payload = hdr + body
    return struct.pack(">i", len(payload)) + payload


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def read_response(s):
    (size,) = struct.unpack(">i", recv_exact(s, 4))
    return recv_exact(s, size)


def is_closed(s, timeout=10):
    """True when the peer closed the connection (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def metadata_v1_request(corr, topics=None):
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics))
        for t in topics:
            body += struct.pack(">h", len(t)) + t
    return request(3, 1, corr, body)


def start_server(tmp_path, name="data", **kw):
    """Starts sluiced with only the Kafka listener on a fresh data dir.
    (The data dir is created first: sluice.Sluiced writes its stderr file
    next to it.)"""
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    return sluice.Sluiced(data_dir=str(d), listeners=("kafka",), **kw)


@pytest.fixture
def kserver(tmp_path):
    s = start_server(tmp_path)
    yield s
    if s.proc is not None:
        s.stop()


def first_batch_codec(server, topic, partition=0):
    """The codec bits of the first RecordBatch stored for a partition, read
    straight from its first segment file."""
    import os
    import struct as st
    path = os.path.join(server.data_dir, "topics", "%s-%d" % (topic, partition),
                        "%020d.log" % 0)
    with open(path, "rb") as f:
        hdr = f.read(61)
    assert hdr[16] == 2, "magic"
    (attrs,) = st.unpack(">h", hdr[21:23])
    return attrs & 7
