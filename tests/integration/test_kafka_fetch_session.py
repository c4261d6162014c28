"""Kafka incremental fetch sessions (KIP-227) against the real sluiced,
with raw Fetch v12 requests (no installed client uses sessions:
librdkafka 2.0.2, kafka-python 2.0.2, kafkajs and Sarama all send
SessionEpoch -1), records produced with confluent-kafka. Checks the exact
semantics: a full fetch with epoch 0 opens a session, an incremental one
answers only partitions with news, forgotten partitions drop out, wrong
ids and epochs get their errors, sessions belong to their connection, a
parked (long-poll) incremental fetch answers only what changed, and the
cache's slot bound evicts as Kafka does."""
import contextlib
import socket
import struct
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_util import FlexReader, bootstrap, cstr, kserver, read_response, start_server, \
    uvarint  # noqa: F401

FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71


def fetch_v12(corr, sid, epoch, parts, forgotten=(), max_wait=0, min_bytes=0, isolation=0):
    """parts: [(topic, partition, offset)], forgotten: [(topic, [partitions])]."""
    body = struct.pack(">iiiib", -1, max_wait, min_bytes, 1 << 20, isolation)
    body += struct.pack(">ii", sid, epoch)
    topics = {}
    for t, p, off in parts:
        topics.setdefault(t, []).append((p, off))
    body += uvarint(len(topics) + 1)
    for t, ps in topics.items():
        body += cstr(t) + uvarint(len(ps) + 1)
        for p, off in ps:
            body += struct.pack(">iiqiqi", p, -1, off, -1, -1, 1 << 20) + b"\x00"
        body += b"\x00"
    body += uvarint(len(forgotten) + 1)
    for t, ps in forgotten:
        body += cstr(t) + uvarint(len(ps) + 1) + b"".join(struct.pack(">i", p) for p in ps)
        body += b"\x00"
    body += cstr("") + b"\x00"
    hdr = struct.pack(">hhih", 1, 12, corr, 3) + b"raw" + b"\x00"
    return struct.pack(">i", len(hdr + body)) + hdr + body


def parse_fetch_v12(resp):
    """(error, session id, {(topic, partition): (error, hw, record count)})."""
    r = FlexReader(resp)
    r.take(">i")  # correlation id
    r.tags()
    r.take(">i")  # throttle
    err, sid = r.take(">hi")
    out = {}
    for _ in range(r.uvarint() - 1):
        topic = r.cstr()
        for _ in range(r.uvarint() - 1):
            idx, perr, hw, _lso, _start = r.take(">ihqqq")
            for _ in range(r.uvarint() - 1):
                r.take(">qq")
                r.tags()
            r.take(">i")  # preferred read replica
            n = r.uvarint() - 1
            records = r.d[r.p:r.p + max(n, 0)]
            r.p += max(n, 0)
            count, pos = 0, 0
            while pos + 61 <= len(records):
                (blen,) = struct.unpack_from(">i", records, pos + 8)
                (cnt,) = struct.unpack_from(">i", records, pos + 57)
                count += cnt
                pos += 12 + blen
            out[(topic, idx)] = (perr, hw, count)
            r.tags()
        r.tags()
    r.tags()
    return err, sid, out


class Conn:
    def __init__(self, server):
        self.s = socket.create_connection(("127.0.0.1", server.port("kafka")), timeout=30)
        self.corr = 0

    def send(self, *a, **kw):
        self.corr += 1
        self.s.sendall(fetch_v12(self.corr, *a, **kw))

    def recv(self):
        return parse_fetch_v12(read_response(self.s))

    def fetch(self, *a, **kw):
        self.send(*a, **kw)
        return self.recv()

    def close(self):
        self.s.close()


def setup_topic(server, topic, partitions, counts):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result()
    produce(server, topic, counts)


def produce(server, topic, counts):
    """counts: {partition: records} produced and acknowledged."""
    p = Producer({"bootstrap.servers": bootstrap(server), "linger.ms": 0})
    for part, n in counts.items():
        for i in range(n):
            p.produce(topic, value=b"v%d" % i, partition=part)
    assert p.flush(30) == 0


def test_full_then_incremental_answers_only_news(kserver):
    setup_topic(kserver, "fs", 2, {0: 3})
    c = Conn(kserver)
    err, sid, parts = c.fetch(0, 0, [("fs", 0, 0), ("fs", 1, 0)])
    assert err == 0 and sid != 0
    assert parts == {("fs", 0): (0, 3, 3), ("fs", 1): (0, 0, 0)}
    # Position of partition 0 moved: named; partition 1 unchanged: not.
    err, sid2, parts = c.fetch(sid, 1, [("fs", 0, 3)])
    assert (err, sid2, parts) == (0, sid, {})
    produce(kserver, "fs", {1: 2})
    # Nothing named: the session's partitions are fetched, only 1 has news.
    err, _, parts = c.fetch(sid, 2, [])
    assert parts == {("fs", 1): (0, 2, 2)}
    # The same again (offset 0 of partition 1 is still the session's).
    err, _, parts = c.fetch(sid, 3, [])
    assert parts == {("fs", 1): (0, 2, 2)}
    err, _, parts = c.fetch(sid, 4, [("fs", 1, 2)])
    assert (err, parts) == (0, {})
    # A new partition 0 record: its watermark moved, so it is answered.
    produce(kserver, "fs", {0: 1})
    err, _, parts = c.fetch(sid, 5, [])
    assert parts == {("fs", 0): (0, 4, 1)}
    c.close()


def test_forgotten_partitions_leave_the_session(kserver):
    setup_topic(kserver, "fg", 2, {0: 1, 1: 1})
    c = Conn(kserver)
    _, sid, parts = c.fetch(0, 0, [("fg", 0, 1), ("fg", 1, 1)])
    assert sorted(parts) == [("fg", 0), ("fg", 1)]
    err, _, parts = c.fetch(sid, 1, [], forgotten=[("fg", [1])])
    assert (err, parts) == (0, {})
    produce(kserver, "fg", {1: 2})
    err, _, parts = c.fetch(sid, 2, [])
    assert (err, parts) == (0, {})
    # Named again: back in the session, answered at once.
    err, _, parts = c.fetch(sid, 3, [("fg", 1, 1)])
    assert parts == {("fg", 1): (0, 3, 2)}
    c.close()


def test_session_errors(kserver):
    setup_topic(kserver, "fe", 1, {0: 1})
    c = Conn(kserver)
    _, sid, _ = c.fetch(0, 0, [("fe", 0, 0)])
    assert sid != 0
    assert c.fetch(sid, 7, []) == (INVALID_FETCH_SESSION_EPOCH, 0, {})
    # The error did not move the epoch: 1 is still expected.
    assert c.fetch(sid, 1, [("fe", 0, 1)]) == (0, sid, {})
    assert c.fetch(sid + 1000, 1, []) == (FETCH_SESSION_ID_NOT_FOUND, 0, {})
    # Another connection cannot use the session.
    other = Conn(kserver)
    assert other.fetch(sid, 2, []) == (FETCH_SESSION_ID_NOT_FOUND, 0, {})
    other.close()
    # Epoch -1 closes it and answers sessionless (SessionId 0, everything).
    err, sid2, parts = c.fetch(sid, -1, [("fe", 0, 1)])
    assert (err, sid2, parts) == (0, 0, {("fe", 0): (0, 1, 0)})
    assert c.fetch(sid, 2, []) == (FETCH_SESSION_ID_NOT_FOUND, 0, {})
    # A full fetch with epoch 0 and the old id opens a new session.
    _, sid3, _ = c.fetch(sid, 0, [("fe", 0, 1)])
    assert sid3 not in (0, sid)
    c.close()


@contextlib.contextmanager
def server_with_slots(tmp_path, slots):
    s = start_server(tmp_path, extra=["--max.incremental.fetch.session.cache.slots=%d" % slots])
    try:
        yield s
    finally:
        s.stop()


def test_session_ends_with_its_connection(tmp_path):
    with server_with_slots(tmp_path, 1) as s:
        setup_topic(s, "fc", 1, {0: 1})
        a = Conn(s)
        _, sid, _ = a.fetch(0, 0, [("fc", 0, 0)])
        assert sid != 0
        b = Conn(s)
        # The one slot is taken by a session no smaller: none for b.
        assert b.fetch(0, 0, [("fc", 0, 0)])[1] == 0
        a.close()
        # a's session went with its connection: b gets the slot (the
        # close is noticed by the server asynchronously: poll).
        deadline = time.monotonic() + 30
        got = 0
        while not got and time.monotonic() < deadline:
            got = b.fetch(0, 0, [("fc", 0, 0)])[1]
        assert got != 0
        b.close()


def test_bigger_session_evicts_smaller(tmp_path):
    with server_with_slots(tmp_path, 1) as s:
        setup_topic(s, "fv", 2, {0: 1})
        a = Conn(s)
        _, sid_a, _ = a.fetch(0, 0, [("fv", 0, 1)])
        assert sid_a != 0
        b = Conn(s)
        _, sid_b, _ = b.fetch(0, 0, [("fv", 0, 1), ("fv", 1, 0)])
        assert sid_b not in (0, sid_a)
        assert a.fetch(sid_a, 1, []) == (FETCH_SESSION_ID_NOT_FOUND, 0, {})
        assert b.fetch(sid_b, 1, [])[0] == 0
        a.close()
        b.close()


def test_parked_incremental_fetch_answers_what_changed(kserver):
    setup_topic(kserver, "fp", 3, {0: 1, 1: 1, 2: 1})
    c = Conn(kserver)
    _, sid, _ = c.fetch(0, 0, [("fp", 0, 1), ("fp", 1, 1), ("fp", 2, 1)])
    assert sid != 0
    # Long poll: nothing new, so the fetch parks until a produce.
    c.send(sid, 1, [], max_wait=20000, min_bytes=1)
    t = threading.Timer(0.5, produce, (kserver, "fp", {2: 2}))
    t.start()
    try:
        err, sid2, parts = c.recv()
    finally:
        t.join()
    assert (err, sid2) == (0, sid)
    assert parts == {("fp", 2): (0, 3, 2)}
    # The session moved on to epoch 2.
    assert c.fetch(sid, 2, [("fp", 2, 3)]) == (0, sid, {})
    c.close()


def test_slots_zero_means_sessionless(tmp_path):
    with server_with_slots(tmp_path, 0) as s:
        setup_topic(s, "fz", 1, {0: 2})
        c = Conn(s)
        err, sid, parts = c.fetch(0, 0, [("fz", 0, 0)])
        assert (err, sid, parts) == (0, 0, {("fz", 0): (0, 2, 2)})
        c.close()


def test_read_committed_session_answers_when_the_lso_moves(kserver):
    """A read_committed session sees nothing of an open transaction; its
    commit moves the last stable offset, which alone makes the partition
    news for the next incremental fetch."""
    setup_topic(kserver, "fr", 1, {})
    p = Producer({"bootstrap.servers": bootstrap(kserver), "transactional.id": "fr-tx",
                  "linger.ms": 0})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("fr", value=b"a", partition=0)
    p.produce("fr", value=b"b", partition=0)
    assert p.flush(30) == 0
    c = Conn(kserver)
    err, sid, parts = c.fetch(0, 0, [("fr", 0, 0)], isolation=1)
    assert (err, parts[("fr", 0)][2]) == (0, 0) and sid != 0
    assert c.fetch(sid, 1, [], isolation=1) == (0, sid, {})
    p.commit_transaction(30)
    epoch, deadline = 2, time.monotonic() + 30
    while True:
        err, _, parts = c.fetch(sid, epoch, [], isolation=1)
        epoch += 1
        if parts:
            break
        assert time.monotonic() < deadline, "the commit never showed"
        time.sleep(0.05)
    # The two records become readable once the decision is durable (the
    # marker's own sync may still run: the high watermark then stops
    # before it)...
    err, hw, count = parts[("fr", 0)]
    assert err == 0 and (hw, count) in ((2, 2), (3, 3))
    # ... and the watermark passing the marker is news again.
    while hw != 3:
        err, _, parts = c.fetch(sid, epoch, [("fr", 0, 2)], isolation=1)
        epoch += 1
        if parts:
            err, hw, count = parts[("fr", 0)]
            assert (err, hw, count) == (0, 3, 1)
        assert time.monotonic() < deadline, "the marker never became stable"
    c.close()
