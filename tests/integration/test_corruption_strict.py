"""Metadata damage never deletes data, and one damaged file never stops the
server unless the operator asks (issue 13): the scenarios of the issue
report, driven by real clients.

- 20 bytes cut off kafka.journal and streams.journal after a clean stop
  (what removed a 1,000-message topic and a 1,000-entry stream before):
  everything is still there, the cut records are kept aside, the topic
  and the stream are adopted with warn lines.
- A journal with a bad magic is set aside and the server starts.
- --strict-recovery refuses to start instead, with one line naming the
  file and saying what to move; nothing is changed, and the next start
  without it recovers as above.
"""
import glob
import os
import subprocess
import sys

import redis
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402

N = 1000


def fill(data):
    with sluice.Sluiced(data_dir=data) as sl:
        boot = "127.0.0.1:%d" % sl.port("kafka")
        admin = AdminClient({"bootstrap.servers": boot})
        for f in admin.create_topics([NewTopic("orders", num_partitions=2,
                                               replication_factor=1)]).values():
            f.result(timeout=30)
        p = Producer({"bootstrap.servers": boot, "acks": "all", "linger.ms": 5})
        for i in range(N):
            p.produce("orders", value=b"order-%04d" % i, partition=i % 2)
        assert p.flush(30) == 0
        c = Consumer({"bootstrap.servers": boot, "group.id": "billing"})
        c.commit(offsets=[TopicPartition("orders", 0, 123)], asynchronous=False)
        c.close()
        r = redis.Redis(port=sl.port("resp"))
        pipe = r.pipeline(transaction=False)
        for i in range(N):
            pipe.xadd("events", {"n": i})
        pipe.execute()
        r.close()


def check(sl):
    boot = "127.0.0.1:%d" % sl.port("kafka")
    c = Consumer({"bootstrap.servers": boot, "group.id": "check", "enable.partition.eof": True,
                  "auto.offset.reset": "earliest", "check.crcs": True})
    got = []
    for part in (0, 1):
        c.assign([TopicPartition("orders", part, 0)])
        while True:
            m = c.poll(10)
            assert m is not None, "consumer stuck"
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                break
            got.append(m.value())
    c.close()
    assert sorted(got) == sorted(b"order-%04d" % i for i in range(N))
    r = redis.Redis(port=sl.port("resp"))
    entries = r.xrange("events")
    assert r.xlen("events") == len(entries) == N
    assert [int(f[b"n"]) for _, f in entries] == list(range(N))
    r.close()


def cut(path, n):
    os.truncate(path, os.path.getsize(path) - n)


def test_torn_metadata_journals_keep_every_message_and_entry(tmp_path):
    data = str(tmp_path / "data")
    fill(data)
    cut(os.path.join(data, "kafka.journal"), 20)
    cut(os.path.join(data, "streams", "streams.journal"), 20)
    with sluice.Sluiced(data_dir=data) as sl:
        check(sl)
        err = sl.stderr()
    assert "adopted" in err and "topic orders" in err and "stream 'events'" in err, err[-3000:]
    # After a clean stop a torn tail is damage: its bytes are kept aside.
    assert glob.glob(os.path.join(data, "kafka.journal.damaged-*"))
    assert glob.glob(os.path.join(data, "streams", "streams.journal.damaged-*"))
    # Adopted and journaled: a second start is quiet and sees the same.
    with sluice.Sluiced(data_dir=data) as sl:
        check(sl)
        assert "adopted" not in sl.stderr().split("clean shutdown last time")[-1]


def test_bad_magic_is_set_aside_and_strict_refuses(tmp_path):
    data = str(tmp_path / "data")
    fill(data)
    groups = os.path.join(data, "groups", "groups.journal")
    with open(groups, "r+b") as f:
        f.write(b"XXXXXXXX")  # magic and version: not a journal any more
    original = open(groups, "rb").read()
    cut(os.path.join(data, "streams", "streams.journal"), 20)

    # Strict: refused, one line names the file and what to move; nothing changed.
    args = [sluice.SLUICED, "--data-dir=" + data, "--kafka-port=0", "--resp-port=0",
            "--beanstalk-port=0", "--http-port=off", "--strict-recovery"]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    err = p.stderr.decode()
    assert p.returncode != 0, err
    line = [ln for ln in err.splitlines() if "refusing to start (strict.recovery)" in ln]
    assert line and groups in line[0] and "move " + groups + " aside" in line[0], err
    assert open(groups, "rb").read() == original
    assert not glob.glob(groups + ".damaged-*")

    # Without it: set aside whole, the server starts, the rest is intact.
    with sluice.Sluiced(data_dir=data) as sl:
        check(sl)
        err = sl.stderr()
        c = Consumer({"bootstrap.servers": "127.0.0.1:%d" % sl.port("kafka"),
                      "group.id": "billing"})
        committed = c.committed([TopicPartition("orders", 0)], timeout=10)[0].offset
        c.close()
    aside = glob.glob(groups + ".damaged-*")
    assert len(aside) == 1 and open(aside[0], "rb").read() == original
    assert "set aside as" in err
    # The group's offsets were in the file set aside.
    assert committed == -1001


def test_strict_refuses_a_torn_journal_after_a_clean_stop(tmp_path):
    data = str(tmp_path / "data")
    fill(data)
    journal = os.path.join(data, "kafka.journal")
    cut(journal, 20)
    size = os.path.getsize(journal)
    args = [sluice.SLUICED, "--data-dir=" + data, "--kafka-port=0", "--resp-port=off",
            "--beanstalk-port=off", "--http-port=off", "--strict.recovery=true"]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    err = p.stderr.decode()
    assert p.returncode != 0
    assert "refusing to start (strict.recovery)" in err and journal in err, err
    assert os.path.getsize(journal) == size
    assert os.path.isdir(os.path.join(data, "topics", "orders-0"))
    with sluice.Sluiced(data_dir=data) as sl:
        check(sl)
