"""Storage failures on every Kafka write path (issue 12), driven by real
clients: confluent-kafka (librdkafka) everywhere, kafka-python where it adds
a second implementation, raw requests only for what no installed client
sends (IncrementalAlterConfigs, and the exact codes of InitProducerId and
OffsetCommit, which clients retry by themselves).

For each path: a fault is armed through the HTTP debug endpoint (store/sio.h
rules), the operation is done, and the test asserts that the client got the
error, that a second client does not see the write, that everything
acknowledged before is still there, that the client works again once the
fault is cleared (no restart), and, after a restart by SIGTERM or SIGKILL,
that the errored write is absent and every acknowledged one present.

Also: a real small filesystem (tmpfs) filled until appends fail, and
retention running with the Kafka listener off.
"""
import os
import signal
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

import sluice
from kafka_util import (bootstrap, incremental_alter_configs_v0, init_producer_id_v1,
                        offset_commit_v2, parse_incremental_alter_configs_v0,
                        parse_init_producer_id_v1, parse_offset_commit_v2, producer_ids,
                        roundtrip, start_server)

RESTARTS = ("sigterm", "sigkill")
STORAGE = KafkaError.KAFKA_STORAGE_ERROR  # 56
NOT_COORDINATOR = KafkaError.NOT_COORDINATOR  # 16
LOAD_IN_PROGRESS = KafkaError.COORDINATOR_LOAD_IN_PROGRESS  # 14


def restart(s, how):
    """Restarts the server after a clean stop or a kill -9."""
    if how == "sigterm":
        s.stop()
    else:
        s.kill()
    s.start()


@pytest.fixture
def fs(tmp_path):
    s = start_server(tmp_path, faults=True)
    yield s
    if s.proc is not None:
        s.stop()


def admin(s):
    return AdminClient({"bootstrap.servers": bootstrap(s)})


def create(s, name, partitions=1, **config):
    # The client must outlive its futures (they never complete otherwise).
    a = admin(s)
    a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                              config=config)])[name].result(30)


def topics(s):
    """The topic names a fresh client sees, with their partition counts."""
    a = admin(s)
    md = a.list_topics(timeout=30)
    return {n: len(t.partitions) for n, t in md.topics.items()}


def expect_kafka_error(fut, code):
    with pytest.raises(KafkaException) as e:
        fut.result(30)
    assert e.value.args[0].code() == code, e.value.args[0]


class Sent:
    """Delivery reports of a producer: (value, partition, offset, error)."""

    def __init__(self):
        self.reports = []

    def cb(self, err, msg):
        self.reports.append((msg.value(), msg.partition(), msg.offset(),
                             err.code() if err else None))

    def acked(self):
        return sorted((p, o, v) for v, p, o, e in self.reports if e is None)

    def failed(self):
        return [(v, e) for v, p, o, e in self.reports if e is not None]


def producer(s, **conf):
    # retries=0: a storage error reaches the application instead of being
    # retried after the fault is gone (the idempotent test lets it retry).
    base = {"bootstrap.servers": bootstrap(s), "acks": "all", "retries": 0, "linger.ms": 0}
    base.update(conf)
    return Producer(base)


def produce(p, sent, topic, values, partition=0):
    for v in values:
        p.produce(topic, value=v, partition=partition, on_delivery=sent.cb)
        p.poll(0)
    assert p.flush(30) == 0


def consume(s, topic, partitions=(0,), timeout=30):
    """Everything a fresh consumer reads up to the high watermark, as
    sorted (partition, offset, value)."""
    c = Consumer({"bootstrap.servers": bootstrap(s), "group.id": "reader",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 50})
    try:
        his = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
               for p in partitions}
        c.assign([TopicPartition(topic, p, 0) for p in partitions])
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < sum(his.values()) and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                got.append((m.partition(), m.offset(), m.value()))
        return sorted(got)
    finally:
        c.close()


# --- Produce (acks=all) --------------------------------------------------------------------


# (rule, calls it fails, size of the faulted message): small for pwrite and
# fdatasync (appended into the active segment); big enough to roll the 16 KiB
# segment for fallocate (the new segment's space is reserved before the
# write, and a full disk is tried twice: a step, then just the batch).
PRODUCE_FAULTS = {
    "fdatasync": ("op=fdatasync,path=pf-0/,count=1,errno=EIO", 1, 100),
    "pwrite": ("op=pwrite,path=pf-0/,count=1,errno=EIO", 1, 100),
    "fallocate": ("op=fallocate,path=pf-0/,count=2,errno=ENOSPC", 2, 12000),
}


@pytest.mark.parametrize("how", RESTARTS)
@pytest.mark.parametrize("op", sorted(PRODUCE_FAULTS))
def test_produce_acks_all_storage_failure(fs, op, how):
    spec, hits, size = PRODUCE_FAULTS[op]
    create(fs, "pf", **{"segment.bytes": "16384"})
    sent = Sent()
    p = producer(fs)
    produce(p, sent, "pf", [b"a%d-" % i + b"x" * 1000 for i in range(5)])
    # A second client is already reading while the write fails: with
    # fsync=always it is served only what is synced.
    watcher = Consumer({"bootstrap.servers": bootstrap(fs), "group.id": "watch",
                        "enable.auto.commit": False, "fetch.wait.max.ms": 20})
    watcher.assign([TopicPartition("pf", 0, 0)])
    seen = []

    def watch(until):
        deadline = time.monotonic() + 30
        while len(seen) < until and time.monotonic() < deadline:
            m = watcher.poll(0.1)
            if m is not None and m.error() is None:
                seen.append((m.partition(), m.offset(), m.value()))

    watch(5)
    fs.fault(spec)
    bad = b"BAD-" + b"y" * size
    produce(p, sent, "pf", [bad])
    assert fs.fault_hits() == hits
    assert sent.failed() == [(bad, STORAGE)]
    fs.clear_faults()
    # Works again without a restart, at the offsets that follow the
    # acknowledged ones: the failed batch left nothing behind.
    produce(p, sent, "pf", [b"b%d" % i for i in range(5)])
    acked = sent.acked()
    assert [o for _, o, _ in acked] == list(range(10))
    watch(10)
    watcher.close()
    assert seen == acked
    assert consume(fs, "pf") == acked
    restart(fs, how)
    assert consume(fs, "pf") == acked
    sent2 = Sent()
    produce(producer(fs), sent2, "pf", [b"after"])
    assert sent2.acked() == [(0, 10, b"after")]


@pytest.mark.parametrize("how", RESTARTS)
def test_idempotent_producer_retries_through_a_sync_failure(fs, how):
    """The batch whose sync failed is cut back and the producer's retry (same
    sequence) accepted once the partition recovered: every message exactly
    once, in order."""
    create(fs, "idem")
    sent = Sent()
    p = producer(fs, **{"enable.idempotence": True, "retries": 1000000, "linger.ms": 5})
    produce(p, sent, "idem", [b"pre%d" % i for i in range(50)])
    fs.fault("op=fdatasync,path=idem-0/,count=2,errno=EIO")
    produce(p, sent, "idem", [b"m%d" % i for i in range(300)])
    assert fs.fault_hits() == 2
    assert sent.failed() == []
    values = [b"pre%d" % i for i in range(50)] + [b"m%d" % i for i in range(300)]
    got = consume(fs, "idem")
    assert [v for _, _, v in got] == values
    assert [o for _, o, _ in got] == list(range(350))
    restart(fs, how)
    assert consume(fs, "idem") == got


# --- topic administration --------------------------------------------------------------------


@pytest.mark.parametrize("how", RESTARTS)
@pytest.mark.parametrize("op", ["fdatasync", "pwrite"])
def test_create_topics_storage_failure(fs, op, how):
    create(fs, "keep")
    fs.fault("op=%s,path=kafka.journal,count=1,errno=EIO" % op)
    a = admin(fs)
    expect_kafka_error(a.create_topics([NewTopic("bad", 2, 1)])["bad"], STORAGE)
    fs.clear_faults()
    assert "bad" not in topics(fs)
    assert not os.path.exists(os.path.join(fs.data_dir, "topics", "bad-0"))
    create(fs, "later", partitions=2)
    assert {"keep", "later"} <= set(topics(fs))
    restart(fs, how)
    t = topics(fs)
    assert "bad" not in t and t["keep"] == 1 and t["later"] == 2


@pytest.mark.parametrize("how", RESTARTS)
def test_delete_topics_storage_failure(fs, how):
    create(fs, "victim")
    create(fs, "other")
    sent = Sent()
    produce(producer(fs), sent, "victim", [b"v%d" % i for i in range(10)])
    a = admin(fs)
    fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
    expect_kafka_error(a.delete_topics(["victim"])["victim"], STORAGE)
    # Kept, with its data, for every client.
    assert "victim" in topics(fs)
    assert consume(fs, "victim") == sent.acked()
    a.delete_topics(["other"])["other"].result(30)
    assert "other" not in topics(fs)
    restart(fs, how)
    assert "victim" in topics(fs) and "other" not in topics(fs)
    assert consume(fs, "victim") == sent.acked()


@pytest.mark.parametrize("how", RESTARTS)
def test_create_partitions_storage_failure(fs, how):
    create(fs, "grow")
    a = admin(fs)
    fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
    expect_kafka_error(a.create_partitions([NewPartitions("grow", 3)])["grow"], STORAGE)
    assert topics(fs)["grow"] == 1
    assert not os.path.exists(os.path.join(fs.data_dir, "topics", "grow-1"))
    a.create_partitions([NewPartitions("grow", 2)])["grow"].result(30)
    assert topics(fs)["grow"] == 2
    restart(fs, how)
    assert topics(fs)["grow"] == 2
    assert not os.path.exists(os.path.join(fs.data_dir, "topics", "grow-2"))


def topic_config(s, topic, key):
    res = ConfigResource("topic", topic)
    a = admin(s)
    return a.describe_configs([res])[res].result(30)[key].value


@pytest.mark.parametrize("how", RESTARTS)
def test_alter_configs_storage_failure(fs, how):
    create(fs, "cfg", **{"retention.ms": "1000000"})
    a = admin(fs)
    fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
    res = ConfigResource("topic", "cfg", set_config={"retention.ms": "2000000",
                                                     "segment.bytes": "100000"})
    expect_kafka_error(a.alter_configs([res])[res], STORAGE)
    # None of the resource's changes was applied.
    assert topic_config(fs, "cfg", "retention.ms") == "1000000"
    assert topic_config(fs, "cfg", "segment.bytes") != "100000"
    # IncrementalAlterConfigs (no installed client sends it): the same.
    fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
    _, out = parse_incremental_alter_configs_v0(
        roundtrip(fs, incremental_alter_configs_v0(5, "cfg", {"retention.ms": "3000000"})))
    assert out[0][0] == STORAGE and out[0][2] == "cfg"
    assert topic_config(fs, "cfg", "retention.ms") == "1000000"
    fs.clear_faults()
    _, out = parse_incremental_alter_configs_v0(
        roundtrip(fs, incremental_alter_configs_v0(6, "cfg", {"retention.ms": "4000000"})))
    assert out[0][0] == 0
    assert topic_config(fs, "cfg", "retention.ms") == "4000000"
    restart(fs, how)
    assert topic_config(fs, "cfg", "retention.ms") == "4000000"
    assert topic_config(fs, "cfg", "segment.bytes") != "100000"


def test_alter_configs_storage_failure_kafka_python(fs):
    """kafka-python's AlterConfigs gets the error code too."""
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType
    from kafka.admin import KafkaAdminClient
    create(fs, "kp", **{"retention.ms": "1000000"})
    a = KafkaAdminClient(bootstrap_servers=bootstrap(fs), api_version=(2, 5, 0))
    try:
        fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
        r = a.alter_configs([KConfigResource(ConfigResourceType.TOPIC, "kp",
                                             configs={"retention.ms": "2000000"})])
        assert [x[0] for x in r.resources] == [STORAGE]
        assert topic_config(fs, "kp", "retention.ms") == "1000000"
        r = a.alter_configs([KConfigResource(ConfigResourceType.TOPIC, "kp",
                                             configs={"retention.ms": "3000000"})])
        assert [x[0] for x in r.resources] == [0]
        assert topic_config(fs, "kp", "retention.ms") == "3000000"
    finally:
        a.close()


# --- InitProducerId ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", RESTARTS)
def test_init_producer_id_storage_failure(fs, how):
    create(fs, "pid")
    fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
    _, err, pid, _ = parse_init_producer_id_v1(roundtrip(fs, init_producer_id_v1(1)))
    assert (err, pid) == (LOAD_IN_PROGRESS, -1)
    _, err, first, _ = parse_init_producer_id_v1(roundtrip(fs, init_producer_id_v1(2)))
    assert err == 0 and first >= 0
    # librdkafka retries the code: the idempotent producer starts anyway.
    fs.fault("op=fdatasync,path=kafka.journal,count=1,errno=EIO")
    sent = Sent()
    produce(producer(fs, **{"enable.idempotence": True, "retries": 1000000}), sent, "pid",
            [b"i%d" % i for i in range(3)])
    assert fs.fault_hits() == 2
    assert [v for _, _, v in sent.acked()] == [b"i0", b"i1", b"i2"]
    used = set(producer_ids(fs, "pid"))
    assert len(used) == 1 and min(used) > first
    restart(fs, how)
    sent = Sent()
    produce(producer(fs, **{"enable.idempotence": True, "retries": 1000000}), sent, "pid",
            [b"after"])
    ids = producer_ids(fs, "pid")
    # Never reused across the failure or the restart.
    assert ids[-1] > max(used) and ids[-1] != first


# --- OffsetCommit ----------------------------------------------------------------------------


def committed(s, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap(s), "group.id": group,
                  "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in partitions], timeout=30)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


@pytest.mark.parametrize("how", RESTARTS)
def test_offset_commit_storage_failure(fs, how):
    create(fs, "oc", partitions=2)
    c = Consumer({"bootstrap.servers": bootstrap(fs), "group.id": "g",
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("oc", 0, 5)], asynchronous=False)
    # The exact answer (clients retry it by themselves): NOT_COORDINATOR,
    # Kafka's code for a storage failure on commit.
    fs.fault("op=fdatasync,path=groups.journal,count=1,errno=EIO")
    _, errs = parse_offset_commit_v2(roundtrip(fs, offset_commit_v2(3, "g", "oc", [(1, 77)])))
    assert errs == {1: NOT_COORDINATOR}
    assert committed(fs, "g", "oc", (0, 1)) == {0: 5, 1: -1001}
    # librdkafka: while the journal keeps failing, its commit fails after
    # its own retries and a second client never sees it.
    reports = []
    c2 = Consumer({"bootstrap.servers": bootstrap(fs), "group.id": "g",
                   "enable.auto.commit": False,
                   "on_commit": lambda err, parts: reports.append(
                       [(tp.partition, tp.error.code() if tp.error else None)
                        for tp in parts])})
    fs.fault("op=fdatasync,path=groups.journal,count=-1,errno=EIO")
    c2.commit(offsets=[TopicPartition("oc", 1, 88)], asynchronous=True)
    deadline = time.monotonic() + 30
    while not reports and time.monotonic() < deadline:
        c2.poll(0.1)
    assert reports == [[(1, NOT_COORDINATOR)]]
    fs.clear_faults()
    # Back without a restart (the domain retries its recovery every second).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c2.commit(offsets=[TopicPartition("oc", 0, 6)], asynchronous=False)
            break
        except KafkaException:
            time.sleep(0.1)  # polling for the recovery, with a deadline
    assert committed(fs, "g", "oc", (0, 1)) == {0: 6, 1: -1001}
    c.close()
    c2.close()
    restart(fs, how)
    assert committed(fs, "g", "oc", (0, 1)) == {0: 6, 1: -1001}


def test_consumer_group_survives_a_journal_failure(fs):
    """A failed sync of the group journal mid-session: the failed commit is
    answered NOT_COORDINATOR, the coordinator is rebuilt from disk, and the
    member carries on (librdkafka 2.0.2 may keep re-querying the coordinator
    until its session expires and then rejoin: docs/kafka.md); consuming
    and committing work again without a restart."""
    create(fs, "cg", partitions=2)
    sent = Sent()
    p = producer(fs)
    for part in (0, 1):
        produce(p, sent, "cg", [b"%d-a%d" % (part, i) for i in range(10)], partition=part)
    c = Consumer({"bootstrap.servers": bootstrap(fs), "group.id": "cg1",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 200})
    c.subscribe(["cg"])
    got = set()
    armed = False

    def poll_until(n):
        nonlocal armed
        deadline = time.monotonic() + 60
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                got.add(m.value())
                if not armed:
                    armed = True
                    fs.fault("op=fdatasync,path=groups.journal,count=1,errno=EIO")
                    c.commit(asynchronous=True)

    poll_until(20)
    assert len(got) == 20
    deadline = time.monotonic() + 30
    while fs.fault_hits() == 0 and time.monotonic() < deadline:
        c.poll(0.1)  # the asynchronous commit reaches the journal's sync
    assert fs.fault_hits() == 1
    for part in (0, 1):
        produce(p, sent, "cg", [b"%d-b%d" % (part, i) for i in range(10)], partition=part)
    poll_until(40)
    assert len(got) == 40
    deadline = time.monotonic() + 60
    done = False
    while not done and time.monotonic() < deadline:
        c.poll(0.2)  # serves a rejoin if the member expired meanwhile
        try:
            c.commit(offsets=[TopicPartition("cg", 0, 20), TopicPartition("cg", 1, 20)],
                     asynchronous=False)
            done = True
        except KafkaException:
            pass
    assert done
    assert committed(fs, "cg1", "cg", (0, 1)) == {0: 20, 1: 20}
    c.close()


# --- a real small filesystem --------------------------------------------------------------------


def test_full_filesystem(tmp_path):
    """tmpfs of 16 MiB as the data dir: produce acks=all until appends fail;
    nothing errored is readable, everything acknowledged survives; deleting
    another topic frees space and producing resumes without a restart."""
    with sluice.tmpfs("16m") as d:
        s = sluice.Sluiced(data_dir=d, listeners=("kafka",),
                           extra=["--log.segment.bytes=262144"])
        try:
            create(s, "spare")
            create(s, "fill")
            spare = Sent()
            p = producer(s, **{"linger.ms": 5})
            produce(p, spare, "spare", [b"s" * 4000] * 500)  # ~2 MB
            assert len(spare.acked()) == 500
            sent = Sent()
            deadline = time.monotonic() + 120
            i = 0
            while not sent.failed() and time.monotonic() < deadline:
                produce(p, sent, "fill", [b"%08d" % (i + k) + b"f" * 4000 for k in range(50)])
                i += 50
            assert sent.failed(), "the filesystem never filled up"
            assert {e for _, e in sent.failed()} == {STORAGE}
            acked = sent.acked()
            assert len(acked) > 1000
            assert consume(s, "fill") == acked
            # Space returns: producing resumes without a restart.
            a = admin(s)
            a.delete_topics(["spare"])["spare"].result(30)
            first = Sent()
            deadline = time.monotonic() + 30
            while not first.acked() and time.monotonic() < deadline:
                produce(p, first, "fill", [b"again"])
            assert first.acked() and first.acked()[0][1] == acked[-1][1] + 1
            more = Sent()
            produce(p, more, "fill", [b"again%d" % k for k in range(100)])
            assert not more.failed() and len(more.acked()) == 100
            allacked = sorted(acked + first.acked() + more.acked())
            s.stop()
            s.start()
            assert consume(s, "fill") == allacked
        finally:
            if s.proc is not None:
                s.stop()


# --- retention without the Kafka listener -------------------------------------------------------


def test_retention_runs_with_the_kafka_listener_off(tmp_path):
    s = start_server(tmp_path, extra=["--log.segment.bytes=16384"])
    try:
        create(s, "ret")
        sent = Sent()
        # One message per batch, so that the 16 KiB segments roll.
        produce(producer(s, **{"batch.num.messages": 1}), sent, "ret",
                [b"r" * 1000 for _ in range(100)])
        assert len(sent.acked()) == 100
    finally:
        s.stop()
    d = os.path.join(s.data_dir, "topics", "ret-0")
    segments = lambda: sorted(f for f in os.listdir(d) if f.endswith(".log"))
    before = segments()
    assert len(before) >= 5
    s2 = sluice.Sluiced(data_dir=s.data_dir, listeners=("http",),
                        extra=["--log.segment.bytes=16384", "--log.retention.ms=500",
                               "--log.retention.check.interval.ms=50"])
    try:
        assert "kafka" not in s2.ports
        deadline = time.monotonic() + 30
        while set(before) & set(segments()) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the directory, with a deadline
        # Every expired segment is gone (the active one too, after a roll,
        # as in Kafka): only an empty segment at the end offset is left.
        assert segments() == ["%020d.log" % 100]
    finally:
        s2.stop()
