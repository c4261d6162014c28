"""libsluice's pusher (lib/pusher.c) against a real sluiced, driven through
tests/lib/pusher_tool.c; what landed is read back with confluent_kafka
and, for record batches, straight from the partition's segment files."""
import binascii
import glob
import json
import os
import queue
import signal
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice

TOOL = os.path.join(sluice.LIBTESTS, "pusher_tool")


def brokers(server):
    return "127.0.0.1:%d" % server.port("kafka")


def create_topic(server, name, partitions):
    admin = AdminClient({"bootstrap.servers": brokers(server)})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(timeout=10)


def topic_exists(server, name):
    admin = AdminClient({"bootstrap.servers": brokers(server)})
    md = admin.list_topics(timeout=10)
    return name in md.topics and md.topics[name].error is None


def no_sanitizer(stderr):
    for m in sluice.SANITIZER_MARKERS:
        assert m not in stderr, stderr


def run_tool(server, topic, lines, opts=(), sep=None, flags=(), expect_rc=0):
    """Pushes lines in one run; returns the JSON lines it printed."""
    args = [TOOL, brokers(server), topic]
    for o in opts:
        args += ["-o", o]
    if sep:
        args += ["-s", sep]
    args += list(flags)
    p = subprocess.run(args, input="".join(l + "\n" for l in lines).encode(),
                       capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace")
    no_sanitizer(err)
    out = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert p.returncode == expect_rc, (p.returncode, out, err)
    return out, err


class Tool:
    """pusher_tool run interactively: one line in, its answers out."""

    def __init__(self, server, topic, opts=(), flags=("-a",)):
        args = [TOOL, brokers(server), topic]
        for o in opts:
            args += ["-o", o]
        self.p = subprocess.Popen(args + list(flags), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(json.loads(line))
        self.q.put(None)

    def send(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def next(self, key, timeout=10):
        """The next output object that has key (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no %r answer within %ss" % (key, timeout)
            obj = self.q.get(timeout=left)
            assert obj is not None, "pusher_tool ended early"
            if key in obj:
                return obj

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=60)
        err = self.p.stderr.read().decode(errors="replace")
        no_sanitizer(err)
        assert rc == 0, err
        return err


def consume_all(server, topic, partitions):
    """Every record of the topic as (partition, offset, key, value, headers)."""
    c = Consumer({"bootstrap.servers": brokers(server), "group.id": "verify",
                  "enable.auto.commit": False})
    try:
        want = {}
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > lo:
                want[p] = hi
        c.assign([TopicPartition(topic, p, 0) for p in want])
        got, seen = [], {p: 0 for p in want}
        deadline = time.monotonic() + 15
        while any(seen[p] < want[p] for p in want):
            assert time.monotonic() < deadline, (seen, want)
            for m in c.consume(500, timeout=0.2):
                assert m.error() is None, m.error()
                got.append((m.partition(), m.offset(), m.key(), m.value(), m.headers()))
                seen[m.partition()] = m.offset() + 1
        return got
    finally:
        c.close()


def high_watermark(server, topic, partition=0):
    c = Consumer({"bootstrap.servers": brokers(server), "group.id": "hw"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        c.close()


def record_batches(server, topic, partition):
    """(base offset, record count, attributes, size) of every RecordBatch in
    the partition's segments (docs/formats-log.md: batches back to back; an
    active segment ends in preallocated zeros)."""
    out = []
    d = os.path.join(server.data_dir, "topics", "%s-%d" % (topic, partition))
    for path in sorted(glob.glob(os.path.join(d, "*.log"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length <= 0:
                break
            attrs = struct.unpack_from(">h", data, pos + 21)[0]
            count = struct.unpack_from(">i", data, pos + 57)[0]
            out.append((base, count, attrs, 12 + length))
            pos += 12 + length
    return out


def fnv1a_partition(key, n):
    """kafka-go's Hash balancer, in Python: |int32(fnv1a(key)) % n| with Go's
    truncating %."""
    h = 0x811C9DC5
    for b in key:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    s = h - (1 << 32) if h >= 1 << 31 else h
    r = abs(s) % n
    return r


def test_lib_pusher_hash_keeps_keys_and_matches_librdkafka_fnv1a(server):
    create_topic(server, "h", 5)
    create_topic(server, "href", 5)
    keys = ["user-%d" % i for i in range(60)]
    lines = ["%s:v%d" % (keys[i % 60], i) for i in range(240)]
    run_tool(server, "h", lines, opts=["balancer=hash"], sep=":")
    got = consume_all(server, "h", 5)
    assert len(got) == 240
    where = {}
    for part, _, key, _, _ in got:
        where.setdefault(key, set()).add(part)
    assert all(len(s) == 1 for s in where.values()), where
    assert len({next(iter(s)) for s in where.values()}) == 5  # keys spread
    # The same keys through librdkafka's own fnv1a partitioner.
    prod = Producer({"bootstrap.servers": brokers(server), "partitioner": "fnv1a"})
    for k in keys:
        prod.produce("href", key=k.encode(), value=b"x")
    assert prod.flush(15) == 0
    ref = {key: part for part, _, key, _, _ in consume_all(server, "href", 5)}
    for k in keys:
        kb = k.encode()
        assert where[kb] == {ref[kb]} == {fnv1a_partition(kb, 5)}, k


def test_lib_pusher_round_robin_spreads_evenly(server):
    create_topic(server, "rr", 4)
    run_tool(server, "rr", ["m%d" % i for i in range(100)], opts=["balancer=round-robin"])
    got = consume_all(server, "rr", 4)
    counts = [sum(1 for g in got if g[0] == p) for p in range(4)]
    assert counts == [25, 25, 25, 25]
    # A null key under hash goes round-robin too.
    create_topic(server, "rrh", 4)
    run_tool(server, "rrh", ["n%d" % i for i in range(40)], opts=["balancer=hash"])
    counts = [sum(1 for g in consume_all(server, "rrh", 4) if g[0] == p) for p in range(4)]
    assert counts == [10, 10, 10, 10]


def test_lib_pusher_least_bytes_balances_bytes(server):
    create_topic(server, "lb", 3)
    sizes = [(i * 37) % 500 + 1 for i in range(150)]
    run_tool(server, "lb", ["x" * n for n in sizes])  # least-bytes is the default
    got = consume_all(server, "lb", 3)
    assert len(got) == 150
    total = [sum(len(g[3]) for g in got if g[0] == p) for p in range(3)]
    assert max(total) - min(total) <= max(sizes), total


def test_lib_pusher_manual_and_per_message_partition(server):
    create_topic(server, "man", 4)
    run_tool(server, "man", ["a1", "a2", "!part 1", "b1", "!part -1", "a3"],
             opts=["balancer=manual", "partition=2"])
    got = sorted((g[0], g[3]) for g in consume_all(server, "man", 4))
    assert got == [(1, b"b1"), (2, b"a1"), (2, b"a2"), (2, b"a3")]
    # A message's partition also overrides a real balancer.
    create_topic(server, "ovr", 3)
    run_tool(server, "ovr", ["!part 2"] + ["k%d:v" % i for i in range(20)],
             opts=["balancer=hash"], sep=":")
    assert {g[0] for g in consume_all(server, "ovr", 3)} == {2}
    # A partition the topic does not have is an error, not a crash.
    out, err = run_tool(server, "ovr", ["!part 7", "z"], opts=["sync=true"], expect_rc=1)
    assert out[0]["push"] == -6 and "partition" in out[0]["error"], out
    assert err == ""


def test_lib_pusher_crc16_is_xmodem_mod_n(server):
    create_topic(server, "crc", 7)
    keys = ["order-%d" % i for i in range(80)] + ["123456789", ""]
    run_tool(server, "crc", ["%s:%d" % (k, i) for i, k in enumerate(keys)],
             opts=["balancer=crc16"], sep=":")
    got = consume_all(server, "crc", 7)
    assert len(got) == len(keys)
    for part, _, key, _, _ in got:
        assert part == binascii.crc_hqx(key, 0) % 7, key
    assert binascii.crc_hqx(b"123456789", 0) == 0x31C3


def test_lib_pusher_headers_arrive(server):
    create_topic(server, "hdr", 1)
    run_tool(server, "hdr", ["!header trace=abc-123", "!header empty=", "k:with",
                             "!noheaders", "k:without"], sep=":")
    got = sorted(consume_all(server, "hdr", 1), key=lambda g: g[1])
    assert got[0][2:4] == (b"k", b"with")
    assert got[0][4] == [("trace", b"abc-123"), ("empty", None)]
    assert got[1][4] in (None, [])


def test_lib_pusher_batches_by_chunk_size(server):
    create_topic(server, "small", 1)
    create_topic(server, "big", 1)
    value = "v" * 100
    # A long flush.interval: only chunk.size can close batches before the
    # final flush; that flush sends the rest at once.
    t0 = time.monotonic()
    run_tool(server, "small", [value] * 200,
             opts=["chunk.size=1024", "flush.interval=20s", "compression=none"])
    assert time.monotonic() - t0 < 15
    small = record_batches(server, "small", 0)
    assert sum(b[1] for b in small) == 200
    assert len(small) >= 10, small
    # No batch much beyond a chunk (librdkafka closes one once the next
    # message would not fit).
    assert all(b[3] <= 1024 + 200 for b in small), small
    assert all(b[2] & 7 == 0 for b in small)
    run_tool(server, "big", [value] * 200, opts=["flush.interval=20s", "compression=gzip"])
    big = record_batches(server, "big", 0)
    assert [b[1] for b in big] == [200], big
    assert big[0][2] & 7 == 1  # gzip
    # The default compression is snappy, as kq's.
    create_topic(server, "snap", 1)
    run_tool(server, "snap", ["s" * 300] * 3)  # compressible: librdkafka sends
    # a batch uncompressed when compressing would not shrink it
    assert {b[2] & 7 for b in record_batches(server, "snap", 0)} == {2}


def test_lib_pusher_batches_by_interval(server):
    create_topic(server, "iv", 1)
    t = Tool(server, "iv", opts=["flush.interval=300ms"], flags=("-a", "-d"))
    t.send("one")
    assert t.next("push")["push"] == 0
    dr = t.next("dr", timeout=5)  # sent after ~300 ms, well within 5 s
    assert dr["err"] == 0 and dr["offset"] == 0
    # linger.ms holds the message back: it cannot be acknowledged sooner.
    assert dr["latency_us"] >= 250000, dr
    assert high_watermark(server, "iv") == 1
    t.close()

    create_topic(server, "iv60", 1)
    t = Tool(server, "iv60", opts=["flush.interval=60s"])
    t.send("held")
    assert t.next("push")["push"] == 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert high_watermark(server, "iv60") == 0
    t.send("!flush 10000")
    assert t.next("flush")["flush"] == 0
    assert high_watermark(server, "iv60") == 1
    t.send("!metrics")
    assert t.next("pushed")["pushed"] == 1
    t.close()


def test_lib_pusher_sync_push_returns_after_ack(server):
    create_topic(server, "sy", 1)
    # flush.interval would hold an async message for a minute; sync pushes
    # go out at once.
    t = Tool(server, "sy", opts=["sync=true", "flush.interval=60s"])
    for i in range(5):
        t.send("m%d" % i)
        ack = t.next("push", timeout=10)
        assert ack["push"] == 0 and ack["pushed"] == i + 1, ack
        assert high_watermark(server, "sy") == i + 1
    t.close()


def test_lib_pusher_errors_are_returned_not_printed(server):
    out, err = run_tool(server, "missing", ["a", "b"], expect_rc=1)
    assert [o.get("push") for o in out[:2]] == [-6, -6], out
    assert "missing does not exist" in out[0]["error"]
    assert err == ""
    assert not topic_exists(server, "missing")
    metrics = next(o for o in out if "push_failed" in o)
    assert metrics["push_failed"] == 2 and metrics["pushed"] == 0
    # A conf a pusher cannot use: NULL from sl_pusher_new, the key named.
    out, err = run_tool(server, "a,b", ["x"], expect_rc=2)
    assert out[0]["new"] == -1 and out[0]["error"].startswith("topic:"), out
    assert err == ""
    out, err = run_tool(server, "t", ["x"], opts=["acks=2"], expect_rc=2)
    assert "acks" in out[0]["error"], out
    assert err == ""


def test_lib_pusher_auto_create_creates_the_topic(server):
    assert not topic_exists(server, "fresh")
    out, _ = run_tool(server, "fresh", ["hello"], opts=["auto.create=true"], flags=["-d"])
    assert out[0]["dr"] == 1 and out[0]["err"] == 0, out
    assert topic_exists(server, "fresh")
    assert [g[3] for g in consume_all(server, "fresh", 1)] == [b"hello"]


def test_lib_pusher_acks_0(server):
    create_topic(server, "a0", 2)
    out, _ = run_tool(server, "a0", ["p%d" % i for i in range(10)],
                      opts=["acks=0", "balancer=round-robin"], flags=["-d"])
    drs = [o for o in out if "dr" in o]
    assert len(drs) == 10 and all(d["err"] == 0 and d["offset"] == -1 for d in drs)
    assert sorted(g[3] for g in consume_all(server, "a0", 2)) == sorted(
        b"p%d" % i for i in range(10))


def test_lib_pusher_async_error_reaches_flush_and_callback(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "data"), extra=["--message.max.bytes=2000"]) as s:
        create_topic(s, "tb", 1)
        t = Tool(s, "tb", opts=["compression=none"], flags=("-a", "-d"))
        t.send("small")
        t.send("!flush 10000")
        assert t.next("flush")["flush"] == 0
        t.send("B" * 5000)  # queued fine; the broker refuses the batch
        assert t.next("push")["push"] == 0
        t.send("!flush 10000")
        f = t.next("flush")
        assert f["flush"] == -9 and "tb" in f["error"], f  # SL_ETOOBIG
        t.send("!flush 10000")
        assert t.next("flush")["flush"] == 0  # reported once
        t.send("!metrics")
        m = t.next("push_failed")
        assert (m["pushed"], m["push_failed"], m["pushed_bytes"]) == (1, 1, 5)
        t.close()
        # In sync mode the push itself returns the broker's refusal.
        out, err = run_tool(s, "tb", ["B" * 5000, "ok"],
                            opts=["sync=true", "compression=none"], flags=["-d"], expect_rc=1)
        assert [o["err"] for o in out if "dr" in o] == [-9, 0]
        assert [o["push"] for o in out if "push" in o] == [-9], out
        assert err == ""


THREADS = os.path.join(sluice.LIBTESTS, "pusher_threads")


def test_lib_pusher_many_threads_one_pusher(server):
    create_topic(server, "thr", 4)
    p = subprocess.run([THREADS, brokers(server), "thr", "4", "5000", "balancer=hash"],
                       capture_output=True, timeout=60)
    no_sanitizer(p.stderr.decode(errors="replace"))
    res = json.loads(p.stdout.decode().splitlines()[-1])
    assert p.returncode == 0, res
    assert res["pushed"] == res["callbacks"] == 20000
    got = consume_all(server, "thr", 4)
    assert len(got) == 20000
    # Per key (thread), hash kept one partition and the push order.
    by_key = {}
    for part, off, key, value, _ in sorted(got, key=lambda g: (g[0], g[1])):
        by_key.setdefault(key, []).append((part, int(value)))
    for key, seq in by_key.items():
        assert len({part for part, _ in seq}) == 1, key
        assert [v for _, v in seq] == list(range(5000)), key


def test_lib_pusher_latency_of_plain_pushes(server):
    """sl_push without an opaque (the pusher's cheapest path) still reports
    each message's latency from its push call; pusher_threads checks every
    one against its own clock."""
    create_topic(server, "lat", 1)
    p = subprocess.run([THREADS, brokers(server), "lat", "1", "20000", "plain=1"],
                       capture_output=True, timeout=60)
    no_sanitizer(p.stderr.decode(errors="replace"))
    res = json.loads(p.stdout.decode().splitlines()[-1])
    assert p.returncode == 0, res
    assert res["pushed"] == res["callbacks"] == 20000 and res["bad_latency"] == 0, res
    assert res["max_latency_us"] > 0, res


def test_lib_pusher_full_queue_blocks_never_drops(server):
    """With the broker stopped nothing drains; past librdkafka's queue
    (262146 messages with the default chunk.size) a push must block, not
    fail; once the broker runs again every message lands."""
    create_topic(server, "full", 2)
    server.proc.send_signal(signal.SIGSTOP)
    stopped = True
    try:
        # auto.create=true skips the up-front topic check, which would
        # wait for the stopped broker.
        t = subprocess.Popen([THREADS, brokers(server), "full", "1", "300000", "progress=20000",
                              "auto.create=true", "balancer=round-robin"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in t.stdout] + [lines.put(None)],
                         daemon=True).start()
        at = 0
        while at < 260000:
            line = lines.get(timeout=30)
            assert line is not None, t.stderr.read()
            at = json.loads(line)["at"]
        # The queue holds 262146: the pusher cannot get to 280000.
        with pytest.raises(queue.Empty):
            while True:
                line = lines.get(timeout=1.0)
                assert json.loads(line)["at"] <= 262146, line
        server.proc.send_signal(signal.SIGCONT)
        stopped = False
        rc = t.wait(timeout=60)
    finally:
        if stopped:
            server.proc.send_signal(signal.SIGCONT)
    no_sanitizer(t.stderr.read().decode(errors="replace"))
    out = []
    while True:
        line = lines.get(timeout=10)
        if line is None:
            break
        out.append(json.loads(line))
    assert rc == 0, out[-1]
    assert out[-1]["pushed"] == 300000 and out[-1]["push_failed"] == 0, out[-1]
    # Latencies count the time a push spent blocked (the broker was
    # stopped for over a second), each checked against the tool's clock.
    assert out[-1]["bad_latency"] == 0 and out[-1]["max_latency_us"] >= 1000000, out[-1]
    assert high_watermark(server, "full", 0) == high_watermark(server, "full", 1) == 150000
