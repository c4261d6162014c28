"""Restarts: everything acknowledged survives SIGTERM, and SIGKILL after
acks=all acknowledgements, with offsets unchanged; topic configs, the
cluster id and producer ids persist."""
import signal
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from kafka_util import bootstrap, start_server


def produce(server, topic, n, prefix, **conf):
    acked = []

    def cb(err, msg):
        assert err is None, err
        acked.append((msg.partition(), msg.offset(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap(server), "acks": "all", "linger.ms": 2, **conf})
    for i in range(n):
        p.produce(topic, value=b"%s-%d" % (prefix, i), partition=i % 2, on_delivery=cb)
        p.poll(0)
    assert p.flush(30) == 0
    return acked


def consume_all(server, topic, partitions=2, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "unused",
                  "enable.auto.commit": False})
    his = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
           for p in range(partitions)}
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < sum(his.values()) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append((m.partition(), m.offset(), m.value()))
    c.close()
    return sorted(got)


def create(server, topic, **config):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                              config=config)])[topic].result(30)
    return a.list_topics(timeout=30).cluster_id


def test_sigterm_restart_keeps_data_and_config(tmp_path):
    s = start_server(tmp_path)
    try:
        cid = create(s, "rs", **{"message.timestamp.type": "LogAppendTime"})
        before = time.time() * 1000
        acked = produce(s, "rs", 1000, b"a")
        s.restart(signal.SIGTERM)
        assert consume_all(s, "rs") == sorted(acked)
        a = AdminClient({"bootstrap.servers": bootstrap(s)})
        assert a.list_topics(timeout=30).cluster_id == cid
        res = ConfigResource("topic", "rs")
        assert a.describe_configs([res])[res].result(30)["message.timestamp.type"].value == \
            "LogAppendTime"
        # LogAppendTime: the broker's clock, not the producer's timestamp.
        c = Consumer({"bootstrap.servers": bootstrap(s), "group.id": "unused",
                      "enable.auto.commit": False})
        c.assign([TopicPartition("rs", 0, 0)])
        m = None
        deadline = time.monotonic() + 30
        while m is None and time.monotonic() < deadline:
            m = c.poll(0.5)
        c.close()
        ts_type, ts = m.timestamp()
        assert ts_type == 2  # TIMESTAMP_LOG_APPEND_TIME
        assert before - 1000 <= ts <= time.time() * 1000 + 1000
        # Appends continue at the right offsets after the restart.
        more = produce(s, "rs", 10, b"b")
        assert sorted(o for p, o, _ in more if p == 0) == list(range(500, 505))
    finally:
        s.stop()


def test_sigkill_after_acks_all_loses_nothing(tmp_path):
    s = start_server(tmp_path, fsync="always")
    try:
        create(s, "rk")
        acked = produce(s, "rk", 2000, b"k", **{"enable.idempotence": True})
        assert len(acked) == 2000
        s.kill()
        s.start()
        got = consume_all(s, "rk")
        assert got == sorted(acked)
        # The idempotent producer restarts its sequences with a new id.
        more = produce(s, "rk", 20, b"after", **{"enable.idempotence": True})
        assert sorted(o for p, o, _ in more if p == 1) == list(range(1000, 1010))
    finally:
        s.stop()
