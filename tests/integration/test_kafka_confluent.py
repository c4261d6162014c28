"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against the real
sluiced: every codec, acks 0/1/all, the idempotent producer, the
AdminClient (create/delete topics, create partitions, describe configs),
and consumers that assign partitions and seek by timestamp."""
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from kafka_util import bootstrap, first_batch_codec, kserver  # noqa: F401


def produce_all(server, topic, msgs, **conf):
    errors = []
    delivered = []

    def cb(err, msg):
        if err:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap(server), "linger.ms": 5, **conf})
    for i, m in enumerate(msgs):
        p.produce(topic, value=m, key=b"k%d" % i, on_delivery=cb)
        p.poll(0)
    assert p.flush(30) == 0
    assert errors == []
    return delivered


def consume_assigned(server, topic, partition, count, start=0, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "unused",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, partition, start)])
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        out.append((m.offset(), m.key(), m.value()))
    c.close()
    return out


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_each_codec_round_trips(kserver, codec):
    topic = "codec-" + codec
    # Compressible 4 KiB values so librdkafka really compresses the batch.
    msgs = [(b"%06d" % i) * 700 for i in range(200)]
    delivered = produce_all(kserver, topic, msgs, **{"compression.codec": codec})
    assert sorted(o for _, o, _ in delivered) == list(range(200))
    got = consume_assigned(kserver, topic, 0, 200)
    assert [v for _, _, v in got] == msgs
    assert [o for o, _, _ in got] == list(range(200))
    assert got[5][1] == b"k5"
    # Stored as received: the first stored batch carries the producer's codec.
    # librdkafka 2.0.2 enables lz4 only when FindCoordinator v0 is advertised
    # (its feature probe), which the consumer-group APIs do.
    expect = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[codec]
    assert first_batch_codec(kserver, topic) == expect


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(kserver, acks):
    topic = "acks-" + acks
    msgs = [b"m%d" % i for i in range(500)]
    delivered = produce_all(kserver, topic, msgs, acks=acks)
    assert len(delivered) == 500
    if acks != "0":
        # With acks=0 librdkafka reports offset -1 (no response).
        assert sorted(o for _, o, _ in delivered) == list(range(500))
    got = consume_assigned(kserver, topic, 0, 500)
    assert [v for _, _, v in got] == msgs


def test_idempotent_producer_runs_clean(kserver):
    msgs = [b"idem-%d" % i for i in range(3000)]
    delivered = produce_all(kserver, "idem", msgs, **{"enable.idempotence": True,
                                                      "linger.ms": 1, "batch.num.messages": 50})
    assert sorted(o for _, o, _ in delivered) == list(range(3000))
    got = consume_assigned(kserver, "idem", 0, 3000)
    assert [v for _, _, v in got] == msgs


def test_admin_create_describe_partitions_delete(kserver):
    a = AdminClient({"bootstrap.servers": bootstrap(kserver)})
    fs = a.create_topics([NewTopic("adm", num_partitions=3, replication_factor=1,
                                   config={"retention.ms": "3600000"})])
    fs["adm"].result(30)
    fs = a.create_topics([NewTopic("adm", num_partitions=1, replication_factor=1)])
    with pytest.raises(KafkaException) as ei:
        fs["adm"].result(30)
    assert ei.value.args[0].name() == "TOPIC_ALREADY_EXISTS"
    md = a.list_topics(timeout=30)
    assert len(md.topics["adm"].partitions) == 3

    res = ConfigResource("topic", "adm")
    cfg = a.describe_configs([res])[res].result(30)
    assert cfg["retention.ms"].value == "3600000"
    assert not cfg["retention.ms"].is_default
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["cleanup.policy"].is_default

    a.create_partitions([NewPartitions("adm", 5)])["adm"].result(30)
    md = a.list_topics(timeout=30)
    assert len(md.topics["adm"].partitions) == 5
    # The new partitions take data.
    p = Producer({"bootstrap.servers": bootstrap(kserver)})
    p.produce("adm", value=b"to-4", partition=4)
    assert p.flush(30) == 0
    assert consume_assigned(kserver, "adm", 4, 1)[0][2] == b"to-4"

    a.delete_topics(["adm"])["adm"].result(30)
    md = a.list_topics(timeout=30)
    assert "adm" not in md.topics
    with pytest.raises(KafkaException):
        a.delete_topics(["adm"])["adm"].result(30)


def test_create_topic_rejects_bad_replication_and_config(kserver):
    a = AdminClient({"bootstrap.servers": bootstrap(kserver)})
    fs = a.create_topics([NewTopic("rf3", num_partitions=1, replication_factor=3)])
    with pytest.raises(KafkaException) as ei:
        fs["rf3"].result(30)
    assert ei.value.args[0].name() == "INVALID_REPLICATION_FACTOR"
    fs = a.create_topics([NewTopic("badcfg", num_partitions=1, replication_factor=1,
                                   config={"no.such.config": "1"})])
    with pytest.raises(KafkaException) as ei:
        fs["badcfg"].result(30)
    assert ei.value.args[0].name() == "INVALID_CONFIG"


def test_consume_by_offsets_for_times(kserver):
    p = Producer({"bootstrap.servers": bootstrap(kserver)})
    base = 1_700_000_000_000
    for i in range(30):
        p.produce("times", value=b"t%d" % i, timestamp=base + i * 1000)
        p.flush(30)  # one batch per message, so each has its own MaxTimestamp
    c = Consumer({"bootstrap.servers": bootstrap(kserver), "group.id": "unused",
                  "enable.auto.commit": False})
    offs = c.offsets_for_times([TopicPartition("times", 0, base + 20 * 1000)], timeout=30)
    assert offs[0].offset == 20
    offs = c.offsets_for_times([TopicPartition("times", 0, base + 10**9)], timeout=30)
    assert offs[0].offset == -1
    lo, hi = c.get_watermark_offsets(TopicPartition("times", 0), timeout=30)
    assert (lo, hi) == (0, 30)
    c.assign([TopicPartition("times", 0, 20)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append((m.offset(), m.value(), m.timestamp()[1]))
    c.close()
    assert [g[0] for g in got] == list(range(20, 30))
    assert got[0][1] == b"t20" and got[0][2] == base + 20_000


def test_long_poll_fetch_is_woken_by_produce(kserver):
    c = Consumer({"bootstrap.servers": bootstrap(kserver), "group.id": "unused",
                  "fetch.wait.max.ms": 5000, "enable.auto.commit": False})
    p = Producer({"bootstrap.servers": bootstrap(kserver)})
    p.produce("wake", value=b"first")
    p.flush(30)
    c.assign([TopicPartition("wake", 0, 1)])
    c.poll(1.0)  # let the consumer reach the end and park its fetch
    p.produce("wake", value=b"second")
    p.flush(30)
    m = None
    deadline = time.monotonic() + 30
    while m is None and time.monotonic() < deadline:
        m = c.poll(0.5)
    c.close()
    assert m is not None and m.value() == b"second" and m.offset() == 1
