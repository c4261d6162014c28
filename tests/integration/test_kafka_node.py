"""kafkajs 2.2.4 against the real sluiced: a producer with keys, headers
and gzip (acks -1), and the admin client; the produced records are read
back with kcat to check content."""
import json
import os
import subprocess

from kafka_util import bootstrap, kserver  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "..", "clients", "kafka-node")


def test_kafkajs_producer_and_admin(kserver):
    r = subprocess.run(["node", os.path.join(CLIENT, "kafkajs_test.js"), bootstrap(kserver), "kjs"],
                       capture_output=True, timeout=120, cwd=CLIENT)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = json.loads(r.stdout)
    assert out["created"] is True
    assert out["createdAgain"] is False
    assert all(s["errorCode"] == 0 for s in out["sent"])
    assert sorted((o["partition"], o["low"], o["high"]) for o in out["offsets"]) == \
        [(0, "0", "50"), (1, "0", "50")]
    assert out["partitions"] == 2 and out["partitionsAfter"] == 3
    assert dict(out["configs"]) == {"cleanup.policy": "delete", "retention.ms": "604800000"}
    assert out["listed"] and out["otherGone"]

    kc = subprocess.run(["kcat", "-b", bootstrap(kserver), "-C", "-t", "kjs", "-p", "1",
                         "-o", "beginning", "-e", "-f", "%o|%k|%s|%h\n"],
                        capture_output=True, timeout=60)
    assert kc.returncode == 0, kc.stderr
    lines = kc.stdout.decode().splitlines()
    assert len(lines) == 50
    off, key, val, hdrs = lines[3].split("|")
    assert off == "3" and key == "key-7" and val == "value-7 " + "z" * 200
    assert hdrs == "h-num=7,h-fixed=yes"
    # Stored as kafkajs sent it: gzip.
    from kafka_util import first_batch_codec
    assert first_batch_codec(kserver, "kjs", 1) == 1
