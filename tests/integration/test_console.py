"""The web console (issue 16) in a real browser: Debian's headless Chromium,
driven by puppeteer-core (tests/clients/console/console_test.js), against a
live sluiced holding data written through all three protocols.

Every page loads without a console error, a page error or a failed
request, and shows the counts the protocols produced; the console's
actions (create a topic, produce a message, reset a group's offsets, kick a
job, pause a tube) change the broker, as checked afterwards through the
protocols themselves; a cancelled confirmation changes nothing.
Screenshots of every page go to build/console-screenshots/ for review.
"""
import json
import os
import subprocess
import sys

import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402

HERE = os.path.dirname(__file__)
CLIENT = os.path.join(HERE, "..", "clients", "console")
SHOTS = os.path.join(sluice.ROOT, "build", "console-screenshots")


def seed(sl):
    """Data on all three protocols; returns what the console must show."""
    boot = "127.0.0.1:%d" % sl.port("kafka")
    admin = AdminClient({"bootstrap.servers": boot})
    for f in admin.create_topics([NewTopic("orders", num_partitions=2, replication_factor=1)]).values():
        f.result(timeout=30)
    p = Producer({"bootstrap.servers": boot, "acks": "all", "linger.ms": 0})
    for i in range(10):
        p.produce("orders", key=b"k%d" % i, value=json.dumps({"order": i, "item": "widget"}).encode(),
                  partition=i % 2, headers=[("source", b"test")])
    assert p.flush(30) == 0
    # A group that consumed 3 of partition 0's 5 records and 5 of partition
    # 1's, then left: Empty, so its offsets may be reset.
    c = Consumer({"bootstrap.servers": boot, "group.id": "billing", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("orders", 0, 0), TopicPartition("orders", 1, 0)])
    c.commit(offsets=[TopicPartition("orders", 0, 3), TopicPartition("orders", 1, 5)], asynchronous=False)
    c.close()
    r = redis.Redis(port=sl.port("resp"))
    for i in range(5):
        r.xadd("events", {"n": str(i), "kind": "click"})
    r.xgroup_create("events", "workers", id="0")
    r.xreadgroup("workers", "w1", {"events": ">"}, count=3)
    r.rpush("queue", "a", "b", "c", "d")
    r.set("session:1", "alive", ex=3600)
    b = bstk.Client(sl.port("beanstalk"))
    assert b.cmd(b"use emails\r\n") == b"USING emails\r\n"
    for body in (b"welcome", b"reminder", b"digest"):
        assert b.cmd(b"put 100 0 60 %d\r\n%s\r\n" % (len(body), body)).startswith(b"INSERTED")
    assert b.cmd(b"watch emails\r\n").startswith(b"WATCHING")
    assert b.cmd(b"ignore default\r\n").startswith(b"WATCHING")
    reply = b.cmd(b"reserve-with-timeout 5\r\n")
    assert reply.startswith(b"RESERVED"), reply
    job = int(reply.split()[1])
    assert b.cmd(b"bury %d 100\r\n" % job) == b"BURIED\r\n"
    b.close()
    return {"topic": "orders", "group": "billing", "stream": "events", "tube": "emails",
            "newTopic": "made-in-console", "produceValue": '{"from":"console","n":42}',
            "buried_job": job}


def test_console_pages_and_actions(tmp_path):
    os.makedirs(SHOTS, exist_ok=True)
    with sluice.Sluiced(data_dir=str(tmp_path / "data")) as sl:
        plan = seed(sl)
        base = "http://127.0.0.1:%d" % sl.port("http")
        res = subprocess.run(["node", os.path.join(CLIENT, "console_test.js"), base, SHOTS, json.dumps(plan)],
                             capture_output=True, text=True, timeout=240)
        assert res.stdout.strip(), res.stderr
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert "fatal" not in out, out.get("fatal")
        assert res.returncode == 0, res.stderr
        assert out["errors"] == [], out["errors"]
        pages = out["pages"]
        for name, page in pages.items():
            assert page.get("error") is None, (name, page.get("error"))

        # Overview: counts from the live broker.
        ov = pages["overview"]["cards"]
        assert ov["ov-topics"] == "1" and ov["ov-groups"] == "1", ov
        assert ov["ov-messages"] == "10", ov
        assert ov["ov-keys"] == "3" and ov["ov-tubes"] == "2", ov  # default and emails
        assert ov["ov-jobs"] == "3" and ov["ov-fsync"] == "always", ov

        rows = {r[0]: r for r in pages["topics"]["rows"]}
        assert rows["orders"][1:3] == ["2", "10"], rows
        parts = pages["topic"]["rows"][:2]
        assert [p[3] for p in parts] == ["5", "5"], parts  # high watermarks
        assert '"item": "widget"' in pages["messages"]["text"]
        assert "source: test" in pages["messages"]["text"]

        groups = {r[0]: r for r in pages["groups"]["rows"]}
        assert groups["billing"][1] == "Empty" and groups["billing"][4] == "2", groups
        assert pages["group"]["cards"]["group-lag"] == "2"

        assert pages["stream"]["cards"]["stream-length"] == "5"
        assert pages["stream"]["cards"]["stream-pending"] == "3"
        redis_rows = {r[0]: r for r in pages["redis"]["rows"]}
        assert redis_rows["queue"][1:3] == ["list", "4"], redis_rows
        assert redis_rows["session:1"][1] == "string" and "alive" in redis_rows["session:1"][4]

        tube = pages["tube"]["cards"]
        assert (tube["tube-ready"], tube["tube-buried"], tube["tube-reserved"]) == ("2", "1", "0"), tube
        assert {r[0]: r for r in pages["tubes"]["rows"]}["emails"][1:5] == ["2", "0", "0", "1"]

        # Actions, each checked through the protocols.
        for name in ("create_topic", "produce", "reset_offsets", "kick_job", "pause_tube"):
            assert out["actions"][name].endswith(": done"), (name, out["actions"][name])
        assert out["actions"]["cancelled_delete"] is True
        # 11: the 10 seeded records and the one produced from the console.
        assert pages["group-after-reset"]["cards"]["group-lag"] == "11"

        boot = "127.0.0.1:%d" % sl.port("kafka")
        md = AdminClient({"bootstrap.servers": boot}).list_topics(timeout=20)
        assert len(md.topics["made-in-console"].partitions) == 3

        c = Consumer({"bootstrap.servers": boot, "group.id": "billing", "enable.auto.commit": False})
        committed = c.committed([TopicPartition("orders", 0), TopicPartition("orders", 1)], timeout=20)
        assert [tp.offset for tp in committed] == [0, 0], committed
        c.assign([TopicPartition("orders", 0, 5)])
        msg = c.poll(20)
        c.close()
        assert msg is not None and msg.error() is None
        assert msg.key() == b"from-console" and msg.value() == plan["produceValue"].encode()

        b = bstk.Client(sl.port("beanstalk"))
        st = b.cmd(b"stats-job %d\r\n" % plan["buried_job"]).decode()
        assert "state: ready" in st, st
        st = b.cmd(b"stats-tube emails\r\n").decode()
        assert "pause: 120" in st and "current-jobs-buried: 0" in st, st
        b.close()

        r = redis.Redis(port=sl.port("resp"))
        assert r.xlen("events") == 5  # the cancelled deletion changed nothing

    for name in ("overview", "topics", "topic", "messages", "groups", "group", "redis", "stream",
                 "tubes", "tube", "group-after-reset", "tube-after-kick"):
        path = os.path.join(SHOTS, name + ".png")
        assert os.path.getsize(path) > 5000, path
