"""Compacted topics (cleanup.policy=compact) against the real sluiced: many
updates per key and tombstones, the log cleaner runs (small segments, a
fast housekeeping interval; the tests poll for its log line), and a
consumer reading from offset 0 sees the latest value of every key
(confluent-kafka-python, kcat, kafkajs). SIGKILL at each step of the
cleaner's segment swap, then a restart: every key's latest value is
intact. Keyless records are refused with INVALID_RECORD and Kafka's
per-record errors (Produce v8). Configs: CreateTopics, DescribeConfigs,
IncrementalAlterConfigs SET/APPEND/SUBTRACT."""
import json
import os
import re
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from kafka_util import (bootstrap, incremental_alter_configs_v0, kstr,
                        parse_incremental_alter_configs_v0, record_batch, request,
                        roundtrip, start_server)

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_CLIENT = os.path.join(HERE, "..", "clients", "kafka-node")
FAST = ["--log.cleaner.backoff.ms=100", "--log.cleaner.step.bytes=40000"]
KEYS = 30
ROUNDS = 40
TOMBS = range(5)


def compact_cfg(**kw):
    cfg = {"cleanup.policy": "compact", "segment.bytes": "16384",
           "min.cleanable.dirty.ratio": "0.01"}
    cfg.update({k.replace("_", "."): v for k, v in kw.items()})
    return cfg


def create(server, topic, cfg, partitions=1):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    for f in a.create_topics([NewTopic(topic, partitions, 1, config=cfg)]).values():
        f.result(30)


def produce_updates(server, topic, compression="none"):
    """KEYS keys updated ROUNDS times, then tombstones for TOMBS, then
    filler that pushes them out of the active segment. Returns the model
    (key -> latest value, None for a tombstone) and the records sent."""
    p = Producer({"bootstrap.servers": bootstrap(server), "linger.ms": 5, "batch.size": 4096,
                  "compression.type": compression, "acks": "all"})
    errors = []

    def dr(err, _msg):
        if err is not None:
            errors.append(err)
    model = {}
    sent = 0
    for r in range(ROUNDS):
        for k in range(KEYS):
            key = b"k%d" % k
            model[key] = b"v%d-%d-" % (k, r) + b"x" * 150
            p.produce(topic, key=key, value=model[key], on_delivery=dr)
            sent += 1
        p.poll(0)
    for k in TOMBS:
        model[b"k%d" % k] = None
        p.produce(topic, key=b"k%d" % k, value=None, on_delivery=dr)
        sent += 1
    for i in range(300):
        key = b"filler%d" % (i % 10)
        model[key] = b"f%d-" % i + b"y" * 100
        p.produce(topic, key=key, value=model[key], on_delivery=dr)
        sent += 1
    assert p.flush(60) == 0
    assert not errors, errors
    return model, sent


def cleaned_count(server, topic):
    return len(re.findall(r"kafka: cleaned %s-0: " % re.escape(topic), server.stderr()))


def wait_cleaned(server, topic, n=1, timeout=90):
    deadline = time.monotonic() + timeout
    while cleaned_count(server, topic) < n:
        assert time.monotonic() < deadline, "the cleaner did not run:\n" + server.stderr()[-3000:]
        time.sleep(0.1)


def consume_all(server, topic, timeout=60, isolation="read_committed"):
    """Every record from offset 0 to the end: [(offset, key, value)]."""
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": "g-" + topic,
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "auto.offset.reset": "earliest", "isolation.level": isolation})
    c.assign([TopicPartition(topic, 0, 0)])
    out = []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "no end of partition"
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            break
        out.append((m.offset(), m.key(), m.value()))
    c.close()
    return out


def latest(records):
    got = {}
    last = -1
    for off, k, v in records:
        assert off > last
        last = off
        got[k] = v
    return got


def check_latest(got, model):
    for k, v in model.items():
        if v is None:
            assert got.get(k) is None, k  # a tombstone, or nothing once it expired
        else:
            assert got.get(k) == v, (k, got.get(k), v)
    assert set(got) <= set(model)


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_compacted_topic_keeps_latest_per_key(tmp_path, compression):
    s = start_server(tmp_path, extra=FAST)
    try:
        create(s, "cmp", compact_cfg())
        model, sent = produce_updates(s, "cmp", compression)
        wait_cleaned(s, "cmp")
        # Wait until the cleaner has caught up with the sealed segments
        # (each pass logs; later passes clean what was dirty then).
        deadline = time.monotonic() + 60
        while True:
            recs = consume_all(s, "cmp")
            if len(recs) < sent // 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(recs) < sent // 3, (len(recs), sent)
        check_latest(latest(recs), model)
        # The end offset does not move: offsets are preserved.
        assert recs[-1][0] == sent - 1

        kc = subprocess.run(["kcat", "-b", bootstrap(s), "-C", "-t", "cmp", "-o", "beginning",
                             "-e", "-Z", "-f", "%o\t%k\t%s\n"], capture_output=True, timeout=60)
        assert kc.returncode == 0, kc.stderr
        krecs = []
        for line in kc.stdout.split(b"\n"):
            if line:
                off, k, v = line.split(b"\t")
                krecs.append((int(off), k, None if v == b"NULL" else v))
        check_latest(latest(krecs), model)

        s.restart()
        check_latest(latest(consume_all(s, "cmp")), model)
    finally:
        s.stop()


def test_kafkajs_reads_compacted_topic(tmp_path):
    s = start_server(tmp_path, extra=FAST)
    try:
        create(s, "cjs", compact_cfg())
        model, sent = produce_updates(s, "cjs")
        wait_cleaned(s, "cjs")
        r = subprocess.run(["node", os.path.join(NODE_CLIENT, "kafkajs_compact.js"), bootstrap(s),
                            "cjs", str(sent)], capture_output=True, timeout=120, cwd=NODE_CLIENT)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        out = json.loads(r.stdout)
        got = {k.encode(): (None if v is None else v.encode()) for k, v in out["latest"].items()}
        check_latest(got, model)
        assert out["count"] < sent
        # A keyless record: kafkajs surfaces the broker's INVALID_RECORD.
        assert out["keylessError"] == "INVALID_RECORD", out
    finally:
        s.stop()


@pytest.mark.parametrize("point", ["copied", "unlinked", "swapped"])
def test_sigkill_during_cleaning(tmp_path, monkeypatch, point):
    """The server kills itself (SIGKILL) at a step of the first segment
    swap; after a restart every key has its latest value, then the
    cleaner finishes."""
    monkeypatch.setenv("SLUICE_TEST_CLEANER_CRASH", point)
    s = start_server(tmp_path, extra=FAST)
    try:
        # Records younger than an hour are not cleaned: all are produced
        # (and acknowledged) before the cleaner may start.
        create(s, "crash", compact_cfg(min_compaction_lag_ms="3600000"))
        model, sent = produce_updates(s, "crash")
        _c, res = parse_incremental_alter_configs_v0(roundtrip(
            s, incremental_alter_configs_v0(1, "crash", {"min.compaction.lag.ms": "0"})))
        assert res[0][0] == 0, res
        assert s.proc.wait(timeout=90) == -9
        s.proc = None
        s.stderr_file.close()
        monkeypatch.delenv("SLUICE_TEST_CLEANER_CRASH")
        s.start()
        check_latest(latest(consume_all(s, "crash")), model)
        wait_cleaned(s, "crash")
        recs = consume_all(s, "crash")
        check_latest(latest(recs), model)
        assert len(recs) < sent
        d = os.path.join(s.data_dir, "topics", "crash-0")
        assert not [f for f in os.listdir(d) if f.endswith(".cleaned")]
        assert os.path.exists(os.path.join(d, "compacted"))
    finally:
        if s.proc is not None:
            s.stop()


def produce_v8(corr, topic, batch):
    body = kstr(None) + struct.pack(">hi", -1, 30000)
    body += struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1) + struct.pack(">i", 0)
    body += struct.pack(">i", len(batch)) + batch
    return request(0, 8, corr, body)


def parse_produce_v8(resp):
    """(error, base_offset, [(batch_index, message)], error_message) of the
    first partition."""
    pos = 4 + 4  # correlation id, topic count
    (nl,) = struct.unpack(">h", resp[pos:pos + 2])
    pos += 2 + nl + 4
    _part, err, base, _lat, _start = struct.unpack(">ihqqq", resp[pos:pos + 30])
    pos += 30

    def nstr():
        nonlocal pos
        (n,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2
        if n < 0:
            return None
        pos += n
        return resp[pos - n:pos].decode()
    (nerr,) = struct.unpack(">i", resp[pos:pos + 4])
    pos += 4
    recs = []
    for _ in range(nerr):
        (idx,) = struct.unpack(">i", resp[pos:pos + 4])
        pos += 4
        recs.append((idx, nstr()))
    return err, base, recs, nstr()


def test_keyless_records_refused(tmp_path):
    s = start_server(tmp_path)
    try:
        create(s, "nokey", compact_cfg())
        create(s, "plain", {"cleanup.policy": "delete"})
        errs = []
        p = Producer({"bootstrap.servers": bootstrap(s), "retries": 0})
        # Separate batches: Kafka refuses a batch with any keyless record whole.
        p.produce("nokey", value=b"no key here", on_delivery=lambda e, m: errs.append(e))
        assert p.flush(30) == 0
        p.produce("nokey", key=b"k", value=b"keyed", on_delivery=lambda e, m: errs.append(e))
        p.produce("plain", value=b"fine without a key", on_delivery=lambda e, m: errs.append(e))
        assert p.flush(30) == 0
        codes = sorted(e.code() if e else 0 for e in errs)
        assert codes == sorted([0, 0, KafkaError.INVALID_RECORD]), errs

        # Produce v8: the record errors name the keyless records of the batch.
        err, base, recs, msg = parse_produce_v8(roundtrip(
            s, produce_v8(7, "nokey", record_batch([b"a", b"b"]))))
        assert err == 87 and base == -1  # INVALID_RECORD
        want = "Compacted topic cannot accept message without key in topic partition nokey-0."
        assert recs == [(0, want), (1, want)]
        assert msg == ("One or more records have been rejected due to 2 record errors in total, "
                       "and only showing the first three errors at most: "
                       "[RecordError(batchIndex=0, message='%s'), "
                       "RecordError(batchIndex=1, message='%s')]" % (want, want))
        # Nothing of the refused batches was stored.
        recs = consume_all(s, "nokey")
        assert [(k, v) for _o, k, v in recs] == [(b"k", b"keyed")]
    finally:
        s.stop()


def incremental_alter(corr, topic, ops):
    """IncrementalAlterConfigs v0 with explicit ops: [(name, op, value)]."""
    body = struct.pack(">i", 1) + struct.pack(">b", 2) + kstr(topic)
    body += struct.pack(">i", len(ops))
    for k, op, v in ops:
        body += kstr(k) + struct.pack(">b", op) + kstr(v)
    body += struct.pack(">b", 0)
    return request(44, 0, corr, body)


def describe(server, topic):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    fs = a.describe_configs([ConfigResource("topic", topic)])
    (entries,) = [f.result(30) for f in fs.values()]
    return {k: e.value for k, e in entries.items()}


def test_compaction_configs(tmp_path):
    s = start_server(tmp_path)
    try:
        create(s, "cfg", {"cleanup.policy": "delete"})
        d = describe(s, "cfg")
        assert d["cleanup.policy"] == "delete"
        assert d["delete.retention.ms"] == "86400000"
        assert d["min.cleanable.dirty.ratio"] == "0.5"
        assert d["min.compaction.lag.ms"] == "0"
        assert d["max.compaction.lag.ms"] == "9223372036854775807"

        def alter(ops):
            _c, res = parse_incremental_alter_configs_v0(roundtrip(s, incremental_alter(1, "cfg",
                                                                                        ops)))
            return res[0][0]
        assert alter([("cleanup.policy", 2, "compact")]) == 0  # APPEND
        assert describe(s, "cfg")["cleanup.policy"] == "delete,compact"
        assert alter([("cleanup.policy", 2, "compact")]) == 0  # already there
        assert describe(s, "cfg")["cleanup.policy"] == "delete,compact"
        assert alter([("cleanup.policy", 3, "delete")]) == 0  # SUBTRACT
        assert describe(s, "cfg")["cleanup.policy"] == "compact"
        assert alter([("cleanup.policy", 3, "compact")]) == 40  # nothing left: INVALID_CONFIG
        assert alter([("retention.ms", 2, "5")]) == 40  # not a list
        assert alter([("cleanup.policy", 0, "compact,bogus")]) == 40
        assert alter([("min.cleanable.dirty.ratio", 0, "1.5")]) == 40
        assert alter([("min.cleanable.dirty.ratio", 0, "0.2"),
                      ("delete.retention.ms", 0, "1000")]) == 0
        d = describe(s, "cfg")
        assert d["min.cleanable.dirty.ratio"] == "0.2" and d["delete.retention.ms"] == "1000"
        assert alter([("cleanup.policy", 1, None)]) == 0  # DELETE: back to the default
        assert describe(s, "cfg")["cleanup.policy"] == "delete"
        # CreateTopics takes both policies at once.
        create(s, "both", {"cleanup.policy": "compact,delete"})
        assert describe(s, "both")["cleanup.policy"] == "compact,delete"
        # segment.bytes altered at run time applies at once (the cleaner
        # only sees sealed segments).
        create(s, "live", {})
        _c, res = parse_incremental_alter_configs_v0(roundtrip(
            s, incremental_alter_configs_v0(1, "live", {"segment.bytes": "16384"})))
        assert res[0][0] == 0, res
        p = Producer({"bootstrap.servers": bootstrap(s), "linger.ms": 5, "batch.size": 4096})
        for i in range(1000):
            p.produce("live", key=b"k%d" % i, value=b"v" * 100)
        assert p.flush(30) == 0
        d = os.path.join(s.data_dir, "topics", "live-0")
        assert len([f for f in os.listdir(d) if f.endswith(".log")]) > 3
    finally:
        s.stop()


def test_cleaner_drops_aborted_transactions(tmp_path):
    """An aborted transaction's records on a compacted topic are gone after
    a clean even for read_uncommitted consumers, and do not shadow the
    committed values of their keys; committed ones stay."""
    s = start_server(tmp_path, extra=FAST)
    try:
        # Not cleaned until min.compaction.lag.ms is lowered below.
        create(s, "ctx", compact_cfg(min_compaction_lag_ms="3600000"))
        p = Producer({"bootstrap.servers": bootstrap(s), "transactional.id": "ctx-t",
                      "linger.ms": 5, "batch.size": 4096})
        p.init_transactions(30)
        p.begin_transaction()
        for k in range(KEYS):
            p.produce("ctx", key=b"k%d" % k, value=b"committed-%d" % k)
        p.commit_transaction(30)
        p.begin_transaction()
        for k in range(KEYS):
            p.produce("ctx", key=b"k%d" % k, value=b"aborted-%d" % k)
        assert p.flush(30) == 0
        p.abort_transaction(30)
        p.begin_transaction()
        for i in range(400):  # pushes the aborted ones out of the active segment
            p.produce("ctx", key=b"filler%d" % (i % 10), value=b"f" * 100)
        p.commit_transaction(30)
        before = consume_all(s, "ctx", isolation="read_uncommitted")
        assert sum(v.startswith(b"aborted-") for _o, _k, v in before if v) == KEYS
        _c, res = parse_incremental_alter_configs_v0(roundtrip(
            s, incremental_alter_configs_v0(1, "ctx", {"min.compaction.lag.ms": "0"})))
        assert res[0][0] == 0, res
        wait_cleaned(s, "ctx")
        deadline = time.monotonic() + 60
        while True:
            recs = consume_all(s, "ctx", isolation="read_uncommitted")
            if not any(v.startswith(b"aborted-") for _o, _k, v in recs if v):
                break
            assert time.monotonic() < deadline, "aborted records still served"
            time.sleep(0.2)
        got = latest(recs)
        for k in range(KEYS):
            assert got[b"k%d" % k] == b"committed-%d" % k
    finally:
        s.stop()
