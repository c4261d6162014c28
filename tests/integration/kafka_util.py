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


def start_server(tmp_path, name="data", listeners=("kafka",), **kw):
    """Starts sluiced with only the Kafka listener on a fresh data dir (and
    the HTTP one when faults=True: storage failures are armed through it).
    (The data dir is created first: sluice.Sluiced writes its stderr file
    next to it.)"""
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    if kw.get("faults") and "http" not in listeners:
        listeners = tuple(listeners) + ("http",)
    return sluice.Sluiced(data_dir=str(d), listeners=listeners, **kw)


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
    return uvarint((v << 1) ^ (v >> 63))


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


# --- raw requests for the write paths no installed client exposes --------------------


def uvarint(n):
    """An unsigned varint (flexible versions' lengths and tag counts)."""
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(s):
    """A compact (flexible-version) string."""
    s = s.encode() if isinstance(s, str) else s
    return uvarint(len(s) + 1) + s


def read_uvarint(b, off):
    """(value, offset after it) of the unsigned varint at b[off]."""
    n = shift = 0
    while True:
        x = b[off]
        off += 1
        n |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return n, off


def read_cstr(b, off):
    """(text or None, offset after it) of the compact string at b[off]."""
    n, off = read_uvarint(b, off)
    if n == 0:
        return None, off
    return b[off:off + n - 1].decode(), off + n - 1


class FlexReader:
    """Reads a response body field by field (flexible versions)."""

    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.d[self.p]
            self.p += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def cstr(self):
        n = self.uvarint() - 1
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def tags(self):
        assert self.uvarint() == 0, "unexpected tagged fields"


def kstr(s):
    """A (non-compact) Kafka string; None is null."""
    if s is None:
        return struct.pack(">h", -1)
    if isinstance(s, str):
        s = s.encode()
    return struct.pack(">h", len(s)) + s


def init_producer_id_v1(corr):
    """InitProducerId v1 for an idempotent (non-transactional) producer."""
    return request(22, 1, corr, kstr(None) + struct.pack(">i", 60000))


def parse_init_producer_id_v1(resp):
    """Returns (correlation id, error code, producer id, epoch)."""
    corr, _throttle, err, pid, epoch = struct.unpack(">iihqh", resp[:20])
    return corr, err, pid, epoch


def offset_commit_v2(corr, group, topic, commits):
    """OffsetCommit v2 of a simple consumer (no generation): commits is a
    list of (partition, offset)."""
    body = kstr(group) + struct.pack(">i", -1) + kstr("") + struct.pack(">q", -1)
    body += struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", len(commits))
    for part, off in commits:
        body += struct.pack(">iq", part, off) + kstr("")
    return request(8, 2, corr, body)


def parse_offset_commit_v2(resp):
    """Returns (correlation id, {partition: error code}) of a one-topic reply."""
    (corr,) = struct.unpack(">i", resp[:4])
    pos = 4
    (nt,) = struct.unpack(">i", resp[pos:pos + 4])
    pos += 4
    out = {}
    for _ in range(nt):
        (nl,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2 + nl
        (np_,) = struct.unpack(">i", resp[pos:pos + 4])
        pos += 4
        for _ in range(np_):
            part, err = struct.unpack(">ih", resp[pos:pos + 6])
            pos += 6
            out[part] = err
    return corr, out


def incremental_alter_configs_v0(corr, topic, configs):
    """IncrementalAlterConfigs v0 SETting configs ({name: value}) of a
    topic (no installed Python client sends this API)."""
    body = struct.pack(">i", 1) + struct.pack(">b", 2) + kstr(topic)
    body += struct.pack(">i", len(configs))
    for k, v in configs.items():
        body += kstr(k) + struct.pack(">b", 0) + kstr(v)
    body += struct.pack(">b", 0)
    return request(44, 0, corr, body)


def parse_incremental_alter_configs_v0(resp):
    """Returns (correlation id, [(error code, message, resource name)])."""
    corr, _throttle, n = struct.unpack(">iii", resp[:12])
    pos = 12
    out = []
    for _ in range(n):
        (err, ml) = struct.unpack(">hh", resp[pos:pos + 4])
        pos += 4
        msg = None
        if ml >= 0:
            msg = resp[pos:pos + ml].decode()
            pos += ml
        pos += 1  # ResourceType
        (nl,) = struct.unpack(">h", resp[pos:pos + 2])
        name = resp[pos + 2:pos + 2 + nl].decode()
        pos += 2 + nl
        out.append((err, msg, name))
    return corr, out


def roundtrip(server, frame):
    """Sends one request frame on a fresh connection; returns the reply."""
    s = raw_conn(server)
    try:
        s.sendall(frame)
        return read_response(s)
    finally:
        s.close()


def producer_ids(server, topic, partition=0):
    """The ProducerId of every batch stored for a partition, in log order,
    read straight from its segment files."""
    import os
    d = os.path.join(server.data_dir, "topics", "%s-%d" % (topic, partition))
    out = []
    for name in sorted(f for f in os.listdir(d) if f.endswith(".log")):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            (blen,) = struct.unpack(">i", data[pos + 8:pos + 12])
            if blen <= 0 or data[pos + 16] != 2:
                break  # the zeroed, preallocated tail
            (pid,) = struct.unpack(">q", data[pos + 43:pos + 51])
            out.append(pid)
            pos += 12 + blen
    return out
