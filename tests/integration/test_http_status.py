"""GET /status reads the broker's live state, whichever listeners are on
(issue 12): a topic written through Kafka is reported with its partitions
and readable messages after a restart with the Kafka listener off, a
directory that only looks like a partition is not, and the beanstalkd job
counts follow the jobs."""
import http.client
import json
import os
import sys

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


def status(sl):
    c = http.client.HTTPConnection("127.0.0.1", sl.port("http"), timeout=10)
    c.request("GET", "/status")
    r = c.getresponse()
    assert r.status == 200
    body = json.loads(r.read())
    c.close()
    return body


def test_status_reads_the_broker_not_the_directory(tmp_path):
    data = str(tmp_path / "data")
    with sluice.Sluiced(data_dir=data) as sl:
        boot = "127.0.0.1:%d" % sl.port("kafka")
        admin = AdminClient({"bootstrap.servers": boot})
        for f in admin.create_topics([NewTopic("st", num_partitions=3, replication_factor=1)]).values():
            f.result(timeout=30)
        p = Producer({"bootstrap.servers": boot, "acks": "all"})
        for i in range(7):
            p.produce("st", value=b"m%d" % i, partition=i % 3)
        assert p.flush(30) == 0
        b = bstk.Client(sl.port("beanstalk"))
        for i in range(4):
            assert b.cmd(b"put 1 0 10 1\r\nx\r\n").startswith(b"INSERTED")
        assert b.cmd(b"bury 1 1\r\n") == b"NOT_FOUND\r\n"
        b.close()
        import redis
        r = redis.Redis(port=sl.port("resp"))
        r.set("a", 1)
        r.set("b", 2, ex=100)
        r.rpush("l", 1, 2)
    # Only HTTP on: the broker still holds everything.
    with sluice.Sluiced(data_dir=data, listeners=("http",)) as sl:
        # Looks like a partition directory, but no topic owns it.
        os.makedirs(os.path.join(data, "topics", "ghost-0"))
        st = status(sl)
        assert st["ports"]["kafka"] == -1 and st["ports"]["beanstalk"] == -1
        assert st["ports"]["resp"] == -1
        topics = {t["name"]: t for t in st["topics"]}
        assert set(topics) == {"st"}, topics
        assert topics["st"]["partitions"] == 3
        assert topics["st"]["messages"] == 7
        assert topics["st"]["bytes"] > 0
        assert st["jobs"]["ready"] == 4
        assert st["jobs"]["next_id"] == 5
        assert st["keys"] == {"total": 3, "expiring": 1}
