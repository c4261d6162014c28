"""Bad input on the Kafka port: truncated frames, wrong lengths, oversized
requests, corrupt batches, unknown API keys and versions. Each gets the
protocol's error or a closed connection; a healthy connection opened
before keeps working, and the server exits cleanly (no sanitizer report)."""
import struct

import pytest

from kafka_util import (crc32c, is_closed, kserver, metadata_v1_request,  # noqa: F401
                        parse_produce_v3_response, produce_v3_request, raw_conn,
                        read_response, record_batch, recv_exact, request)


def healthy_roundtrip(s, corr):
    s.sendall(metadata_v1_request(corr))
    resp = read_response(s)
    assert struct.unpack(">i", resp[:4])[0] == corr


def ensure_topic(s, name):
    """Creates a topic the way clients do: Metadata (v1 always allows
    auto-creation); Produce itself never creates one, as in Kafka."""
    s.sendall(metadata_v1_request(99, [name]))
    assert struct.unpack(">i", read_response(s)[:4])[0] == 99


@pytest.fixture
def healthy(kserver):
    s = raw_conn(kserver)
    healthy_roundtrip(s, 1)
    yield s
    healthy_roundtrip(s, 2)
    s.close()


def test_truncated_frame_then_hangup(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(struct.pack(">i", 100) + b"\x00\x03\x00\x01\x00\x00")
    s.close()


def test_frame_too_short_closes(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(struct.pack(">i", 5) + b"\x00" * 5)
    assert is_closed(s)


def test_negative_length_closes(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(struct.pack(">i", -20) + b"\x00" * 16)
    assert is_closed(s)


def test_oversized_request_closes_before_body(kserver, healthy):
    s = raw_conn(kserver)
    # Just the size field: the server must not wait for 200 MB to arrive.
    s.sendall(struct.pack(">i", 200 * 1024 * 1024))
    assert is_closed(s)


def test_inner_length_beyond_frame_closes(kserver, healthy):
    s = raw_conn(kserver)
    body = struct.pack(">i", 1) + struct.pack(">h", 5000) + b"abc"
    s.sendall(request(3, 1, 7, body))
    assert is_closed(s)


def test_huge_array_count_closes(kserver, healthy):
    s = raw_conn(kserver)
    body = struct.pack(">i", 0x7FFFFFF0)
    s.sendall(request(3, 1, 7, body))
    assert is_closed(s)


def test_unknown_api_key_closes(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(request(999, 0, 7))
    assert is_closed(s)


def test_unsupported_version_closes(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(request(3, 99, 7, struct.pack(">i", -1)))
    assert is_closed(s)


def test_apiversions_too_new_gets_v0_error(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(request(18, 77, 9))
    resp = read_response(s)
    corr, err, n = struct.unpack(">ihi", resp[:10])
    assert (corr, err, n) == (9, 35, 1)
    assert struct.unpack(">hhh", resp[10:16]) == (18, 0, 3)
    assert len(resp) == 16
    # The connection stays usable: the client retries lower.
    s.sendall(request(18, 0, 10))
    resp = read_response(s)
    assert struct.unpack(">ih", resp[:6]) == (10, 0)


def test_bad_crc_batch_is_corrupt_message(kserver, healthy):
    s = raw_conn(kserver)
    ensure_topic(s, b"crc")
    good = record_batch([b"one", b"two"])
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    s.sendall(produce_v3_request(3, b"crc", 0, bytes(bad)))
    corr, parts = parse_produce_v3_response(read_response(s))
    assert corr == 3 and parts == [(0, 2, -1)]
    s.sendall(produce_v3_request(4, b"crc", 0, good))
    corr, parts = parse_produce_v3_response(read_response(s))
    assert corr == 4 and parts == [(0, 0, 0)]
    # Nothing of the corrupt batch was stored: the next batch is at offset 2.
    s.sendall(produce_v3_request(5, b"crc", 0, record_batch([b"three"])))
    assert parse_produce_v3_response(read_response(s))[1] == [(0, 0, 2)]


def test_two_batches_and_truncated_batch_are_rejected(kserver, healthy):
    s = raw_conn(kserver)
    b = record_batch([b"x"])
    ensure_topic(s, b"multi")
    s.sendall(produce_v3_request(3, b"multi", 0, b + b))
    assert parse_produce_v3_response(read_response(s))[1] == [(0, 87, -1)]
    s.sendall(produce_v3_request(4, b"multi", 0, b[:-3]))
    assert parse_produce_v3_response(read_response(s))[1] == [(0, 2, -1)]


def test_bad_acks_and_unknown_partition(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(produce_v3_request(3, b"acks", 0, record_batch([b"x"]), acks=2))
    assert parse_produce_v3_response(read_response(s))[1] == [(0, 21, -1)]
    s.sendall(produce_v3_request(4, b"acks", 7, record_batch([b"x"])))
    assert parse_produce_v3_response(read_response(s))[1] == [(7, 3, -1)]


def test_produce_never_creates_a_topic(kserver, healthy):
    s = raw_conn(kserver)
    s.sendall(produce_v3_request(3, b"nosuch", 0, record_batch([b"x"])))
    assert parse_produce_v3_response(read_response(s)) == (3, [(0, 3, -1)])
    s.sendall(metadata_v1_request(4))  # every topic, creates nothing
    assert b"nosuch" not in read_response(s)


def test_message_too_large(tmp_path):
    from kafka_util import start_server
    s = start_server(tmp_path, extra=["--message.max.bytes=1000"])
    try:
        c = raw_conn(s)
        ensure_topic(c, b"big")
        c.sendall(produce_v3_request(3, b"big", 0, record_batch([b"v" * 2000])))
        assert parse_produce_v3_response(read_response(c))[1] == [(0, 10, -1)]
    finally:
        s.stop()


def test_produce_v2_is_unsupported_version(kserver, healthy):
    s = raw_conn(kserver)
    body = struct.pack(">hi", 1, 1000) + struct.pack(">i", 1) + struct.pack(">h", 2) + b"p2"
    body += struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", 0)
    s.sendall(request(0, 2, 5, body))
    resp = read_response(s)
    corr, nt, nl = struct.unpack(">iih", resp[:10])
    assert (corr, nt, nl) == (5, 1, 2)
    np_, part, err = struct.unpack(">iih", resp[12:22])
    assert (np_, part, err) == (1, 0, 35)


def test_idempotent_duplicate_and_gap(kserver, healthy):
    s = raw_conn(kserver)
    ensure_topic(s, b"idem")
    # InitProducerId v0: null transactional id.
    s.sendall(request(22, 0, 1, struct.pack(">hi", -1, 60000)))
    resp = read_response(s)
    corr, _thr, err, pid, epoch = struct.unpack(">iihqh", resp)
    assert err == 0 and pid >= 0 and epoch == 0
    b0 = record_batch([b"a", b"b"], pid, epoch, 0)
    b1 = record_batch([b"c"], pid, epoch, 2)
    gap = record_batch([b"z"], pid, epoch, 9)
    for corr, b, want in [(2, b0, (0, 0, 0)), (3, b1, (0, 0, 2)), (4, b0, (0, 0, 0)),
                          (5, b1, (0, 0, 2)), (6, gap, (0, 45, -1))]:
        s.sendall(produce_v3_request(corr, b"idem", 0, b))
        assert parse_produce_v3_response(read_response(s)) == (corr, [want])
    # Duplicates were not appended: the next batch lands at offset 3.
    s.sendall(produce_v3_request(7, b"idem", 0, record_batch([b"d"], pid, epoch, 3)))
    assert parse_produce_v3_response(read_response(s))[1] == [(0, 0, 3)]


def test_pipelined_requests_answered_in_order(kserver, healthy):
    s = raw_conn(kserver)
    reqs = b""
    for i in range(50):
        if i % 3 == 0:
            reqs += produce_v3_request(i, b"pipe", 0, record_batch([b"%d" % i]), acks=-1)
        elif i % 3 == 1:
            reqs += request(18, 0, i)
        else:
            reqs += metadata_v1_request(i, [b"pipe"])
    s.sendall(reqs)
    for i in range(50):
        resp = read_response(s)
        assert struct.unpack(">i", resp[:4])[0] == i


def test_fetch_v3_is_unsupported_version(kserver, healthy):
    s = raw_conn(kserver)
    body = struct.pack(">iiii", -1, 100, 1, 1 << 20) + struct.pack(">i", 1)
    body += struct.pack(">h", 2) + b"f3" + struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1 << 20)
    s.sendall(request(1, 3, 6, body))
    resp = read_response(s)
    corr, thr, nt, nl = struct.unpack(">iiih", resp[:14])
    assert (corr, thr, nt, nl) == (6, 0, 1, 2)
    np_, part, err, hw, rlen = struct.unpack(">iihqi", resp[16:38])
    assert (np_, part, err, hw, rlen) == (1, 0, 35, -1, 0)
    assert len(resp) == 38
