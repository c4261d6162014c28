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
