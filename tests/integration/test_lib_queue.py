"""libsluice's Queue consumer (lib/queue.c) against a real sluiced, driven
through tests/lib/queue_tool.c; test data produced and offsets checked with
confluent_kafka. Rebalances are kept short: the server starts groups at
once and accepts short sessions."""
import os
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient

import sluice

TOOL = os.path.join(sluice.LIBTESTS, "queue_tool")
FAST_SESSION = ["-k", "session.timeout.ms=2000", "-k", "heartbeat.interval.ms=300"]


@pytest.fixture
def srv(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"),
                       extra=["--group.initial.rebalance.delay.ms=0",
                              "--group.min.session.timeout.ms=500"])
    yield s
    if s.proc is not None:
        s.stop()


def bootstrap(s):
    return "127.0.0.1:%d" % s.port("kafka")


def create_topic(s, name, partitions=1):
    admin = AdminClient({"bootstrap.servers": bootstrap(s)})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(10)


def produce(s, topic, values, partition=None, key=None, headers=None):
    p = Producer({"bootstrap.servers": bootstrap(s), "linger.ms": 0})
    for v in values:
        kw = {}
        if partition is not None:
            kw["partition"] = partition
        if headers:
            kw["headers"] = headers
        p.produce(topic, value=v.encode(), key=key, **kw)
    assert p.flush(10) == 0


def end_offsets(s, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap(s), "group.id": "probe-ends"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        c.close()


def committed(s, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap(s), "group.id": group,
                  "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


class Tool:
    """One queue_tool process writing to its own output file."""

    def __init__(self, s, tmp_path, name, opts, args=(), rdk=FAST_SESSION):
        self.out = str(tmp_path / (name + ".out"))
        self.err = str(tmp_path / (name + ".err"))
        argv = [TOOL, "-f", self.out, "-o", "brokers=" + bootstrap(s)]
        # Small test batches: do not let fetches wait for 10 KiB.
        opts = dict({"min.bytes": 1, "max.wait": "100ms"}, **opts)
        for k, v in opts.items():
            argv += ["-o", "%s=%s" % (k, v)]
        argv += list(rdk) + [str(a) for a in args]
        self.errf = open(self.err, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf)

    def lines(self, kind=None):
        try:
            with open(self.out) as f:
                ls = [l.split(" ", 5) if l[0] in "CHE" else l.split() for l in f.read().splitlines()]
        except FileNotFoundError:
            return []
        return [l for l in ls if kind is None or l[0] == kind]

    def handled(self):
        """(partition, offset, value) of every accepted message."""
        return [(int(l[1]), int(l[2]), l[3]) for l in self.lines("H")]

    def wait_for(self, pred, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            if self.proc.poll() is not None and not pred():
                raise AssertionError("tool exited %s before %s: %s" % (self.proc.returncode, what, self.stderr()))
            time.sleep(0.02)
        raise AssertionError("timed out waiting for " + what)

    def wait(self, timeout=30, rc=0):
        try:
            got = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("tool did not exit: " + self.stderr())
        self.errf.close()
        err = self.stderr()
        for m in sluice.SANITIZER_MARKERS:
            assert m not in err, err[-6000:]
        assert got == rc, "tool exited %s: %s" % (got, err[-3000:])
        return self

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.errf.close()

    def stderr(self):
        with open(self.err, "rb") as f:
            return f.read().decode(errors="replace")

    def metrics(self):
        m = self.lines("M")
        assert m, "no metrics line"
        return dict(zip(("handled", "failed", "dead_lettered", "handled_bytes"), map(int, m[-1][1:])))


def test_lib_queue_in_order_commits_with_several_processors(srv, tmp_path):
    create_topic(srv, "ord", 3)
    values = ["v%d" % i for i in range(300)]
    produce(srv, "ord", values)
    t = Tool(srv, tmp_path, "ord", {"group": "g-ord", "topic": "ord", "offset": "first",
                                     "processors": 8, "consumers": 3, "commit.interval": "50ms",
                                     "queue.capacity": 20},
             ["-s", 4, "-c", 300])
    t.wait()
    got = t.handled()
    assert sorted(v for _, _, v in got) == sorted(values)  # each exactly once
    # Processors finished out of order: some offset was handled after a later one.
    by_part = {}
    for p, o, _ in got:
        by_part.setdefault(p, []).append(o)
    assert any(offs != sorted(offs) for offs in by_part.values())
    assert committed(srv, "g-ord", "ord", 3) == end_offsets(srv, "ord", 3)
    m = t.metrics()
    assert m["handled"] == 300 and m["failed"] == 0
    assert m["handled_bytes"] == sum(len(v) for v in values)


def test_lib_queue_sigkill_mid_batch_redelivers_never_skips(srv, tmp_path):
    create_topic(srv, "kill", 2)
    values = ["k%d" % i for i in range(200)]
    produce(srv, "kill", values)
    opts = {"group": "g-kill", "topic": "kill", "offset": "first", "processors": 4,
            "consumers": 2, "commit.interval": "30ms", "queue.capacity": 16}
    first = Tool(srv, tmp_path, "kill1", opts, ["-s", 15])
    first.wait_for(lambda: len(first.handled()) >= 60, what="60 handled")
    first.kill()  # SIGKILL with messages in flight and queued
    run1 = first.handled()
    assert len(run1) < 200
    # Some offsets were committed before the kill, so run 2 resumes there,
    # and each committed offset is in order: everything below it was handled.
    before = committed(srv, "g-kill", "kill", 2)
    assert sum(max(o, 0) for o in before.values()) > 0
    for p, off in before.items():
        done = {o for q, o, _ in run1 if q == p}
        assert set(range(max(off, 0))) <= done, (p, off, sorted(done))
    # Handled out of order, so something past a commit point was handled:
    # those are the messages run 2 handles again.
    assert any(o >= before[p] for p, o, _ in run1)

    second = Tool(srv, tmp_path, "kill2", opts, ["-s", 1])
    seen1 = {v for _, _, v in run1}
    second.wait_for(lambda: seen1 | {v for _, _, v in second.handled()} == set(values),
                    timeout=30, what="every message handled across both runs")
    second.proc.send_signal(signal.SIGTERM)
    second.wait()
    run2 = second.handled()
    # Run 2 started at the committed offsets, not at the beginning...
    for p, off in before.items():
        offs = [o for q, o, _ in run2 if q == p]
        if off >= 0 and offs:
            assert min(offs) == off
    assert len(run2) < 200
    # ...and handled everything past them: at least once, none skipped.
    assert seen1 | {v for _, _, v in run2} == set(values)
    assert committed(srv, "g-kill", "kill", 2) == end_offsets(srv, "kill", 2)


def describe_state(s, group):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap(s))
    try:
        d = admin.describe_consumer_groups([group])[0]
        return d.state, len(d.members)
    finally:
        admin.close()


def test_lib_queue_graceful_stop_commits_and_leaves_group(srv, tmp_path):
    create_topic(srv, "grace", 1)
    values = ["g%d" % i for i in range(50)]
    produce(srv, "grace", values)
    opts = {"group": "g-grace", "topic": "grace", "offset": "first", "processors": 1,
            "consumers": 1, "commit.interval": "10s"}
    a = Tool(srv, tmp_path, "grace1", opts, ["-c", 20])
    a.wait()
    got = a.handled()
    assert [o for _, o, _ in got] == list(range(len(got))) and len(got) >= 20
    # The 10 s interval never fired: the stop itself committed...
    assert committed(srv, "g-grace", "grace", 1) == {0: len(got)}
    # ...and left the group, which is empty at once (no session expiry wait).
    deadline = time.monotonic() + 3
    while describe_state(srv, "g-grace") != ("Empty", 0):
        assert time.monotonic() < deadline, describe_state(srv, "g-grace")
        time.sleep(0.05)
    # A new member starts exactly at the committed offset.
    b = Tool(srv, tmp_path, "grace2", opts, ["-n", 50 - len(got)])
    b.wait()
    assert [o for _, o, _ in b.handled()] == list(range(len(got), 50))


def test_lib_queue_dead_letter_after_retries(srv, tmp_path):
    create_topic(srv, "work", 1)
    create_topic(srv, "dlq", 1)
    values = ["ok0", "bad1", "ok2", "bad3", "ok4"]
    produce(srv, "work", values, key=b"K", headers=[("trace", b"t-1")])
    t = Tool(srv, tmp_path, "dlq", {"group": "g-dlq", "topic": "work", "offset": "first",
                                     "processors": 2, "max.attempts": 3, "retry.backoff": "20ms",
                                     "dead.letter.topic": "dlq", "commit.interval": "20ms"},
             ["-x", "-1:bad", "-n", 5])
    t.wait()
    calls = [(int(l[2]), int(l[3]), l[4]) for l in t.lines("C")]
    for off in (1, 3):
        assert sorted(a for o, a, _ in calls if o == off) == [1, 2, 3]
    for off in (0, 2, 4):
        assert [a for o, a, _ in calls if o == off] == [1]
    errs = [l for l in t.lines("E") if l[1] != "-"]
    assert sorted((int(l[2]), int(l[3])) for l in errs) == sorted([(1, 7)] * 3 + [(3, 7)] * 3)
    assert t.metrics()["dead_lettered"] == 2 and t.metrics()["failed"] == 6
    assert t.metrics()["handled"] == 3
    # The partition moved on past the dead-lettered messages.
    assert committed(srv, "g-dlq", "work", 1) == {0: 5}

    c = Consumer({"bootstrap.servers": bootstrap(srv), "group.id": "dlq-reader",
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("dlq", 0, 0)])
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
    c.close()
    got.sort(key=lambda m: int(dict(m.headers())["sluice.offset"]))  # two processors: any order
    assert [m.value() for m in got] == [b"bad1", b"bad3"]
    for m, off in zip(got, (1, 3)):
        h = dict(m.headers())
        assert m.key() == b"K"
        assert h["trace"] == b"t-1"
        assert h["sluice.topic"] == b"work"
        assert h["sluice.partition"] == b"0"
        assert h["sluice.offset"] == str(off).encode()
        assert b"3 attempts" in h["sluice.error"]


def test_lib_queue_offset_first_and_last_for_a_new_group(srv, tmp_path):
    create_topic(srv, "fl", 1)
    produce(srv, "fl", ["old%d" % i for i in range(5)])
    a = Tool(srv, tmp_path, "first", {"group": "g-first", "topic": "fl", "offset": "first"},
             ["-c", 5])
    b = Tool(srv, tmp_path, "last", {"group": "g-last", "topic": "fl", "offset": "last"},
             ["-c", 1])
    n = Tool(srv, tmp_path, "numeric", {"group": "g-num", "topic": "fl", "offset": "3"},
             ["-c", 2])
    a.wait()
    assert sorted(v for _, _, v in a.handled()) == ["old%d" % i for i in range(5)]
    n.wait()
    assert sorted(v for _, _, v in n.handled()) == ["old3", "old4"]
    b.wait_for(lambda: b.lines("ASSIGNED"), what="assignment")
    # "last" starts at the end once its fetch position is resolved, which
    # may be a moment after the assignment: produce until one arrives.
    deadline = time.monotonic() + 15
    i = 0
    while b.proc.poll() is None:
        assert time.monotonic() < deadline
        produce(srv, "fl", ["new%d" % i])
        i += 1
        try:
            b.proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
    b.wait()
    got = [v for _, _, v in b.handled()]
    assert got and all(v.startswith("new") for v in got)


def test_lib_queue_no_group_partition_and_numeric_offset(srv, tmp_path):
    create_topic(srv, "ng", 3)
    for p in range(3):
        produce(srv, "ng", ["p%d-%d" % (p, i) for i in range(10)], partition=p)
    t = Tool(srv, tmp_path, "ng", {"topic": "ng", "offset": "4", "processors": 1},
             ["-p", 1, "-n", 6])
    t.wait()
    assert t.handled() == [(1, i, "p1-%d" % i) for i in range(4, 10)]
    # All partitions from the first offset, nothing committed anywhere.
    u = Tool(srv, tmp_path, "ngall", {"topic": "ng", "offset": "first"}, ["-n", 30])
    u.wait()
    assert sorted(v for _, _, v in u.handled()) == sorted("p%d-%d" % (p, i) for p in range(3) for i in range(10))


def test_lib_queue_lag_is_produced_minus_committed(srv, tmp_path):
    create_topic(srv, "lag", 1)
    produce(srv, "lag", ["l%d" % i for i in range(20)])
    t = Tool(srv, tmp_path, "lag", {"group": "g-lag", "topic": "lag", "offset": "first",
                                     "processors": 1, "commit.interval": "20ms"},
             ["-L", 8])
    t.wait()
    assert [l[1:] for l in t.lines("L")] == [["lag", "0", "8", "20", "12"]]


def test_lib_queue_rebalance_commits_before_handing_over(srv, tmp_path):
    """Members join while a member is busy: the eager revoke drops the
    queued messages, waits for those in flight and commits in order before
    the partitions move, so nothing is handled twice or skipped."""
    create_topic(srv, "reb", 4)
    values = ["r%d" % i for i in range(400)]
    produce(srv, "reb", values)
    opts = {"group": "g-reb", "topic": "reb", "offset": "first", "processors": 4,
            "commit.interval": "50ms", "queue.capacity": 16}
    a = Tool(srv, tmp_path, "reb1", opts, ["-s", 20])  # ~1 s for everything alone
    a.wait_for(lambda: len(a.handled()) >= 40, what="40 handled")
    # Two more members from one process (conns=2).
    b = Tool(srv, tmp_path, "reb2", dict(opts, conns=2), ["-s", 2])
    both = lambda: a.handled() + b.handled()
    a.wait_for(lambda: {v for _, _, v in both()} == set(values), timeout=30,
               what="every message handled")
    assert b.handled(), "the new members got no partitions"
    for t in (a, b):
        t.proc.send_signal(signal.SIGTERM)
    for t in (a, b):
        t.wait()
    vals = [v for _, _, v in both()]
    assert len(vals) == len(set(vals)), "handled twice across a rebalance"
    assert committed(srv, "g-reb", "reb", 4) == end_offsets(srv, "reb", 4)


def test_lib_queue_dead_letter_failure_is_retried_never_lost(tmp_path):
    """The dead-letter topic does not exist (and is not auto-created): each
    failed produce is reported and retried, the message is not counted
    handled, and its offset is not committed, until the topic appears."""
    with sluice.Sluiced(data_dir=str(tmp_path / "data"),
                        extra=["--group.initial.rebalance.delay.ms=0",
                               "--auto.create.topics.enable=false"]) as s:
        create_topic(s, "w2", 1)
        produce(s, "w2", ["bad0", "ok1"])
        t = Tool(s, tmp_path, "dlqfail",
                 {"group": "g-dlqf", "topic": "w2", "offset": "first", "max.attempts": 1,
                  "retry.backoff": "50ms", "dead.letter.topic": "later", "commit.interval": "20ms"},
                 ["-x", "-1:bad", "-n", 2, "-k", "message.timeout.ms=300"], rdk=())
        dlq_errs = lambda: [l for l in t.lines("E") if "dead-letter" in " ".join(l)]
        t.wait_for(lambda: len(dlq_errs()) >= 2 and t.handled(), what="two failed dead-letter produces")
        assert dlq_errs()[0][1:3] == ["0", "0"]  # reported with the message
        assert committed(s, "g-dlqf", "w2", 1)[0] in (0, -1001)  # nothing past bad0
        create_topic(s, "later", 1)
        t.wait(timeout=20)
        m = t.metrics()
        assert m["dead_lettered"] == 1 and m["handled"] == 1
        assert committed(s, "g-dlqf", "w2", 1) == {0: 2}
        assert end_offsets(s, "later", 1) == {0: 1}


def test_lib_queue_stop_abandons_a_retrying_message_uncommitted(srv, tmp_path):
    """A stop cuts a retry back-off short; the message was not handled, so
    its offset is not committed and the next member gets it again."""
    create_topic(srv, "retry", 1)
    produce(srv, "retry", ["bad0", "ok1"])
    opts = {"group": "g-retry", "topic": "retry", "offset": "first", "processors": 2,
            "max.attempts": 5, "retry.backoff": "20s", "commit.interval": "20ms"}
    t = Tool(srv, tmp_path, "retry1", opts, ["-x", "-1:bad"])
    t.wait_for(lambda: t.handled() and any(l[4] == "bad0" for l in t.lines("C")),
               what="bad0 failing, ok1 handled")
    started = time.monotonic()
    t.proc.send_signal(signal.SIGTERM)
    t.wait()
    assert time.monotonic() - started < 5  # did not sit out the 20 s back-off
    assert [l[3] for l in t.lines("C") if l[4] == "bad0"] == ["1"]
    assert committed(srv, "g-retry", "retry", 1)[0] in (0, -1001)
    u = Tool(srv, tmp_path, "retry2", opts, ["-n", 2])
    u.wait()
    assert sorted(v for _, _, v in u.handled()) == ["bad0", "ok1"]
    assert committed(srv, "g-retry", "retry", 1) == {0: 2}
