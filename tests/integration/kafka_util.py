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


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_T = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def zigzag_varint(v):
    v = (v << 1) ^ (v >> 63)
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def record_batch(values, producer_id=-1, epoch=-1, base_seq=-1, ts=1_700_000_000_000):
    """An uncompressed RecordBatch v2 holding the given values (no keys)."""
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + zigzag_varint(0) + zigzag_varint(i) + zigzag_varint(-1) + \
            zigzag_varint(len(v)) + v + zigzag_varint(0)
        recs += zigzag_varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, ts, ts, producer_id, epoch,
                            base_seq, len(values)) + recs
    crc = crc32c(after_crc)
    rest = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(rest)) + rest


def produce_v3_request(corr, topic, partition, batch, acks=1):
    body = struct.pack(">h", -1) + struct.pack(">hi", acks, 30000)
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
    body += struct.pack(">i", 1) + struct.pack(">i", partition)
    body += struct.pack(">i", len(batch)) + batch
    return request(0, 3, corr, body)


def parse_produce_v3_response(resp):
    """Returns (correlation id, [(partition, error, base_offset)])."""
    corr, ntopics = struct.unpack(">ii", resp[:8])
    pos = 8
    out = []
    for _ in range(ntopics):
        (nl,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2 + nl
        (np_,) = struct.unpack(">i", resp[pos:pos + 4])
        pos += 4
        for _ in range(np_):
            part, err, base, _lat = struct.unpack(">ihqq", resp[pos:pos + 22])
            pos += 22
            out.append((part, err, base))
    return corr, out
