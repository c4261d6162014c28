"""Sarama 1.22.1's ConsumerGroup (Debian golang-github-shopify-sarama-dev,
Debian Go in GOPATH mode) against the real sluiced: JoinGroup v1 (no
MEMBER_ID_REQUIRED), SyncGroup/Heartbeat/LeaveGroup v0, OffsetCommit v2,
OffsetFetch v1, FindCoordinator v0. The Go program
(tests/clients/kafka-groups-go/src/saramagroups) runs three members in
turn: a plain handler that marks every message, a replay whose Setup
resets each claimed partition to OffsetOldest, and the batch pattern
(up to 50 messages or 1 s, processed concurrently, then all marked).
Every message is checked against what was produced at its offset."""
import json
import os
import subprocess

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice

HERE = os.path.dirname(os.path.abspath(__file__))
GOSRC = os.path.abspath(os.path.join(HERE, "..", "clients", "kafka-groups-go"))
COUNT = 800
PARTS = 4


@pytest.fixture(scope="module")
def saramagroups(tmp_path_factory):
    d = tmp_path_factory.mktemp("saramagroups")
    exe = str(d / "saramagroups")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOSRC + ":/usr/share/gocode",
               GOCACHE=str(d / "cache"), GOFLAGS="")
    r = subprocess.run(["go", "build", "-o", exe, "saramagroups"], cwd=GOSRC, env=env,
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return exe


def value(i):
    return "s%05d" % i


def check_each(recs):
    """Every record carries the value produced at its partition/offset."""
    for r in recs:
        assert r["value"] == value(r["offset"] * PARTS + r["partition"]), r


def test_sarama_consumer_group(tmp_path, saramagroups):
    d = tmp_path / "data"
    d.mkdir()
    with sluice.Sluiced(data_dir=str(d), listeners=("kafka",),
                        extra=["--group.initial.rebalance.delay.ms=200"]) as s:
        bs = "127.0.0.1:%d" % s.port("kafka")
        admin = AdminClient({"bootstrap.servers": bs})
        admin.create_topics([NewTopic("sg", PARTS, 1)])["sg"].result(30)
        p = Producer({"bootstrap.servers": bs, "linger.ms": 5})
        for i in range(COUNT):
            p.produce("sg", value=value(i).encode(), partition=i % PARTS)
        assert p.flush(30) == 0
        r = subprocess.run([saramagroups, bs, "sg", str(COUNT)], capture_output=True, timeout=240)
        assert r.returncode == 0, r.stderr.decode(errors="replace")[-4000:]
        out = json.loads(r.stdout)
        expected = [value(i) for i in range(COUNT)]
        for run in ("basic", "replay", "batch"):
            recs = out[run]
            check_each(recs)
            assert sorted(x["value"] for x in recs) == expected, run
        # The batch workers processed each message exactly as delivered.
        assert len(out["processed"]) == COUNT
        for key, v in out["processed"].items():
            part, off = (int(x) for x in key.split("/"))
            assert v == value(off * PARTS + part)
        # Every message was marked: both groups committed the log end.
        c = Consumer({"bootstrap.servers": bs, "group.id": "sg-basic"})
        tps = [TopicPartition("sg", q) for q in range(PARTS)]
        assert [tp.offset for tp in c.committed(tps, timeout=10)] == [COUNT // PARTS] * PARTS
        c.close()
        c = Consumer({"bootstrap.servers": bs, "group.id": "sg-batch"})
        assert [tp.offset for tp in c.committed(tps, timeout=10)] == [COUNT // PARTS] * PARTS
        c.close()
