"""TLS connection I/O paths (issue 14).

Large Kafka Fetch responses: without kTLS a segment region is read in
64 KiB pieces and written through OpenSSL, a record at a time, and a socket
that stops taking bytes (WANT_WRITE) is resumed later from the same file
offset. A client with a 4 KiB receive buffer that reads in odd small pieces
forces that resume many times; the response bytes must be exactly those
the PLAINTEXT listener (sendfile) sends for the same request, and
pipelined requests must come back whole and in order.

Partial records: reads take every record the socket holds (read-ahead); a
client that sends the start of a record and waits leaves bytes in OpenSSL
that are no input yet. The server must go on serving others (it used to
re-read that connection without end) and finish the request when the rest
comes."""
import os
import random
import socket
import ssl
import struct
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_util as ku  # noqa: E402
import sluice  # noqa: E402
import tls_util  # noqa: E402

TOPIC = b"tls-fetch"


@pytest.fixture
def certs(tmp_path):
    return tls_util.make_certs(str(tmp_path / "certs"))


def fetch_v4(corr, topic, offset, max_bytes):
    body = struct.pack(">iiiib", -1, 0, 0, max_bytes, 0)
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
    body += struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, max_bytes)
    return ku.request(1, 4, corr, body)


def slow_read_response(s, rng):
    """Reads one response in small pieces of varying size."""
    def exact(n):
        out = bytearray()
        while len(out) < n:
            chunk = s.recv(min(n - len(out), rng.randint(1, 300)))
            if not chunk:
                raise EOFError("closed after %d of %d bytes" % (len(out), n))
            out += chunk
        return bytes(out)
    (size,) = struct.unpack(">i", exact(4))
    return exact(size)


def test_large_fetch_over_tls_with_a_slow_reader_is_byte_exact(tmp_path, certs):
    extra = tls_util.tls_args(certs) + [
        "--kafka.listeners=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
        "--message.max.bytes=4194304"]
    with sluice.Sluiced(data_dir=str(tmp_path / "data"), listeners=("kafka",), fsync="never",
                        extra=extra) as sl:
        rng = random.Random(14)
        plain = socket.create_connection(("127.0.0.1", sl.port("kafka")), timeout=60)
        plain.sendall(ku.metadata_v1_request(99, [TOPIC]))  # creates the topic
        ku.read_response(plain)
        # About 12 MB in batches of varied sizes, so regions start and end at
        # offsets that are not multiples of a record or of the 64 KiB piece.
        total = 0
        for corr in range(40):
            values = [os.urandom(rng.randint(100, 9000)) for _ in range(rng.randint(20, 120))]
            total += sum(len(v) for v in values)
            plain.sendall(ku.produce_v3_request(corr, TOPIC, 0, ku.record_batch(values)))
            c, parts = ku.parse_produce_v3_response(ku.read_response(plain))
            assert c == corr and parts[0][1] == 0, parts
        assert total > 8 << 20
        want = {}
        for corr, offset in ((100, 0), (101, 7)):
            plain.sendall(fetch_v4(corr, TOPIC, offset, 64 << 20))
            want[corr] = ku.read_response(plain)
            assert len(want[corr]) > total  # every record, with its framing
        plain.close()

        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(60)
        raw.connect(("127.0.0.1", sl.port("kafka.SSL")))
        s = tls_util.client_context(certs).wrap_socket(raw, server_hostname="localhost")
        # Both requests at once: the second response queues behind the
        # first while the socket is full.
        s.sendall(fetch_v4(100, TOPIC, 0, 64 << 20) + fetch_v4(101, TOPIC, 7, 64 << 20))
        for corr in (100, 101):
            got = slow_read_response(s, rng)
            assert len(got) == len(want[corr])
            assert got == want[corr]
        # The connection is still in step: a small request after them.
        s.sendall(fetch_v4(102, TOPIC, 0, 64 << 20))
        assert slow_read_response(s, rng) == want[100][:0] + struct.pack(">i", 102) + \
            want[100][4:]
        s.close()


def test_a_partial_record_does_not_stall_the_server(tmp_path, certs):
    extra = tls_util.tls_args(certs) + [
        "--kafka.listeners=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0"]
    with sluice.Sluiced(data_dir=str(tmp_path / "data"), listeners=("kafka",), fsync="never",
                        extra=extra) as sl:
        # The TLS session by hand (memory BIOs) so a record can be sent in parts.
        raw = socket.create_connection(("127.0.0.1", sl.port("kafka.SSL")), timeout=10)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = tls_util.client_context(certs).wrap_bio(inc, out, server_hostname="localhost")

        def pump_until(step):
            while True:
                try:
                    return step()
                except ssl.SSLWantReadError:
                    if out.pending:
                        raw.sendall(out.read())
                    data = raw.recv(65536)
                    assert data, "server closed"
                    inc.write(data)

        pump_until(tls.do_handshake)
        if out.pending:
            raw.sendall(out.read())
        tls.write(ku.request(18, 0, 7))  # ApiVersions v0
        record = out.read()
        assert len(record) > 8
        raw.sendall(record[:3])  # part of the record header
        other = socket.create_connection(("127.0.0.1", sl.port("kafka")), timeout=10)
        for corr in range(3):
            other.sendall(ku.request(18, 0, corr))
            assert struct.unpack(">i", ku.read_response(other)[:4])[0] == corr
        raw.sendall(record[3:len(record) // 2])  # header done, body in part
        other.sendall(ku.request(18, 0, 9))
        assert struct.unpack(">i", ku.read_response(other)[:4])[0] == 9
        raw.sendall(record[len(record) // 2:])
        buf = b""

        def read_some():
            return tls.read(65536)
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            buf += pump_until(read_some)
        assert struct.unpack(">i", buf[4:8])[0] == 7
        other.close()
        raw.close()
