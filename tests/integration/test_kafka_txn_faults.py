"""Kafka transactions under storage failures (confluent-kafka-python,
librdkafka 2.0.2): EndTxn whose decision cannot be synced, and EndTxn whose
marker in one partition cannot be synced. Whatever the client was told, a
transaction is never half-visible to read_committed consumers, before or
after a restart, and a commit the client saw succeed is complete."""
import signal
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice
from kafka_util import bootstrap


@pytest.fixture
def fserver(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"), faults=True)
    yield s
    if s.proc is not None:
        s.stop()


def read_committed(server, topic, partitions, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "rc",
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = [], set()
    deadline = time.monotonic() + timeout
    while len(eof) < partitions and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            eof.add(m.partition())
            continue
        eof.discard(m.partition())
        got.append((m.partition(), m.value()))
    c.close()
    assert len(eof) == partitions
    return got


def open_transaction(server, topic, tid):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    for f in a.create_topics([NewTopic(topic, 2, 1)]).values():
        f.result()
    p = Producer({"bootstrap.servers": bootstrap(server), "transactional.id": tid})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=b"v%d" % i, partition=i % 2)
    assert p.flush(30) == 0
    return p


def try_commit(p):
    try:
        p.commit_transaction(30)
        return True
    except KafkaException as e:
        return e


def check_whole(got, committed_ok):
    """All ten in both partitions, or none; all when the client saw OK."""
    assert len(got) in (0, 10), got
    if committed_ok is True:
        assert len(got) == 10
    if got:
        assert sorted(v for _, v in got) == sorted(b"v%d" % i for i in range(10))
        assert {p for p, _ in got} == {0, 1}


def test_end_txn_decision_sync_failure(fserver):
    p = open_transaction(fserver, "fd", "tx-fd")
    fserver.fault("op=fdatasync,path=txn.journal,count=1,errno=EIO")
    ok = try_commit(p)
    assert fserver.fault_hits() >= 1
    # The reply was COORDINATOR_NOT_AVAILABLE; librdkafka retries EndTxn,
    # and the retry commits the transaction the failure left Ongoing.
    assert ok is True, ok
    assert "kafka transactions: a write could not be made durable" in fserver.stderr()
    check_whole(read_committed(fserver, "fd", 2), ok)
    fserver.stop(signal.SIGKILL, check=False)
    fserver.start()
    check_whole(read_committed(fserver, "fd", 2), ok)


def test_end_txn_marker_sync_failure(fserver):
    p = open_transaction(fserver, "fm", "tx-fm")
    fserver.fault("op=fdatasync,path=fm-1/,count=1,errno=EIO")
    ok = try_commit(p)
    # The marker's sync runs after the EndTxn answer (the decision was
    # durable): wait for it to fail.
    deadline = time.monotonic() + 30
    while fserver.fault_hits() < 1:
        assert time.monotonic() < deadline, "the marker sync never ran"
        time.sleep(0.05)
    # The decision was durable: the marker cut back from partition 1 is
    # written again (the coordinator's repair), so the transaction becomes
    # committed in both partitions, as in Kafka, where markers reach the
    # partitions one by one.
    deadline = time.monotonic() + 30
    while True:
        got = read_committed(fserver, "fm", 2)
        if len(got) == 10:
            break
        assert time.monotonic() < deadline, "commit never became whole: %r" % got
        time.sleep(0.2)
    check_whole(got, True)
    fserver.stop(signal.SIGKILL, check=False)
    fserver.start()
    check_whole(read_committed(fserver, "fm", 2), True)


def test_crash_with_markers_unsynced_and_next_transaction_open(fserver):
    """EndTxn is answered once the decision is durable; the markers follow.
    Partition 1 cannot sync its commit marker; the producer's next
    transaction begins on both partitions; then sluiced is SIGKILLed. At
    restart the lost marker is written again (the coordinator listed it)
    before the open transaction is aborted, so the committed transaction is
    whole and the open one invisible."""
    p = open_transaction(fserver, "fk", "tx-fk")
    fserver.fault("op=fdatasync,path=fk-1/,count=-1,errno=EIO")
    ok = try_commit(p)
    assert ok is True, ok
    deadline = time.monotonic() + 30
    while fserver.fault_hits() < 1:
        assert time.monotonic() < deadline, "the marker sync never ran"
        time.sleep(0.05)
    p.begin_transaction()
    for i in range(4):
        p.produce("fk", value=b"next-%d" % i, partition=i % 2)
    p.flush(3)  # partition 1 cannot be acknowledged: do not wait for it
    fserver.stop(signal.SIGKILL, check=False)
    fserver.start()  # the fault is not armed in the new process
    got = read_committed(fserver, "fk", 2)
    assert sorted(v for _, v in got) == sorted(b"v%d" % i for i in range(10))
    assert {q for q, _ in got} == {0, 1}
