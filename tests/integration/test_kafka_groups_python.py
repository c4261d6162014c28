"""kafka-python 2.0.2's group consumer against the real sluiced:
FindCoordinator v0, JoinGroup v2 (no MEMBER_ID_REQUIRED round trip),
SyncGroup/Heartbeat/LeaveGroup v1, OffsetCommit v2, OffsetFetch v1; and
its admin client's group calls (ListGroups, DescribeGroups, OffsetFetch,
DeleteGroups)."""
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener

import sluice

FLAGS = ["--group.initial.rebalance.delay.ms=300", "--group.min.session.timeout.ms=1000"]


class Listener(ConsumerRebalanceListener):
    def __init__(self):
        self.assigned = None

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        self.assigned = sorted(tp.partition for tp in assigned)


class Member:
    def __init__(self, bs, group, topic):
        self.c = KafkaConsumer(bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                               enable_auto_commit=True, auto_commit_interval_ms=200,
                               session_timeout_ms=6000, heartbeat_interval_ms=300)
        self.listener = Listener()
        self.c.subscribe([topic], listener=self.listener)
        self.values = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            for recs in self.c.poll(timeout_ms=200).values():
                self.values += [r.value.decode() for r in recs]

    def close(self):
        self.stop = True
        self.t.join(timeout=30)
        self.c.close()  # commits what it consumed


def wait_for(cond, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def produce(bs, topic, start, n, parts):
    p = KafkaProducer(bootstrap_servers=bs)
    for i in range(start, start + n):
        p.send(topic, value=b"v%06d" % i, partition=i % parts)
    p.flush(30)
    p.close()
    return ["v%06d" % i for i in range(start, start + n)]


def settle(bs, topic, parts, members):
    """Waits until nothing older can still arrive: a sentinel per partition,
    produced after everything else (partitions are read in order). Polling,
    not a sleep; the sentinels are one more offset per partition."""
    tag = "~%d" % time.monotonic_ns()
    p = KafkaProducer(bootstrap_servers=bs)
    for i in range(parts):
        p.send(topic, value=("%s-%d" % (tag, i)).encode(), partition=i)
    p.flush(30)
    p.close()
    want = {"%s-%d" % (tag, i) for i in range(parts)}
    wait_for(lambda: want <= set(v for m in members for v in m.values), what="the sentinels")


def real(values):
    return [v for v in values if not v.startswith("~")]


def test_kafka_python_group_consumers_share_commit_and_resume(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    with sluice.Sluiced(data_dir=str(d), listeners=("kafka",), extra=FLAGS) as s:
        bs = "127.0.0.1:%d" % s.port("kafka")
        admin = KafkaAdminClient(bootstrap_servers=bs)
        admin.create_topics([NewTopic("kpg", 4, 1)])
        a, b = Member(bs, "kp-group", "kpg"), Member(bs, "kp-group", "kpg")
        try:
            wait_for(lambda: a.listener.assigned and b.listener.assigned and
                     len(a.listener.assigned) + len(b.listener.assigned) == 4, what="assignment")
            expected = produce(bs, "kpg", 0, 2000, 4)
            wait_for(lambda: len(a.values) + len(b.values) >= 2000, what="consumption")
            settle(bs, "kpg", 4, [a, b])
            assert sorted(real(a.values + b.values)) == expected
            assert real(a.values) and real(b.values)

            groups = dict(admin.list_consumer_groups())
            assert groups.get("kp-group") == "consumer"
            (desc,) = admin.describe_consumer_groups(["kp-group"])
            assert desc.state == "Stable" and desc.protocol in ("range", "roundrobin")
            assert len(desc.members) == 2
        finally:
            a.close()
            b.close()

        # Both closed with their offsets committed: 500 per partition and
        # the sentinel.
        offs = admin.list_consumer_group_offsets("kp-group")
        assert {tp.partition: om.offset for tp, om in offs.items()} == {0: 501, 1: 501, 2: 501, 3: 501}
        (desc,) = admin.describe_consumer_groups(["kp-group"])
        assert desc.state == "Empty" and desc.members == []

        # A new member resumes from the committed offsets.
        more = produce(bs, "kpg", 2000, 400, 4)
        c = Member(bs, "kp-group", "kpg")
        try:
            wait_for(lambda: len(c.values) >= 400, what="resumed consumption")
            settle(bs, "kpg", 4, [c])
            assert sorted(real(c.values)) == more
        finally:
            c.close()
        c2 = KafkaConsumer(bootstrap_servers=bs, group_id="kp-group")
        tp = TopicPartition("kpg", 1)
        assert c2.committed(tp) == 602
        c2.close()

        # An empty group can be deleted; a deleted one is gone.
        (gid, err), = admin.delete_consumer_groups(["kp-group"])
        assert gid == "kp-group" and err.errno == 0
        (gid, err), = admin.delete_consumer_groups(["kp-group"])
        assert err.errno == 69  # GROUP_ID_NOT_FOUND
        assert "kp-group" not in dict(admin.list_consumer_groups())
        admin.close()
