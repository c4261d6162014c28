"""DeleteTopics removes the groups' committed offsets of the topic (as Kafka
does): a topic created again under the same name is read from its start by
an old group, not from the deleted topic's offsets, also after a restart."""
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient


def bootstrap(s):
    return "127.0.0.1:%d" % s.port("kafka")


def produce(s, topic, values):
    p = Producer({"bootstrap.servers": bootstrap(s)})
    for v in values:
        p.produce(topic, v, partition=0)
    assert p.flush(30) == 0


def committed(s, group):
    a = KafkaAdminClient(bootstrap_servers=bootstrap(s))
    try:
        return {(tp.topic, tp.partition): m.offset
                for tp, m in a.list_consumer_group_offsets(group).items()}
    finally:
        a.close()


def test_delete_topic_drops_committed_offsets(server):
    admin = AdminClient({"bootstrap.servers": bootstrap(server)})
    admin.create_topics([NewTopic("dt", 1, 1), NewTopic("keep", 1, 1)])["dt"].result(30)
    produce(server, "dt", [b"old%d" % i for i in range(5)])
    # Simple commits (no membership): offset 4 on dt, 1 on keep.
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "g1"})
    c.commit(offsets=[TopicPartition("dt", 0, 4), TopicPartition("keep", 0, 1)],
             asynchronous=False)
    c.close()
    assert committed(server, "g1") == {("dt", 0): 4, ("keep", 0): 1}

    admin.delete_topics(["dt"])["dt"].result(30)
    assert committed(server, "g1") == {("keep", 0): 1}
    server.restart()
    assert committed(server, "g1") == {("keep", 0): 1}

    admin = AdminClient({"bootstrap.servers": bootstrap(server)})
    admin.create_topics([NewTopic("dt", 1, 1)])["dt"].result(30)
    produce(server, "dt", [b"new%d" % i for i in range(6)])
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "g1",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition("dt", 0, -1001)])  # the group's committed offset, if any
    got = []
    for _ in range(100):
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m.value())
        if len(got) == 6:
            break
    c.close()
    assert got == [b"new%d" % i for i in range(6)]
