"""Stable offsets for exactly-once consumers (KIP-447) against the real
sluiced: while a transaction of a confluent-kafka (librdkafka 2.0.2)
transactional producer holds offsets of group G (send_offsets_to_transaction,
not yet committed), OffsetFetch v7 and v8 with RequireStable answer
UNSTABLE_OFFSET_COMMIT (88) for those partitions and the committed offset
for the others; without RequireStable the last committed offset. After the
commit the new offset, after an abort or a SIGKILL mid-transaction (recovery
aborts it) the old one. A read_committed consumer of G that takes the
partition over while the transaction is open starts, once it commits, from
the offset the transaction committed, not from the one before it, and its
committed() waits for it too. Last, transactional.id.expiration.ms forgets
idle transactional ids, for good."""
import http.client
import re
import struct
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_util import (FlexReader, bootstrap, cstr, kserver, offset_commit_v2,  # noqa: F401
                        parse_offset_commit_v2, roundtrip, start_server, uvarint)

UNSTABLE = 88
GROUP = "g-stable"


def create(server, topic, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result()


def commit_plain(server, group, topic, commits):
    """A plain OffsetCommit (simple consumer): commits is [(partition, offset)]."""
    _, errs = parse_offset_commit_v2(roundtrip(server, offset_commit_v2(1, group, topic, commits)))
    assert set(errs.values()) == {0}, errs


def flex_request(api_key, version, corr, body):
    """A request with header v2 (flexible versions): client id, no tags."""
    payload = struct.pack(">hhih", api_key, version, corr, 3) + b"raw" + b"\x00" + body
    return struct.pack(">i", len(payload)) + payload


def topics_field(topics):
    """Topics of an OffsetFetch v6+ request: {topic: [partitions]}, or None
    for every partition of the group."""
    if topics is None:
        return b"\x00"
    out = uvarint(len(topics) + 1)
    for name, parts in topics.items():
        out += cstr(name) + uvarint(len(parts) + 1)
        out += b"".join(struct.pack(">i", p) for p in parts) + b"\x00"
    return out


def read_topics(r, version):
    """{(topic, partition): (offset, error)} of one topic list of a reply."""
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.cstr()
        for _ in range(r.uvarint() - 1):
            part, off = r.take(">iq")
            r.take(">i")  # CommittedLeaderEpoch
            meta = r.cstr()
            err = r.take(">h")
            r.tags()
            if err == UNSTABLE:
                # As Kafka: no offset, no epoch, empty metadata.
                assert (off, meta) == (-1, ""), (off, meta)
            out[(name, part)] = (off, err)
        r.tags()
    return out


def offset_fetch(server, group, topics, require_stable, version=7):
    """OffsetFetch v6 (no RequireStable) or v7 of one group. Returns
    ({(topic, partition): (offset, error)}, top-level error)."""
    body = cstr(group) + topics_field(topics)
    if version >= 7:
        body += struct.pack(">b", 1 if require_stable else 0)
    body += b"\x00"
    r = FlexReader(roundtrip(server, flex_request(9, version, 7, body)))
    assert r.take(">i") == 7
    r.tags()
    r.take(">i")  # ThrottleTimeMs
    parts = read_topics(r, version)
    err = r.take(">h")
    r.tags()
    assert r.p == len(r.d), "trailing bytes"
    return parts, err


def offset_fetch_v8(server, groups, require_stable):
    """OffsetFetch v8 of several groups ({group: topics or None}). Returns
    {group: ({(topic, partition): (offset, error)}, group error)}."""
    body = uvarint(len(groups) + 1)
    for g, topics in groups.items():
        body += cstr(g) + topics_field(topics) + b"\x00"
    body += struct.pack(">b", 1 if require_stable else 0) + b"\x00"
    r = FlexReader(roundtrip(server, flex_request(9, 8, 8, body)))
    assert r.take(">i") == 8
    r.tags()
    r.take(">i")
    out = {}
    for _ in range(r.uvarint() - 1):
        g = r.cstr()
        parts = read_topics(r, 8)
        out[g] = (parts, r.take(">h"))
        r.tags()
    r.tags()
    assert r.p == len(r.d), "trailing bytes"
    return out


def pending_txn(server, tid, topic, offsets):
    """A transactional producer whose open transaction wrote one record and
    holds `offsets` ({partition: offset}) of GROUP's partitions of topic."""
    p = Producer({"bootstrap.servers": bootstrap(server), "transactional.id": tid,
                  "linger.ms": 5})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("stable-out", value=b"transformed", partition=0)
    # The group metadata of a simple (unsubscribed) consumer of GROUP.
    c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": GROUP})
    meta = c.consumer_group_metadata()
    p.send_offsets_to_transaction([TopicPartition(topic, part, off)
                                   for part, off in offsets.items()], meta, 30)
    c.close()
    return p


def prepare(server, topic="stable-in"):
    """topic with 3 partitions, GROUP committed at 5 on partitions 0 and 1,
    and a transaction holding offset 10 of partition 0."""
    create(server, topic, 3)
    create(server, "stable-out", 1)
    commit_plain(server, GROUP, topic, [(0, 5), (1, 5)])
    return pending_txn(server, "tx-stable", topic, {0: 10})


ALL3 = {"stable-in": [0, 1, 2]}


def test_pending_offsets_are_unstable_until_commit(kserver):
    p = prepare(kserver)
    parts, err = offset_fetch(kserver, GROUP, ALL3, True)
    assert err == 0
    assert parts == {("stable-in", 0): (-1, UNSTABLE), ("stable-in", 1): (5, 0),
                     ("stable-in", 2): (-1, 0)}
    # Without RequireStable, or before v7: the last committed offset.
    assert offset_fetch(kserver, GROUP, ALL3, False)[0][("stable-in", 0)] == (5, 0)
    assert offset_fetch(kserver, GROUP, ALL3, True, version=6)[0][("stable-in", 0)] == (5, 0)
    # Another group's offsets of the same partition are not held.
    commit_plain(kserver, "g-other", "stable-in", [(0, 3)])
    assert offset_fetch(kserver, "g-other", ALL3, True)[0][("stable-in", 0)] == (3, 0)
    # v8: per group; the unstable partition is a partition error only.
    got = offset_fetch_v8(kserver, {GROUP: ALL3, "g-other": {"stable-in": [0]}}, True)
    assert got[GROUP] == ({("stable-in", 0): (-1, UNSTABLE), ("stable-in", 1): (5, 0),
                           ("stable-in", 2): (-1, 0)}, 0)
    assert got["g-other"] == ({("stable-in", 0): (3, 0)}, 0)
    assert offset_fetch_v8(kserver, {GROUP: ALL3}, False)[GROUP][0][("stable-in", 0)] == (5, 0)
    # Every partition of the group (null topics): the committed ones, the
    # held one unstable (as Kafka, partitions without a commit are not listed).
    assert offset_fetch(kserver, GROUP, None, True) == (
        {("stable-in", 0): (-1, UNSTABLE), ("stable-in", 1): (5, 0)}, 0)
    assert offset_fetch_v8(kserver, {GROUP: None}, True)[GROUP] == (
        {("stable-in", 0): (-1, UNSTABLE), ("stable-in", 1): (5, 0)}, 0)
    p.commit_transaction(30)
    assert offset_fetch(kserver, GROUP, ALL3, True) == (
        {("stable-in", 0): (10, 0), ("stable-in", 1): (5, 0), ("stable-in", 2): (-1, 0)}, 0)
    assert offset_fetch_v8(kserver, {GROUP: None}, True)[GROUP] == (
        {("stable-in", 0): (10, 0), ("stable-in", 1): (5, 0)}, 0)


def test_abort_leaves_the_old_offset_stable(kserver):
    p = prepare(kserver)
    assert offset_fetch(kserver, GROUP, ALL3, True)[0][("stable-in", 0)] == (-1, UNSTABLE)
    p.abort_transaction(30)
    assert offset_fetch(kserver, GROUP, ALL3, True) == (
        {("stable-in", 0): (5, 0), ("stable-in", 1): (5, 0), ("stable-in", 2): (-1, 0)}, 0)


def test_a_partition_without_commit_held_by_a_transaction(kserver):
    """Kafka answers 88 for a requested partition a transaction holds even
    when the group never committed it."""
    create(kserver, "stable-in", 3)
    create(kserver, "stable-out", 1)
    p = pending_txn(kserver, "tx-new", "stable-in", {2: 4})
    assert offset_fetch(kserver, GROUP, ALL3, True) == (
        {("stable-in", 0): (-1, 0), ("stable-in", 1): (-1, 0),
         ("stable-in", 2): (-1, UNSTABLE)}, 0)
    assert offset_fetch(kserver, GROUP, None, True) == ({}, 0)
    p.commit_transaction(30)
    assert offset_fetch(kserver, GROUP, ALL3, True)[0][("stable-in", 2)] == (4, 0)


def test_sigkill_mid_transaction_recovers_stable(kserver):
    prepare(kserver)
    assert offset_fetch(kserver, GROUP, ALL3, True)[0][("stable-in", 0)] == (-1, UNSTABLE)
    kserver.kill()
    kserver.start()
    # Recovery aborts the open transaction: its PrepareAbort waits for a
    # sync that may end after READY, and until then the offset is still
    # unstable; a client retries, as here, until it is not.
    deadline = time.monotonic() + 30
    while offset_fetch(kserver, GROUP, ALL3, True)[0][("stable-in", 0)][1] == UNSTABLE:
        assert time.monotonic() < deadline, "still unstable 30s after the restart"
    # The old offset, stable.
    assert offset_fetch(kserver, GROUP, ALL3, True) == (
        {("stable-in", 0): (5, 0), ("stable-in", 1): (5, 0), ("stable-in", 2): (-1, 0)}, 0)


def offset_fetch_count(server):
    """sluice_requests_total of Kafka's OffsetFetch (/metrics)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port("http"), timeout=10)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    m = re.search(r'^sluice_requests_total\{protocol="kafka",command="OffsetFetch"\} (\d+)$',
                  text, re.M)
    return int(m.group(1)) if m else 0


def test_read_committed_consumer_waits_for_the_transaction(tmp_path):
    """A consumer of GROUP taking partition 0 over while the transaction
    holding its offset is open: its OffsetFetch (RequireStable: librdkafka
    sets it for isolation.level=read_committed) is answered 88 and retried;
    once the transaction commits it starts at the committed offset 10, not
    at the old 5 (records 5..9 would be processed twice)."""
    server = start_server(tmp_path, listeners=("kafka", "http"))
    try:
        create(server, "stable-in", 3)
        prod = Producer({"bootstrap.servers": bootstrap(server)})
        for i in range(20):
            prod.produce("stable-in", value=b"in-%d" % i, partition=0)
        prod.flush(30)
        create(server, "stable-out", 1)
        commit_plain(server, GROUP, "stable-in", [(0, 5)])
        p = pending_txn(server, "tx-takeover", "stable-in", {0: 10})
        before = offset_fetch_count(server)
        c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": GROUP,
                      "isolation.level": "read_committed", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        c.assign([TopicPartition("stable-in", 0)])  # from the committed offset
        # The consumer's first OffsetFetch was handled while the
        # transaction was open (the loop answers it before this scrape):
        # it got 88, whatever the client does with it.
        deadline = time.monotonic() + 30
        while offset_fetch_count(server) == before:
            assert time.monotonic() < deadline, "the consumer sent no OffsetFetch"
            c.poll(0.05)
        assert offset_fetch(server, GROUP, {"stable-in": [0]}, True)[0] == {
            ("stable-in", 0): (-1, UNSTABLE)}
        p.commit_transaction(30)
        first = None
        deadline = time.monotonic() + 60
        while first is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                first = m
        c.close()
        assert first is not None, "no record within 60s"
        assert (first.offset(), first.value()) == (10, b"in-10")
    finally:
        server.stop()


def test_committed_waits_for_the_transaction(tmp_path):
    """Consumer.committed() of a read_committed consumer (RequireStable)
    keeps asking while the transaction holds the offset and returns the
    offset it committed; a read_uncommitted one gets the old offset at once."""
    import threading
    server = start_server(tmp_path, listeners=("kafka", "http"))
    try:
        p = prepare(server)
        plain = Consumer({"bootstrap.servers": bootstrap(server), "group.id": GROUP,
                          "isolation.level": "read_uncommitted"})
        got = plain.committed([TopicPartition("stable-in", 0)], timeout=30)
        assert [(tp.offset, tp.error) for tp in got] == [(5, None)]
        plain.close()
        before = offset_fetch_count(server)
        c = Consumer({"bootstrap.servers": bootstrap(server), "group.id": GROUP,
                      "isolation.level": "read_committed"})
        out = {}

        def ask():
            try:
                out["r"] = c.committed([TopicPartition("stable-in", 0)], timeout=60)
            except Exception as e:  # reported by the assertion below
                out["e"] = e
        th = threading.Thread(target=ask)
        th.start()
        deadline = time.monotonic() + 30
        while offset_fetch_count(server) == before:
            assert time.monotonic() < deadline, "committed() sent no OffsetFetch"
            time.sleep(0.05)
        p.commit_transaction(30)
        th.join(90)
        assert not th.is_alive()
        assert "e" not in out, out.get("e")
        assert [(tp.offset, tp.error) for tp in out["r"]] == [(10, None)]
        c.close()
    finally:
        server.stop()


def test_idle_transactional_ids_expire(tmp_path):
    """transactional.id.expiration.ms (1 s here): an id whose last
    transaction ended that long ago is forgotten (DescribeTransactions:
    TRANSACTIONAL_ID_NOT_FOUND), one with a transaction open is kept; the
    forgotten one stays forgotten after a SIGKILL and a restart with the
    default expiration (its tombstone is journaled), and its next
    InitProducerId gets a new producer id."""
    from test_kafka_txn_admin import TRANSACTIONAL_ID_NOT_FOUND, Raw, describe, init_pid
    server = start_server(tmp_path, extra=["--transactional.id.expiration.ms=1000"])
    try:
        create(server, "exp", 1)
        conf = {"bootstrap.servers": bootstrap(server), "linger.ms": 5}
        busy = Producer({**conf, "transactional.id": "exp-busy",
                         "transaction.timeout.ms": 900000})
        busy.init_transactions(30)
        busy.begin_transaction()
        busy.produce("exp", value=b"open", partition=0)
        busy.flush(30)  # its partition is in the transaction: the last change
        idle = Producer({**conf, "transactional.id": "exp-idle"})
        idle.init_transactions(30)
        idle.begin_transaction()
        idle.produce("exp", value=b"done", partition=0)
        idle.commit_transaction(30)
        raw = Raw(server)
        old_pid = describe(raw, ["exp-idle"])["exp-idle"]["pid"]
        # The coordinator checks every second; busy's last change is older
        # than idle's, so the pass that forgets idle saw busy too.
        deadline = time.monotonic() + 30
        while describe(raw, ["exp-idle"])["exp-idle"]["err"] != TRANSACTIONAL_ID_NOT_FOUND:
            assert time.monotonic() < deadline, "exp-idle not forgotten within 30s"
            time.sleep(0.1)
        got = describe(raw, ["exp-busy"])["exp-busy"]
        assert (got["err"], got["state"]) == (0, "Ongoing")
        raw.close()
        server.kill()
        server.extra = [a for a in server.extra if "expiration" not in a]
        server.start()
        raw = Raw(server)
        assert describe(raw, ["exp-idle"])["exp-idle"]["err"] == TRANSACTIONAL_ID_NOT_FOUND
        assert describe(raw, ["exp-busy"])["exp-busy"]["err"] == 0
        pid, epoch = init_pid(raw, "exp-idle")
        assert (pid != old_pid, epoch) == (True, 0)
        raw.close()
    finally:
        server.stop()
