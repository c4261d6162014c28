"""The corruption matrix (issue 13): every kind of file sluiced keeps —
active and sealed Kafka segments, their indexes, stream logs, and each
state journal (kafka, groups, jobs, keys, streams) — truncated, with a bit
flipped, with a page zeroed, or with garbage appended, after a clean stop
and after a SIGKILL. Each case starts the real server on a damaged copy of
one golden data directory and checks, with real clients (confluent-kafka,
redis-py, the beanstalkd protocol):

- the server starts (no --strict-recovery);
- no damaged byte is served: every Kafka message, stream entry, list item,
  string and job read back is byte for byte one that was written;
- everything undamaged is still readable: nothing is lost outside the
  damaged file, and a damaged metadata journal costs no log data (a topic
  or stream the journal forgot is adopted);
- nothing is deleted: every file of the golden directory is still there,
  and a damaged journal's tail is kept aside (NAME.journal.damaged-*);
- the damage is reported (a warn or error line naming the file).

The golden directories are built once per test run and shared by the
pytest-xdist workers (a file lock; one server per test otherwise), so the
cases run in parallel."""
import fcntl
import glob
import json
import os
import random
import shutil
import signal
import struct
import sys
import time

import pytest
import redis
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402

TOPIC = "k"
NPART = 2
SEG_BYTES = 16384
EXTRA = ["--log.segment.bytes=%d" % SEG_BYTES, "--log.verify.bytes.per.sec=0"]


# --- the golden data -----------------------------------------------------------------

def kafka_value(p, i):
    return b"k-%d-%05d-" % (p, i) + b"x" * 90


def stream_fields(i):
    return {b"i": b"%d" % i, b"v": b"y" * 40}


def write_phase(sl, first, n, exp, groups):
    """Writes through every protocol: n Kafka messages per partition, n
    stream entries, n/5 list items, jobs and strings; numbering starts at
    `first`, so a second phase adds to the first."""
    boot = "127.0.0.1:%d" % sl.port("kafka")
    if first == 0:
        admin = AdminClient({"bootstrap.servers": boot})
        for f in admin.create_topics([NewTopic(TOPIC, num_partitions=NPART,
                                               replication_factor=1)]).values():
            f.result(timeout=30)
    prod = Producer({"bootstrap.servers": boot, "acks": "all", "linger.ms": 2})
    for i in range(first, first + n):
        for p in range(NPART):
            prod.produce(TOPIC, value=kafka_value(p, i), partition=p)
        if i % 50 == 0:
            prod.flush(30)
    assert prod.flush(30) == 0
    for p in range(NPART):
        exp["kafka"][str(p)] += [kafka_value(p, i).decode() for i in range(first, first + n)]
    if groups:
        c = Consumer({"bootstrap.servers": boot, "group.id": "cg", "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(TOPIC, 0, 300), TopicPartition(TOPIC, 1, 200)],
                 asynchronous=False)
        c.close()
        exp["committed"] = {"0": 300, "1": 200}

    r = redis.Redis(port=sl.port("resp"))
    for i in range(first, first + n):
        r.xadd("st", stream_fields(i), id="%d-1" % (i + 1))
    exp["stream"] += list(range(first, first + n))
    if groups:
        r.xgroup_create("st", "sg", id="0")
        got = r.xreadgroup("sg", "c1", {"st": ">"}, count=100)
        ids = [e[0] for e in got[0][1]]
        r.xack("st", "sg", *ids[:50])
    items = ["item-%d" % i for i in range(first, first + n // 5)]
    pipe = r.pipeline(transaction=False)
    for k in range(0, len(items), 10):
        pipe.rpush("list", *items[k:k + 10])
    for i in range(first, first + 40):
        pipe.set("str:%d" % i, "val-%d" % i)
    pipe.execute()
    r.delete(*["str:%d" % i for i in range(first, first + 10)])
    exp["list"] += items
    exp["strings"].update({"str:%d" % i: "val-%d" % i for i in range(first + 10, first + 40)})
    # A damaged journal may lose deletions too: what was deleted may return.
    exp["strings_ever"].update({"str:%d" % i: "val-%d" % i for i in range(first, first + 40)})
    r.close()

    b = bstk.Client(sl.port("beanstalk"))
    b.cmd(b"use jt\r\n")
    b.cmd(b"watch jt\r\n")
    ids = []
    for i in range(first, first + 60):
        body = b"job-%d" % i
        rep = b.cmd(b"put 100 0 120 %d\r\n%s\r\n" % (len(body), body))
        assert rep.startswith(b"INSERTED"), rep
        ids.append(int(rep.split()[1]))
    for _ in range(10):  # reserve and delete the oldest ten
        rep = b.cmd(b"reserve-with-timeout 0\r\n")
        jid = int(rep.split()[1])
        assert b.cmd(b"delete %d\r\n" % jid) == b"DELETED\r\n"
    b.close()
    # Equal priorities: reserved oldest first.
    exp["jobs"] = (exp["jobs"] + ["job-%d" % i for i in range(first, first + 60)])[10:]
    exp["jobs_ever"] += ["job-%d" % i for i in range(first, first + 60)]


def build_golden(root):
    """root/clean: written, then stopped with SIGTERM; root/unclean: that,
    restarted, written some more and killed. Expectations in exp-*.json."""
    exp = {"kafka": {str(p): [] for p in range(NPART)}, "stream": [], "list": [],
           "strings": {}, "strings_ever": {}, "jobs": [], "jobs_ever": [], "committed": {}}
    data = os.path.join(root, "work")
    with sluice.Sluiced(data_dir=data, extra=EXTRA) as sl:
        write_phase(sl, 0, 600, exp, True)
    shutil.copytree(data, os.path.join(root, "clean"))
    with open(os.path.join(root, "exp-clean.json"), "w") as f:
        json.dump(exp, f)
    sl = sluice.Sluiced(data_dir=data, extra=EXTRA)
    try:
        write_phase(sl, 600, 150, exp, False)
    finally:
        sl.kill()
    shutil.copytree(data, os.path.join(root, "unclean"))
    with open(os.path.join(root, "exp-unclean.json"), "w") as f:
        json.dump(exp, f)
    shutil.rmtree(data)


def golden_root(tmp_path_factory):
    # Shared by every xdist worker of this run (their base temps are
    # siblings), built by whichever gets the lock first.
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = os.path.join(str(base), "corruption-golden")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(root, "done")):
            for d in ("work", "clean", "unclean"):
                shutil.rmtree(os.path.join(root, d), ignore_errors=True)
            build_golden(root)
            open(os.path.join(root, "done"), "w").close()
    return root


# --- file walking ----------------------------------------------------------------------

def walk_batches(path):
    """(position, size, records) of each valid-looking batch header from the
    start of a segment, and the end of the last one."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 61 <= len(data):
        blen = struct.unpack(">i", data[pos + 8:pos + 12])[0]
        if data[pos + 16] != 2 or blen < 49 or pos + 12 + blen > len(data):
            break
        out.append((pos, 12 + blen, struct.unpack(">i", data[pos + 57:pos + 61])[0]))
        pos += 12 + blen
    return out, pos


def journal_end(path):
    """End of the last whole frame of a journal (preallocated zeros after)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 8
    while pos + 9 <= len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        if n == 0 or pos + 8 + n > len(data):
            break
        pos += 8 + n
    return pos


def files_of(data):
    out = set()
    for dirpath, _, names in os.walk(data):
        for n in names:
            if n in ("LOCK", "CLEAN", "recovery-point") or n.endswith(".tmp"):
                continue
            out.add(os.path.relpath(os.path.join(dirpath, n), data))
    return out


# --- the targets -----------------------------------------------------------------------

def kseg(data, which):
    segs = sorted(glob.glob(os.path.join(data, "topics", TOPIC + "-0", "*.log")))
    assert len(segs) >= 3, segs
    return segs[1] if which == "sealed" else segs[-1]


def sseg(data, which):
    segs = sorted(glob.glob(os.path.join(data, "streams", "[0-9]*", "*.log")))
    assert len(segs) >= 3, segs
    return segs[1] if which == "sealed" else segs[-1]


TARGETS = {
    "kafka-sealed": lambda d: kseg(d, "sealed"),
    "kafka-active": lambda d: kseg(d, "active"),
    "kafka-index": lambda d: kseg(d, "sealed")[:-4] + ".index",
    "kafka-timeindex": lambda d: kseg(d, "sealed")[:-4] + ".timeindex",
    "stream-sealed": lambda d: sseg(d, "sealed"),
    "stream-active": lambda d: sseg(d, "active"),
    "stream-index": lambda d: sseg(d, "sealed")[:-4] + ".index",
    "kafka.journal": lambda d: os.path.join(d, "kafka.journal"),
    "groups.journal": lambda d: os.path.join(d, "groups", "groups.journal"),
    "jobs.journal": lambda d: os.path.join(d, "beanstalk", "jobs.journal"),
    "keys.journal": lambda d: os.path.join(d, "resp", "keys.journal"),
    "streams.journal": lambda d: os.path.join(d, "streams", "streams.journal"),
}


def data_end(target, path):
    if target.endswith(".journal"):
        return journal_end(path)
    if target.endswith("index"):
        return os.path.getsize(path)
    return walk_batches(path)[1]


def damage(target, path, how):
    """Damages the file; returns the bytes of data the damage may cost
    (for segments: the records from the damage point on may be lost)."""
    size = os.path.getsize(path)
    end = data_end(target, path)
    mid = end // 2
    if how == "truncate":
        # A torn file: cut inside a batch. A cut exactly between batches of
        # the active segment after a SIGKILL looks like writes the crash
        # stopped; only an index that already passed it could tell (and
        # the active segment's index trails the log: docs/formats-log.md).
        if target.startswith(("kafka-", "stream-")) and not target.endswith("index"):
            if any(at == mid for at, _, _ in walk_batches(path)[0]):
                mid += 5
        os.truncate(path, mid)
    elif how == "flip":
        with open(path, "r+b") as f:
            f.seek(mid)
            b = f.read(1)
            f.seek(mid)
            f.write(bytes([b[0] ^ 0x10]))
    elif how == "zero":
        at = mid & ~4095
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(b"\0" * min(4096, size - at))
    elif how == "garbage":
        rnd = random.Random(size)
        with open(path, "ab") as f:
            f.write(bytes(rnd.randrange(256) for _ in range(512)))
    return mid


# --- checks ---------------------------------------------------------------------------

def check_kafka(sl, exp, lost_ok):
    boot = "127.0.0.1:%d" % sl.port("kafka")
    c = Consumer({"bootstrap.servers": boot, "group.id": "cg", "enable.auto.commit": False,
                  "check.crcs": True, "auto.offset.reset": "earliest",
                  "allow.auto.create.topics": False, "enable.partition.eof": True})
    try:
        md = c.list_topics(TOPIC, timeout=10).topics[TOPIC]
        assert md.error is None, "topic %s gone: %s" % (TOPIC, md.error)
        assert len(md.partitions) == NPART
        for p in range(NPART):
            want = exp["kafka"][str(p)]
            lo, hi = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
            c.assign([TopicPartition(TOPIC, p, 0)])
            got, last, progress = [], -1, time.monotonic()
            # Until the consumer reaches the end of the partition (librdkafka
            # reports it as a _PARTITION_EOF event at the high watermark);
            # the last offsets may be a damaged range it steps over.
            while True:
                m = c.poll(0.5)
                if m is None:
                    assert time.monotonic() - progress < 10, \
                        "partition %d: consumer stuck after %d of %d" % (p, last, hi)
                    continue
                progress = time.monotonic()
                if m.error() and m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= hi:
                        break
                    continue
                assert not m.error(), m.error()
                assert m.partition() == p and m.offset() > last
                last = m.offset()
                got.append(m.value().decode(errors="replace"))
            wanted = set(want)
            altered = [v for v in got if v not in wanted]
            assert not altered, "partition %d served altered data: %r" % (p, altered[:3])
            assert len(set(got)) == len(got), "partition %d served a message twice" % p
            assert got == sorted(got), "partition %d out of order" % p
            lost = len(want) - len(got)
            assert lost <= lost_ok.get(p, 0), "partition %d lost %d (allowed %d)" % (
                p, lost, lost_ok.get(p, 0))
        committed = c.committed([TopicPartition(TOPIC, p) for p in range(NPART)], timeout=10)
        return {str(tp.partition): tp.offset for tp in committed}
    finally:
        c.close()


def check_stream(r, exp, lost_ok):
    n = r.xlen("st")
    entries = r.xrange("st")
    assert n == len(entries), "XLEN %d but XRANGE returns %d" % (n, len(entries))
    want = set(exp["stream"])
    seen = []
    for eid, fields in entries:
        assert fields, "entry %r served without fields" % eid
        i = int(eid.split(b"-")[0]) - 1
        assert i in want, "unknown entry %r" % eid
        assert fields == stream_fields(i), "entry %r altered: %r" % (eid, fields)
        seen.append(i)
    lost = len(want) - len(seen)
    assert lost <= lost_ok, "stream lost %d entries (allowed %d)" % (lost, lost_ok)
    return lost


def check_keys(r, exp, exact):
    got = [v.decode() for v in r.lrange("list", 0, -1)]
    want = exp["list"]
    it = iter(want)
    assert all(v in it for v in got), "list items altered or reordered: %r" % got[:5]
    strings = {k.decode(): v.decode() for k, v in
               ((k, r.get(k)) for k in r.scan_iter("str:*")) if v is not None}
    for k, v in strings.items():
        assert exp["strings_ever"].get(k) == v, "string %s altered: %r" % (k, v)
    if exact:
        assert got == want
        assert strings == exp["strings"]


def check_jobs(sl, exp, exact):
    b = bstk.Client(sl.port("beanstalk"))
    b.cmd(b"watch jt\r\n")
    got = []
    while True:
        rep = b.cmd(b"reserve-with-timeout 0\r\n")
        if not rep.startswith(b"RESERVED"):
            assert rep == b"TIMED_OUT\r\n", rep
            break
        got.append(rep.split(b"\r\n")[1].decode(errors="replace"))
    b.close()
    want = set(exp["jobs_ever"])
    assert all(j in want for j in got), "jobs altered: %r" % [j for j in got if j not in want]
    assert len(set(got)) == len(got), "a job served twice"
    if exact:
        assert sorted(got) == sorted(exp["jobs"])


def records_from(path, pos):
    """Records of batches that overlap [pos, end) of a golden segment."""
    batches, _ = walk_batches(path)
    return sum(n for at, size, n in batches if at + size > pos)


CASES = [(stop, target, how)
         for stop in ("clean", "unclean")
         for target in TARGETS
         for how in ("truncate", "flip", "zero", "garbage")]


@pytest.mark.parametrize("stop,target,how", CASES,
                         ids=["%s-%s-%s" % c for c in CASES])
def test_corruption(tmp_path_factory, tmp_path, stop, target, how):
    root = golden_root(tmp_path_factory)
    with open(os.path.join(root, "exp-%s.json" % stop)) as f:
        exp = json.load(f)
    data = str(tmp_path / "data")
    shutil.copytree(os.path.join(root, stop), data)
    before = files_of(data)
    path = TARGETS[target](data)
    rel = os.path.relpath(path, data)
    golden_path = os.path.join(root, stop, rel)
    pos = damage(target, path, how)

    kafka_lost, stream_lost = {}, 0
    if target in ("kafka-sealed", "kafka-active") and how != "garbage":
        # The damaged batches (from the damage on, when truncated) may go.
        start = pos if how == "truncate" else (pos & ~4095 if how == "zero" else pos)
        kafka_lost = {0: records_from(golden_path, start)}
        if how != "truncate":
            end = start + (4096 if how == "zero" else 1)
            kafka_lost = {0: sum(n for at, size, n in walk_batches(golden_path)[0]
                                 if at < end and at + size > start)}
    if target in ("stream-sealed", "stream-active") and how != "garbage":
        start = pos & ~4095 if how == "zero" else pos
        if how == "truncate":
            stream_lost = records_from(golden_path, start)
        else:
            end = start + (4096 if how == "zero" else 1)
            stream_lost = sum(n for at, size, n in walk_batches(golden_path)[0]
                              if at < end and at + size > start)

    with sluice.Sluiced(data_dir=data, extra=EXTRA) as sl:
        committed = check_kafka(sl, exp, kafka_lost)
        if target != "groups.journal":
            assert committed == exp["committed"], committed
        else:
            for p, off in committed.items():
                assert off in (exp["committed"][p], -1001), committed
        r = redis.Redis(port=sl.port("resp"))
        check_stream(r, exp, stream_lost)
        if target not in ("streams.journal", "stream-sealed", "stream-active"):
            groups = r.xinfo_groups("st")
            assert [g["name"] for g in groups] == [b"sg"] and groups[0]["pending"] == 50, groups
        check_keys(r, exp, target != "keys.journal")
        r.close()
        check_jobs(sl, exp, target != "jobs.journal")
        err = sl.stderr()
    after = files_of(data)
    missing = before - after
    assert not missing, "files deleted: %s" % sorted(missing)
    assert "sanitizer" not in err.lower()
    removed = [l for l in err.splitlines() if "removing leftover" in l or "removing orphan" in l]
    assert not removed, removed
    if target.endswith(".journal") and how in ("flip", "zero"):
        # The damaged records are copied aside before the journal is cut.
        aside = glob.glob(path + ".damaged-*")
        assert aside, "no copy of the damaged journal tail kept:\n" + err[-3000:]
    if not target.endswith("index") and how != "garbage":
        name = os.path.basename(path)
        if name.endswith(".log"):
            name = name[:-4]  # segments are named by their base
        lines = [l for l in err.splitlines() if name in l and (" warn " in l or " error " in l)]
        assert lines, "damage to %s went unreported:\n%s" % (rel, err[-3000:])
