"""Consumer groups with confluent-kafka-python 1.7.0 (librdkafka 2.0.2)
against the real sluiced: several consumer processes share a topic's
partitions through the group coordinator; members leave, are killed and
come back; committed offsets survive consumer and server restarts.

Each consumer is a child process (this file run as a script, see
consumer_main) that prints one line per event: "A <t> <partitions>" on
assignment, "R <t> <partitions>" on revocation, "M <partition> <offset>
<value>" per message and "C <partition> <offset>" per synchronous commit.
The test reads those lines, so it can check every message, kill a member
with SIGKILL, and time rebalances (printed with -s; figures only, never
asserted)."""
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

import sluice  # noqa: E402

# Short delays so the tests stay quick: a 300 ms initial rebalance delay and
# sessions down to 1 s (the default floor is 6 s).
SERVER_FLAGS = ["--group.initial.rebalance.delay.ms=300", "--group.min.session.timeout.ms=1000"]
SESSION_MS = 3000


def consumer_main(argv):
    bootstrap, group, topics, conf_json = argv
    extra = json.loads(conf_json)
    commit_every = extra.pop("_commit_every", 0)
    stop_committing_after = extra.pop("_stop_committing_after", 0)
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": 250,
        "max.poll.interval.ms": 30000,
        "auto.commit.interval.ms": 200,
    }
    conf.update(extra)

    def out(*parts):
        sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
        sys.stdout.flush()

    def fmt(parts):
        return ",".join("%s:%d" % (p.topic, p.partition) for p in sorted(parts, key=lambda p: (p.topic, p.partition))) or "-"

    c = Consumer(conf)
    c.subscribe(topics.split(","),
                on_assign=lambda _c, ps: out("A", time.monotonic(), fmt(ps)),
                on_revoke=lambda _c, ps: out("R", time.monotonic(), fmt(ps)))
    n = 0
    while True:
        r, _, _ = select.select([sys.stdin], [], [], 0)
        if r:
            line = sys.stdin.readline()
            if not line or line.strip() == "close":
                c.close()
                out("X")
                return
        m = c.poll(0.1)
        if m is None:
            continue
        if m.error():
            out("E", m.error().code(), str(m.error()).replace(" ", "_"))
            continue
        out("M", m.partition(), m.offset(), m.value().decode())
        n += 1
        if commit_every and n % commit_every == 0 and (not stop_committing_after or n <= stop_committing_after):
            c.commit(message=m, asynchronous=False)
            out("C", m.partition(), m.offset() + 1)


class Member:
    """A consumer child process and what it reported."""

    def __init__(self, server, group, topics, **conf):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "127.0.0.1:%d" % server.port("kafka"),
             group, topics, json.dumps(conf)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lock = threading.Lock()
        self.msgs = []      # (partition, offset, value)
        self.assigns = []   # (t, partitions string)
        self.revokes = []
        self.commits = []   # (index into msgs when committed, partition, offset)
        self.errors = []
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            f = line.split()
            with self.lock:
                if f[0] == "M":
                    self.msgs.append((int(f[1]), int(f[2]), f[3]))
                elif f[0] == "A":
                    self.assigns.append((float(f[1]), f[2]))
                elif f[0] == "R":
                    self.revokes.append((float(f[1]), f[2]))
                elif f[0] == "C":
                    self.commits.append((len(self.msgs), int(f[1]), int(f[2])))
                elif f[0] == "E":
                    self.errors.append(f[1:])
                elif f[0] == "X":
                    self.closed = True

    def values(self):
        with self.lock:
            return [v for _, _, v in self.msgs]

    def assignment(self):
        with self.lock:
            return self.assigns[-1][1] if self.assigns else None

    def close(self, timeout=30):
        self.proc.stdin.write("close\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        assert self.closed

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.reader.join(timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            self.kill()


def wait_for(cond, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def nparts(s):
    return 0 if s in (None, "-") else len(s.split(","))


@pytest.fixture
def gserver(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), listeners=("kafka",), extra=SERVER_FLAGS)
    yield s
    if s.proc is not None:
        s.stop()


@pytest.fixture
def members():
    made = []
    yield made
    for m in made:
        m.stop()


def create_topic(server, name, partitions):
    a = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % server.port("kafka")})
    a.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def produce(server, topic, start, count, partitions):
    p = Producer({"bootstrap.servers": "127.0.0.1:%d" % server.port("kafka"), "linger.ms": 5})
    for i in range(start, start + count):
        p.produce(topic, value=b"v%07d" % i, partition=i % partitions)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    return ["v%07d" % i for i in range(start, start + count)]


def all_values(ms):
    out = []
    for m in ms:
        out += m.values()
    return out


def settle(server, topic, partitions, group):
    """Waits until nothing older can still arrive at the group: a sentinel
    per partition, produced after everything else; partitions are read in
    order, so once the group has each sentinel (and no rebalance is under
    way) a stray duplicate would already be there. Polling, not a sleep."""
    tag = "~%d" % time.monotonic_ns()
    p = Producer({"bootstrap.servers": "127.0.0.1:%d" % server.port("kafka")})
    for i in range(partitions):
        p.produce(topic, value=("%s-%d" % (tag, i)).encode(), partition=i)
    assert p.flush(30) == 0
    want = {"%s-%d" % (tag, i) for i in range(partitions)}
    wait_for(lambda: want <= set(all_values(group)), what="the sentinels")


def real(values):
    """The values without settle()'s sentinels."""
    return [v for v in values if not v.startswith("~")]


def stable_assignment(ms, total):
    """Every member has an assignment and together they cover total partitions."""
    return all(m.assignment() is not None for m in ms) and sum(nparts(m.assignment()) for m in ms) == total


def test_three_members_share_partitions_then_one_closes_then_one_is_killed(gserver, members):
    topic = "orders"
    create_topic(gserver, topic, 6)
    for _ in range(3):
        members.append(Member(gserver, "g-share", topic))
    a, b, c = members
    wait_for(lambda: stable_assignment(members, 6) and all(nparts(m.assignment()) == 2 for m in members),
             what="three members with two partitions each")
    expected = produce(gserver, topic, 0, 30000, 6)
    wait_for(lambda: len(all_values(members)) >= 30000, what="30,000 messages")
    settle(gserver, topic, 6, members)
    got = real(all_values(members))
    assert sorted(got) == expected, "each message exactly once across the group"
    for m in members:
        assert len(real(m.values())) == 10000
    # Offsets within each partition arrive in order, without gaps.
    for m in members:
        per = {}
        for p, o, _ in m.msgs:
            per.setdefault(p, []).append(o)
        for offs in per.values():
            assert offs == list(range(offs[0], offs[0] + len(offs)))

    # One member closes: LeaveGroup, the other two take over its partitions.
    t0 = time.monotonic()
    c.close()
    wait_for(lambda: stable_assignment([a, b], 6) and a.assigns[-1][0] > t0 and b.assigns[-1][0] > t0,
             what="rebalance after a member left")
    leave_ms = (max(a.assigns[-1][0], b.assigns[-1][0]) - t0) * 1000
    print("\nrebalance after a member closed: %.0f ms" % leave_ms)
    before = len(all_values(members))
    expected += produce(gserver, topic, 30000, 3000, 6)
    wait_for(lambda: len(all_values(members)) >= before + 3000, what="messages after the close")
    assert sorted(set(real(all_values(members)))) == expected, "nothing lost after a member left"

    # One member is killed: its session expires, the survivor takes all six
    # partitions and gets the killed member's uncommitted messages again.
    expected += produce(gserver, topic, 33000, 600, 6)
    wait_for(lambda: len(all_values(members)) >= before + 3600, what="messages before the kill")
    t0 = time.monotonic()
    b.kill()
    wait_for(lambda: nparts(a.assignment()) == 6 and a.assigns[-1][0] > t0, timeout=60,
             what="rebalance after a member was killed")
    kill_ms = (a.assigns[-1][0] - t0) * 1000
    print("rebalance after a member was killed (session.timeout.ms=%d): %.0f ms" % (SESSION_MS, kill_ms))
    expected += produce(gserver, topic, 33600, 600, 6)
    wait_for(lambda: set(expected) <= set(all_values(members)), what="every message after the kill")
    assert sorted(set(real(all_values(members)))) == expected


def test_killed_member_uncommitted_messages_are_redelivered(gserver, members):
    topic = "redeliver"
    create_topic(gserver, topic, 2)
    # k commits synchronously after each of its first 50 messages, then stops
    # committing; everything it received afterwards must come back.
    k = Member(gserver, "g-kill", topic, **{"enable.auto.commit": False, "_commit_every": 1,
                                             "_stop_committing_after": 50})
    s = Member(gserver, "g-kill", topic)
    members += [k, s]
    wait_for(lambda: stable_assignment(members, 2) and nparts(k.assignment()) == 1, what="assignment")
    expected = produce(gserver, topic, 0, 400, 2)
    wait_for(lambda: len(all_values(members)) >= 400, what="first delivery")
    with k.lock:
        uncommitted = [v for _, _, v in k.msgs[k.commits[-1][0]:]]
        assert len(k.commits) == 50
    assert len(uncommitted) > 0
    k.kill()
    wait_for(lambda: set(uncommitted) <= set(s.values()), timeout=60, what="redelivery to the survivor")
    assert sorted(set(all_values(members))) == expected
    # The survivor started k's partition exactly at k's last commit.
    kp, committed = k.commits[-1][1], k.commits[-1][2]
    with s.lock:
        assert min(o for p, o, _ in s.msgs if p == kp) == committed


def test_restarted_consumer_resumes_from_committed_offset(gserver, members):
    topic = "resume"
    create_topic(gserver, topic, 3)
    expected = produce(gserver, topic, 0, 900, 3)
    m = Member(gserver, "g-resume", topic)
    members.append(m)
    wait_for(lambda: len(m.values()) >= 900, what="first 900")
    m.close()  # commits its offsets
    assert sorted(m.values()) == expected
    more = produce(gserver, topic, 900, 300, 3)
    m2 = Member(gserver, "g-resume", topic)
    members.append(m2)
    wait_for(lambda: len(m2.values()) >= 300, what="the new messages")
    settle(gserver, topic, 3, [m2])
    assert sorted(real(m2.values())) == more, "resumed exactly at the committed offsets"


def test_auto_offset_reset_earliest_and_latest(gserver, members):
    topic = "reset"
    create_topic(gserver, topic, 2)
    old = produce(gserver, topic, 0, 100, 2)
    early = Member(gserver, "g-early", topic, **{"auto.offset.reset": "earliest"})
    late = Member(gserver, "g-late", topic, **{"auto.offset.reset": "latest"})
    members += [early, late]
    wait_for(lambda: nparts(early.assignment()) == 2 and nparts(late.assignment()) == 2, what="assignments")
    # "latest" starts wherever each partition's log ends when the consumer
    # looks it up: produce rounds until it has seen both partitions, then
    # check that it never got an old message and, per partition, got
    # everything from its first message on.
    new = []
    n = 100
    for _ in range(100):
        new += produce(gserver, topic, n, 20, 2)
        n += 20
        with late.lock:
            if len({p for p, _, _ in late.msgs}) == 2:
                break
        time.sleep(0.1)
    wait_for(lambda: len(early.values()) >= n, what="early gets everything")
    assert not set(late.values()) & set(old)

    def suffixes_complete():
        with late.lock:
            by_part = {}
            for p, _, v in late.msgs:
                by_part.setdefault(p, []).append(v)
        for p in (0, 1):
            got = sorted(by_part.get(p, []))
            mine = [v for v in new if int(v[1:]) % 2 == p]
            if not got or got != [v for v in mine if v >= got[0]]:
                return False
        return True

    wait_for(suffixes_complete, what="late gets every message after its start")
    assert sorted(early.values()) == old + new


def test_two_groups_each_receive_everything(gserver, members):
    topic = "broadcast"
    create_topic(gserver, topic, 4)
    expected = produce(gserver, topic, 0, 2000, 4)
    g1 = [Member(gserver, "g-one", topic) for _ in range(2)]
    g2 = [Member(gserver, "g-two", topic)]
    members += g1 + g2
    wait_for(lambda: len(all_values(g1)) >= 2000 and len(all_values(g2)) >= 2000, what="both groups")
    settle(gserver, topic, 4, g1)
    wait_for(lambda: len(all_values(g2)) >= 2004, what="the sentinels in the other group")
    assert sorted(real(all_values(g1))) == expected
    assert sorted(real(all_values(g2))) == expected


def test_cooperative_sticky_rebalance_loses_nothing(gserver, members):
    topic = "coop"
    create_topic(gserver, topic, 6)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    a = Member(gserver, "g-coop", topic, **conf)
    members.append(a)
    wait_for(lambda: nparts(a.assignment()) == 6, what="first member owns everything")
    expected = produce(gserver, topic, 0, 1200, 6)
    wait_for(lambda: len(a.values()) >= 1200, what="first batch")
    b = Member(gserver, "g-coop", topic, **conf)
    members.append(b)
    # Incremental: b gets partitions, a gives up only those.
    wait_for(lambda: b.assignment() not in (None, "-"), what="incremental assignment")
    with a.lock:
        assert a.revokes, "a gave partitions up incrementally"
        assert nparts(a.revokes[-1][1]) < 6
    expected += produce(gserver, topic, 1200, 1200, 6)
    wait_for(lambda: set(expected) <= set(all_values(members)), what="everything after the rebalance")
    assert sorted(set(all_values(members))) == expected


def test_static_member_rejoins_without_rebalance(gserver, members):
    topic = "static"
    create_topic(gserver, topic, 4)
    conf = {"session.timeout.ms": 10000}
    a = Member(gserver, "g-static", topic, **{"group.instance.id": "inst-a", **conf})
    b = Member(gserver, "g-static", topic, **{"group.instance.id": "inst-b", **conf})
    members += [a, b]
    wait_for(lambda: stable_assignment([a, b], 4) and nparts(a.assignment()) == 2, what="two static members")
    with b.lock:
        b_events = (len(b.assigns), len(b.revokes))
    a_parts = a.assignment()
    # A static member's close sends no LeaveGroup; it comes back within the
    # session timeout with the same group.instance.id.
    a.close()
    a2 = Member(gserver, "g-static", topic, **{"group.instance.id": "inst-a", **conf})
    members.append(a2)
    wait_for(lambda: a2.assignment() is not None, what="the static member's assignment")
    assert a2.assignment() == a_parts, "same partitions as before"
    expected = produce(gserver, topic, 0, 400, 4)
    wait_for(lambda: len(all_values([a2, b])) >= 400, what="deliveries")
    with b.lock:
        assert (len(b.assigns), len(b.revokes)) == b_events, "the other member saw no rebalance"
    assert sorted(all_values([a2, b])) == expected


def test_offsets_survive_server_restart_and_kill(tmp_path, members):
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), listeners=("kafka",), extra=SERVER_FLAGS)
    try:
        topic = "durable"
        create_topic(s, topic, 3)
        produce(s, topic, 0, 300, 3)
        bs = "127.0.0.1:%d" % s.port("kafka")
        c = Consumer({"bootstrap.servers": bs, "group.id": "g-durable", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS})
        c.subscribe([topic])
        seen = 0
        deadline = time.monotonic() + 30
        while seen < 200 and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                seen += 1
        c.commit(asynchronous=False)
        parts = [TopicPartition(topic, p) for p in range(3)]
        before = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
        c.close()
        # A partition it read nothing from has no commit (OFFSET_INVALID).
        assert sum(max(o, 0) for o in before.values()) == seen
        for sig in (signal.SIGTERM, signal.SIGKILL):
            s.stop(sig, check=(sig == signal.SIGTERM))
            s.start()
            bs = "127.0.0.1:%d" % s.port("kafka")
            c = Consumer({"bootstrap.servers": bs, "group.id": "g-durable", "enable.auto.commit": False,
                          "session.timeout.ms": SESSION_MS})
            after = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
            assert after == before, sig
            c.close()
        # The group re-forms and resumes at the committed offsets.
        m = Member(s, "g-durable", topic)
        members.append(m)
        rest = ["v%07d" % i for i in range(300) if i // 3 >= max(before[i % 3], 0)]
        wait_for(lambda: len(m.values()) >= len(rest), what="the rest")
        settle(s, topic, 3, [m])
        assert sorted(real(m.values())) == rest
    finally:
        for m in members:
            m.stop()
        if s.proc is not None:
            s.stop()


if __name__ == "__main__":
    consumer_main(sys.argv[1:])
