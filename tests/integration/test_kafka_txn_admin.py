"""The transaction coordinator's admin and KIP-890 APIs against the real
sluiced, with raw requests (confluent-kafka-python 1.7 / librdkafka 2.0.2,
kafka-python, kafkajs and Sarama have no list/describe transactions nor
batched AddPartitionsToTxn): DescribeTransactions (key 65),
ListTransactions (key 66, v0-1 with state, producer id and duration
filters), AddPartitionsToTxn v4/v5 (several transactions in one request,
VerifyOnly), and their entries in ApiVersions. A real transactional
producer (confluent-kafka) then shows up in both listings."""
import socket
import struct
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_util import FlexReader, bootstrap, cstr, kserver, read_response, \
    uvarint  # noqa: F401

TRANSACTIONAL_ID_NOT_FOUND = 105
INVALID_TXN_STATE = 48
PRODUCER_FENCED = 90
INVALID_PRODUCER_EPOCH = 47
CONCURRENT_TRANSACTIONS = 51


class Raw:
    def __init__(self, server):
        self.s = socket.create_connection(("127.0.0.1", server.port("kafka")), timeout=30)
        self.corr = 0

    def call(self, key, version, body, flex=True):
        self.corr += 1
        hdr = struct.pack(">hhih", key, version, self.corr, 3) + b"raw" + (b"\x00" if flex else b"")
        self.s.sendall(struct.pack(">i", len(hdr + body)) + hdr + body)
        r = FlexReader(read_response(self.s))
        assert r.take(">i") == self.corr
        if flex and key != 18:
            r.tags()
        return r

    def close(self):
        self.s.close()


def carr(items):
    return uvarint(len(items) + 1) + b"".join(items)


def init_pid(raw, tid):
    """InitProducerId v4 for tid, retried while the coordinator answers
    CONCURRENT_TRANSACTIONS (a previous end still writing its markers)."""
    deadline = time.monotonic() + 30
    while True:
        r = raw.call(22, 4, cstr(tid) + struct.pack(">iqh", 60000, -1, -1) + b"\x00")
        r.take(">i")
        err, pid, epoch = r.take(">hqh")
        if err != CONCURRENT_TRANSACTIONS or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert err == 0
    return pid, epoch


def topics_block(topics):
    """{topic: [partitions]} as AddPartitionsToTxn's Topics."""
    return carr([cstr(t) + carr([struct.pack(">i", p) for p in ps]) + b"\x00"
                 for t, ps in topics.items()])


def add_partitions_v5(raw, txns):
    """txns: [(tid, pid, epoch, verify_only, {topic: [partitions]})] ->
    (top error, {tid: {(topic, partition): error}})."""
    body = carr([cstr(tid) + struct.pack(">qhb", pid, epoch, verify) + topics_block(tp) + b"\x00"
                 for tid, pid, epoch, verify, tp in txns]) + b"\x00"
    r = raw.call(24, 5, body)
    r.take(">i")
    top = r.take(">h")
    out = {}
    for _ in range(r.uvarint() - 1):
        tid = r.cstr()
        res = out.setdefault(tid, {})
        for _ in range(r.uvarint() - 1):
            topic = r.cstr()
            for _ in range(r.uvarint() - 1):
                p, e = r.take(">ih")
                r.tags()
                res[(topic, p)] = e
            r.tags()
        r.tags()
    r.tags()
    return top, out


def describe(raw, ids):
    r = raw.call(65, 0, carr([cstr(i) for i in ids]) + b"\x00")
    r.take(">i")
    out = {}
    for _ in range(r.uvarint() - 1):
        err = r.take(">h")
        tid = r.cstr()
        state = r.cstr()
        timeout, start, pid, epoch = r.take(">iqqh")
        topics = {}
        for _ in range(r.uvarint() - 1):
            t = r.cstr()
            topics[t] = [r.take(">i") for _ in range(r.uvarint() - 1)]
            r.tags()
        r.tags()
        out[tid] = dict(err=err, state=state, timeout=timeout, start=start, pid=pid,
                        epoch=epoch, topics=topics)
    r.tags()
    return out


def list_txns(raw, states=(), pids=(), duration=None):
    body = carr([cstr(s) for s in states]) + carr([struct.pack(">q", p) for p in pids])
    version = 0
    if duration is not None:
        version = 1
        body += struct.pack(">q", duration)
    r = raw.call(66, version, body + b"\x00")
    r.take(">i")
    err = r.take(">h")
    unknown = [r.cstr() for _ in range(r.uvarint() - 1)]
    got = {}
    for _ in range(r.uvarint() - 1):
        tid = r.cstr()
        pid = r.take(">q")
        state = r.cstr()
        r.tags()
        got[tid] = (pid, state)
    r.tags()
    return err, unknown, got


def end_txn(raw, tid, pid, epoch, commit):
    r = raw.call(26, 4, cstr(tid) + struct.pack(">qhb", pid, epoch, commit) + b"\x00")
    r.take(">i")
    return r.take(">h")


def create(server, topic, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap(server)})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result()


def test_api_versions_lists_the_new_apis(kserver):
    raw = Raw(kserver)
    r = raw.call(18, 3, cstr("t") + cstr("1") + b"\x00")
    assert r.take(">h") == 0
    apis = {}
    for _ in range(r.uvarint() - 1):
        key, lo, hi = r.take(">hhh")
        r.tags()
        apis[key] = (lo, hi)
    raw.close()
    assert apis[24] == (0, 5)
    assert apis[25] == apis[26] == apis[28] == (0, 4)
    assert apis[65] == (0, 0)
    assert apis[66] == (0, 1)


def test_batched_add_partitions_describe_and_list(kserver):
    create(kserver, "ta", 3)
    raw = Raw(kserver)
    pid1, e1 = init_pid(raw, "ta-1")
    pid2, e2 = init_pid(raw, "ta-2")
    assert pid1 != pid2 and e1 == e2 == 0
    # Both ids described as Empty before anything is added.
    d = describe(raw, ["ta-1"])
    assert d["ta-1"]["state"] == "Empty" and d["ta-1"]["start"] == -1

    top, res = add_partitions_v5(raw, [("ta-1", pid1, 0, 0, {"ta": [0, 1]}),
                                       ("ta-2", pid2, 0, 0, {"ta": [2]})])
    assert top == 0
    assert res == {"ta-1": {("ta", 0): 0, ("ta", 1): 0}, "ta-2": {("ta", 2): 0}}

    # VerifyOnly: in the transaction or not; wrong epochs refused; nothing added.
    top, res = add_partitions_v5(raw, [("ta-1", pid1, 0, 1, {"ta": [0, 2]}),
                                       ("ta-2", pid2, 5, 1, {"ta": [2]})])
    assert top == 0
    assert res["ta-1"] == {("ta", 0): 0, ("ta", 2): INVALID_TXN_STATE}
    assert res["ta-2"] == {("ta", 2): INVALID_PRODUCER_EPOCH}

    d = describe(raw, ["ta-1", "ta-2", "nope"])
    assert d["nope"]["err"] == TRANSACTIONAL_ID_NOT_FOUND
    t1 = d["ta-1"]
    assert (t1["err"], t1["state"], t1["pid"], t1["epoch"], t1["timeout"]) == \
        (0, "Ongoing", pid1, 0, 60000)
    assert t1["topics"] == {"ta": [0, 1]} and t1["start"] > 1_600_000_000_000
    assert d["ta-2"]["topics"] == {"ta": [2]}

    err, unknown, got = list_txns(raw)
    assert (err, unknown) == (0, [])
    assert got == {"ta-1": (pid1, "Ongoing"), "ta-2": (pid2, "Ongoing")}
    assert list_txns(raw, pids=[pid2])[2] == {"ta-2": (pid2, "Ongoing")}
    assert list_txns(raw, states=["CompleteCommit", "Bogus"]) == (0, ["Bogus"], {})
    # v1 duration filter: none has run for an hour; all for at least 0 ms.
    assert list_txns(raw, duration=3_600_000)[2] == {}
    assert set(list_txns(raw, duration=0)[2]) == {"ta-1", "ta-2"}

    assert end_txn(raw, "ta-1", pid1, 0, 1) == 0
    d = describe(raw, ["ta-1"])["ta-1"]
    assert d["state"] in ("PrepareCommit", "CompleteCommit")
    assert list_txns(raw, states=["Ongoing"])[2] == {"ta-2": (pid2, "Ongoing")}
    # A fenced epoch in a batch gets PRODUCER_FENCED after a new instance.
    pid1b, e1b = init_pid(raw, "ta-1")
    assert (pid1b, e1b) == (pid1, 1)
    top, res = add_partitions_v5(raw, [("ta-1", pid1, 0, 0, {"ta": [0]})])
    assert res["ta-1"] == {("ta", 0): PRODUCER_FENCED}
    raw.close()


def test_real_producer_shows_in_listing(kserver):
    create(kserver, "tr", 1)
    p = Producer({"bootstrap.servers": bootstrap(kserver), "transactional.id": "tr-real",
                  "linger.ms": 5})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("tr", value=b"x", partition=0)
    p.flush(30)
    raw = Raw(kserver)
    d = describe(raw, ["tr-real"])["tr-real"]
    assert (d["err"], d["state"], d["topics"]) == (0, "Ongoing", {"tr": [0]})
    p.commit_transaction(30)
    _, _, got = list_txns(raw, pids=[d["pid"]])
    assert got["tr-real"][1] in ("PrepareCommit", "CompleteCommit")
    raw.close()


def test_malformed_requests_close_only_their_connection(kserver):
    """Truncated bodies and huge array counts of the new APIs (and of Fetch
    with session fields) close the connection; the server goes on."""
    from kafka_util import is_closed
    huge = uvarint(0x7FFFFFF0)
    bodies = [
        (65, 0, huge + b"\x00"),                        # DescribeTransactions ids
        (66, 1, carr([]) + huge),                       # ListTransactions producer ids
        (66, 1, carr([]) + carr([])),                   # v1 without DurationFilter
        (24, 5, carr([cstr("x") + struct.pack(">qh", 1, 0)])),  # cut in a transaction
        (24, 5, huge),                                  # transactions count
        (1, 12, struct.pack(">iiiib", -1, 0, 0, 1, 0) + struct.pack(">ii", 5, 1) + huge),
    ]
    for key, version, body in bodies:
        s = socket.create_connection(("127.0.0.1", kserver.port("kafka")), timeout=30)
        hdr = struct.pack(">hhih", key, version, 1, 3) + b"raw" + b"\x00"
        s.sendall(struct.pack(">i", len(hdr + body)) + hdr + body)
        assert is_closed(s), (key, version)
        s.close()
    raw = Raw(kserver)
    assert list_txns(raw)[0] == 0
    raw.close()
