"""kafka-python 2.0.2 against the real sluiced: its coarse version probe
(ApiVersions v0 pipelined with Metadata v0), a producer (Produce v7), a
consumer with manual partition assignment (Fetch v4, ListOffsets v1), and
the admin client (CreateTopics v3, DeleteTopics v3)."""
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from kafka_util import bootstrap, kserver  # noqa: F401


def test_producer_and_manual_assignment_consumer(kserver):
    p = KafkaProducer(bootstrap_servers=bootstrap(kserver), acks=1, compression_type="gzip")
    futures = [p.send("kp", key=b"k%d" % i, value=b"value-%d" % i,
                      headers=[("h", b"%d" % i)]) for i in range(300)]
    offsets = [f.get(timeout=30).offset for f in futures]
    p.close()
    assert offsets == list(range(300))

    c = KafkaConsumer(bootstrap_servers=bootstrap(kserver), enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    tp = TopicPartition("kp", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 300 and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            got.extend(recs)
    assert [r.offset for r in got] == list(range(300))
    assert got[7].key == b"k7" and got[7].value == b"value-7"
    assert got[7].headers == [("h", b"7")]
    assert c.end_offsets([tp])[tp] == 300
    assert c.beginning_offsets([tp])[tp] == 0
    c.seek(tp, 295)
    tail = []
    deadline = time.monotonic() + 30
    while len(tail) < 5 and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            tail.extend(recs)
    c.close()
    assert [r.value for r in tail] == [b"value-%d" % i for i in range(295, 300)]


def test_admin_create_and_delete(kserver):
    a = KafkaAdminClient(bootstrap_servers=bootstrap(kserver))
    a.create_topics([NewTopic("kpa", num_partitions=2, replication_factor=1)])
    with pytest.raises(TopicAlreadyExistsError):
        a.create_topics([NewTopic("kpa", num_partitions=2, replication_factor=1)])
    a.create_partitions({"kpa": NewPartitions(total_count=4)})
    c = KafkaConsumer(bootstrap_servers=bootstrap(kserver))
    assert c.partitions_for_topic("kpa") == {0, 1, 2, 3}
    c.close()
    a.delete_topics(["kpa"])
    with pytest.raises(UnknownTopicOrPartitionError):
        a.delete_topics(["kpa"])
    assert "kpa" not in a.list_topics()
    a.close()
