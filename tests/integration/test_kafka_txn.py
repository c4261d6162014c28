"""Kafka transactions (KIP-98) with confluent-kafka-python (librdkafka
2.0.2) against the real sluiced: commit and abort seen through
read_committed and read_uncommitted consumers, the last stable offset
through ListOffsets, a consume-transform-produce loop committing its
consumer offsets in the transaction, fencing of an older instance, the
transaction timeout, and SIGKILL in the middle of a transaction."""
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_util import bootstrap, kserver  # noqa: F401


def create(server, topic, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result()


def txn_producer(server, tid, **conf):
    p = Producer({"bootstrap.servers": bootstrap(server), "transactional.id": tid,
                  "linger.ms": 5, **conf})
    p.init_transactions(30)
    return p


def read_all(server, topic, partitions, isolation, timeout=30):
    """Every record of the partitions up to the end the isolation level
    allows (partition EOF), as (partition, offset, value)."""
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "reader-" + isolation,
                  "isolation.level": isolation, "enable.auto.commit": False,
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
        got.append((m.partition(), m.offset(), m.value()))
    c.close()
    assert len(eof) == partitions, "no EOF on every partition within %ss" % timeout
    return got


def high_watermark(server, topic, partition, isolation):
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "wm",
                  "isolation.level": isolation})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        c.close()


def values(recs):
    return sorted(v for _, _, v in recs)


def test_commit_and_abort_by_isolation_level(kserver):
    create(kserver, "tx", 2)
    p = txn_producer(kserver, "tx-a")
    p.begin_transaction()
    for i in range(10):
        p.produce("tx", value=b"commit-%d" % i, partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(6):
        p.produce("tx", value=b"abort-%d" % i, partition=i % 2)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce("tx", value=b"commit-late", partition=0)
    p.commit_transaction(30)

    committed = [b"commit-%d" % i for i in range(10)] + [b"commit-late"]
    assert values(read_all(kserver, "tx", 2, "read_committed")) == sorted(committed)
    unc = read_all(kserver, "tx", 2, "read_uncommitted")
    assert values(unc) == sorted(committed + [b"abort-%d" % i for i in range(6)])
    # Offsets count the markers: 3 transactions touched partition 0, so its
    # log holds 5 + 3 + 1 records and 3 markers.
    assert high_watermark(kserver, "tx", 0, "read_uncommitted") == 12


def test_open_transaction_holds_the_last_stable_offset(kserver):
    create(kserver, "lso", 1)
    plain = Producer({"bootstrap.servers": bootstrap(kserver)})
    for i in range(3):
        plain.produce("lso", value=b"plain-%d" % i, partition=0)
    assert plain.flush(30) == 0
    p = txn_producer(kserver, "tx-lso")
    p.begin_transaction()
    p.produce("lso", value=b"open", partition=0)
    p.flush(30)
    for i in range(2):
        plain.produce("lso", value=b"after-%d" % i, partition=0)
    assert plain.flush(30) == 0
    # read_committed stops at the open transaction's first offset.
    assert high_watermark(kserver, "lso", 0, "read_committed") == 3
    assert high_watermark(kserver, "lso", 0, "read_uncommitted") == 6
    assert values(read_all(kserver, "lso", 1, "read_committed")) == \
        [b"plain-0", b"plain-1", b"plain-2"]
    p.commit_transaction(30)
    # EndTxn is answered once the decision is durable; the marker becomes
    # visible (and the LSO moves past it) once it is synced, as in Kafka,
    # where markers are written after the answer.
    deadline = time.monotonic() + 30
    while high_watermark(kserver, "lso", 0, "read_committed") != 7:
        assert time.monotonic() < deadline, "LSO never passed the commit marker"
        time.sleep(0.05)
    assert values(read_all(kserver, "lso", 1, "read_committed")) == \
        sorted([b"plain-0", b"plain-1", b"plain-2", b"open", b"after-0", b"after-1"])


def test_consume_transform_produce_exactly_once(kserver):
    create(kserver, "ctp-in", 2)
    create(kserver, "ctp-out", 2)
    src = Producer({"bootstrap.servers": bootstrap(kserver)})
    for i in range(40):
        src.produce("ctp-in", value=b"%d" % i, partition=i % 2)
    assert src.flush(30) == 0

    c = Consumer({"bootstrap.servers": bootstrap(kserver), "group.id": "ctp",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed"})
    c.subscribe(["ctp-in"])
    p = txn_producer(kserver, "tx-ctp")
    done, rounds, aborted_once = 0, 0, False
    deadline = time.monotonic() + 60
    while done < 40 and time.monotonic() < deadline:
        msgs = c.consume(10, 1.0)
        msgs = [m for m in msgs if m.error() is None]
        if not msgs:
            continue
        p.begin_transaction()
        for m in msgs:
            p.produce("ctp-out", value=b"x" + m.value(), partition=m.partition())
        p.send_offsets_to_transaction(c.position(c.assignment()),
                                      c.consumer_group_metadata(), 30)
        rounds += 1
        if not aborted_once and rounds == 2:
            # Abort one round (its records sent first, so that they are in
            # the log): rewind so the same input is processed again.
            p.flush(30)
            p.abort_transaction(30)
            aborted_once = True
            committed = c.committed(c.assignment(), timeout=10)
            for tp in committed:
                c.seek(TopicPartition(tp.topic, tp.partition,
                                      tp.offset if tp.offset >= 0 else 0))
            continue
        p.commit_transaction(30)
        done += len(msgs)
    c.close()
    assert aborted_once
    out = read_all(kserver, "ctp-out", 2, "read_committed")
    assert values(out) == sorted(b"x%d" % i for i in range(40))  # exactly once
    unc = read_all(kserver, "ctp-out", 2, "read_uncommitted")
    assert len(unc) > 40  # the aborted round is there, uncommitted
    # The group's offsets were committed with the transactions.
    g = Consumer({"bootstrap.servers": bootstrap(kserver), "group.id": "ctp"})
    offs = g.committed([TopicPartition("ctp-in", 0), TopicPartition("ctp-in", 1)], timeout=10)
    g.close()
    assert sorted(o.offset for o in offs) == [20, 20]


def test_newer_instance_fences_older(kserver):
    create(kserver, "fence", 1)
    old = txn_producer(kserver, "tx-fence")
    old.begin_transaction()
    old.produce("fence", value=b"old", partition=0)
    old.flush(30)
    new = txn_producer(kserver, "tx-fence")  # aborts what old left open
    new.begin_transaction()
    new.produce("fence", value=b"new", partition=0)
    new.commit_transaction(30)
    with pytest.raises(KafkaException) as ei:
        old.produce("fence", value=b"old-2", partition=0)
        old.commit_transaction(30)
    err = ei.value.args[0]
    assert err.fatal() or err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                         KafkaError.INVALID_PRODUCER_EPOCH), err
    assert values(read_all(kserver, "fence", 1, "read_committed")) == [b"new"]
    assert b"old-2" not in values(read_all(kserver, "fence", 1, "read_uncommitted"))


def test_transaction_timeout_aborts(kserver):
    create(kserver, "tmo", 1)
    p = txn_producer(kserver, "tx-tmo", **{"transaction.timeout.ms": 1500})
    p.begin_transaction()
    p.produce("tmo", value=b"late", partition=0)
    p.flush(30)
    # The coordinator aborts it: the last stable offset moves past it.
    deadline = time.monotonic() + 30
    while high_watermark(kserver, "tmo", 0, "read_committed") < 2:
        assert time.monotonic() < deadline, "timed-out transaction never aborted"
        time.sleep(0.2)
    assert read_all(kserver, "tmo", 1, "read_committed") == []
    with pytest.raises(KafkaException):
        p.commit_transaction(30)


def test_sigkill_mid_transaction(kserver):
    create(kserver, "kill", 2)
    p = txn_producer(kserver, "tx-kill")
    p.begin_transaction()
    for i in range(8):
        p.produce("kill", value=b"done-%d" % i, partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(8):
        p.produce("kill", value=b"open-%d" % i, partition=i % 2)
    p.flush(30)
    kserver.kill()
    kserver.start()
    # Committed data exactly once; the open transaction aborted on recovery.
    assert values(read_all(kserver, "kill", 2, "read_committed")) == \
        sorted(b"done-%d" % i for i in range(8))
    assert len(read_all(kserver, "kill", 2, "read_uncommitted")) == 16
    assert "open ones aborted" in kserver.stderr()
    # The id goes on: a new instance commits.
    q = txn_producer(kserver, "tx-kill")
    q.begin_transaction()
    q.produce("kill", value=b"after", partition=1)
    q.commit_transaction(30)
    assert b"after" in values(read_all(kserver, "kill", 2, "read_committed"))
    assert not any(v.startswith(b"open") for v in
                   values(read_all(kserver, "kill", 2, "read_committed")))


def test_kafkajs_transactions_with_send_offsets(kserver):
    import json
    import os
    import subprocess
    client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients",
                          "kafka-node")
    r = subprocess.run(["node", os.path.join(client, "kafkajs_txn.js"), bootstrap(kserver), "kjt"],
                       capture_output=True, timeout=150, cwd=client)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = json.loads(r.stdout)
    assert sorted(out["seen"]) == sorted(["ok-%d" % i for i in range(5)] + ["last-0", "last-1"])
    parts = out["committed"][0]["partitions"]
    assert [(p["partition"], p["offset"]) for p in parts] == [(0, "10")]
    # read_uncommitted sees the aborted records too (kafkajs hides markers).
    unc = read_all(kserver, "kjt-out", 2, "read_uncommitted")
    assert sorted(v for _, _, v in unc) == sorted(
        [b"ok-%d" % i for i in range(5)] + [b"aborted-%d" % i for i in range(3)] +
        [b"last-0", b"last-1"])


def describe_producers(server, topic, partition):
    """Raw DescribeProducers v0 (flexible): [(pid, epoch, last_seq,
    current_txn_start_offset)] of one partition, and its error code."""
    import socket
    import struct

    from kafka_util import read_response
    t = topic.encode()
    body = b"\x02" + bytes([len(t) + 1]) + t + b"\x02" + struct.pack(">i", partition) + \
        b"\x00" + b"\x00"
    hdr = struct.pack(">hhih", 61, 0, 5, 3) + b"raw" + b"\x00"
    s = socket.create_connection(("127.0.0.1", server.port("kafka")), timeout=10)
    try:
        s.sendall(struct.pack(">i", len(hdr + body)) + hdr + body)
        r = read_response(s)
    finally:
        s.close()
    pos = 4 + 1 + 4 + 1  # corr, tags, throttle, topics(1)
    pos += 1 + (r[pos] - 1)  # name
    pos += 1  # partitions(1)
    idx, err = struct.unpack(">ih", r[pos:pos + 6])
    assert idx == partition
    pos += 6
    pos += 1  # ErrorMessage null
    n = r[pos] - 1
    pos += 1
    out = []
    for _ in range(n):
        pid, epoch, seq, _ts, _ce, start = struct.unpack(">qiiqiq", r[pos:pos + 36])
        out.append((pid, epoch, seq, start))
        pos += 37
    return err, out


def test_describe_producers_shows_open_transaction(kserver):
    create(kserver, "dp", 1)
    p = txn_producer(kserver, "tx-dp")
    p.begin_transaction()
    for i in range(3):
        p.produce("dp", value=b"%d" % i, partition=0)
    p.flush(30)
    err, prods = describe_producers(kserver, "dp", 0)
    assert err == 0 and len(prods) == 1
    pid, epoch, seq, start = prods[0]
    assert pid >= 0 and epoch == 0 and seq >= 0 and start == 0
    p.commit_transaction(30)
    err, prods = describe_producers(kserver, "dp", 0)
    assert err == 0 and [x[3] for x in prods] == [-1]
    err, _ = describe_producers(kserver, "dp", 7)
    assert err == 3  # UNKNOWN_TOPIC_OR_PARTITION
