"""ListOffsets by timestamp to the exact record (issue 17), with
confluent-kafka-python's offsets_for_times on multi-record batches,
uncompressed and with every codec: the answer is the first record at or
after the time inside the batch, with that record's own timestamp, and
max-timestamp (-3, ListOffsets v7) names the record holding the maximum.
(Kept beside the transaction tests: same issue, same owner.)"""
import struct
import socket

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_util import bootstrap, kserver, read_response, request, uvarint  # noqa: F401


def produce_one_batch(server, topic, stamps, codec):
    """One batch (linger, one flush) of len(stamps) records with the given
    CreateTime timestamps."""
    p = Producer({"bootstrap.servers": bootstrap(server), "linger.ms": 1000,
                  "batch.num.messages": 10000, "compression.codec": codec})
    for i, ts in enumerate(stamps):
        p.produce(topic, value=(b"%04d" % i) * 50, partition=0, timestamp=ts)
    assert p.flush(30) == 0


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_offsets_for_times_inside_a_batch(kserver, codec):
    topic = "times-" + codec
    base = 1_700_000_000_000
    stamps = [base + 1000 * i for i in range(10)]
    stamps[6] = base + 50_000  # the batch's maximum, not its last record
    produce_one_batch(kserver, topic, stamps, codec)
    c = Consumer({"bootstrap.servers": bootstrap(kserver), "group.id": "t"})
    try:
        def lookup(ts):
            return c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=30)[0].offset
        assert lookup(base) == 0
        assert lookup(base + 1) == 1          # inside the batch, not its first offset
        assert lookup(base + 4000) == 4
        assert lookup(base + 4500) == 5
        assert lookup(base + 7000) == 6       # 6 holds 50 s, the first at or after 7 s
        assert lookup(base + 50_000) == 6
        assert lookup(base + 50_001) == -1    # past everything: end
    finally:
        c.close()


def list_offsets_v7(server, topic, ts):
    """Raw ListOffsets v7 (flexible): (error, timestamp, offset)."""
    t = topic.encode()
    body = struct.pack(">ib", -1, 0) + uvarint(2) + uvarint(len(t) + 1) + t + uvarint(2) + \
        struct.pack(">iiq", 0, -1, ts) + b"\x00" + b"\x00" + b"\x00"
    hdr = struct.pack(">hhih", 2, 7, 9, 3) + b"raw" + b"\x00"
    s = socket.create_connection(("127.0.0.1", server.port("kafka")), timeout=10)
    try:
        payload = hdr + body
        s.sendall(struct.pack(">i", len(payload)) + payload)
        r = read_response(s)
    finally:
        s.close()
    # corr, header tags, throttle, topics(1), name, partitions(1), index
    pos = 4 + 1 + 4 + 1
    nlen = r[pos] - 1
    pos += 1 + nlen + 1 + 4
    err, rts, off = struct.unpack(">hqq", r[pos:pos + 18])
    return err, rts, off


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_max_timestamp_names_the_exact_record(kserver, codec):
    topic = "maxts-" + codec
    base = 1_700_000_000_000
    stamps = [base + i for i in range(8)]
    stamps[3] = base + 99_000
    produce_one_batch(kserver, topic, stamps, codec)
    assert list_offsets_v7(kserver, topic, -3) == (0, base + 99_000, 3)
    assert list_offsets_v7(kserver, topic, base + 2) == (0, base + 2, 2)
