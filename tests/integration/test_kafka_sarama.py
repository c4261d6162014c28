"""Sarama 1.22.1 (Debian golang-github-shopify-sarama-dev, Debian Go in
GOPATH mode) against the real sluiced. Sarama never negotiates versions;
with Version >= 0.11 it sends Produce v3 (RecordBatch v2), Fetch v4,
Metadata v1/v5 and CreateTopics v1/v2. Checks: SyncProducer under each
partitioner (lz4), AsyncProducer with headers, partition consumer from the
oldest offset."""
import json
import os
import subprocess

import pytest

from kafka_util import bootstrap, first_batch_codec, kserver  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
GOSRC = os.path.abspath(os.path.join(HERE, "..", "clients", "kafka-go"))


@pytest.fixture(scope="module")
def saramatest(tmp_path_factory):
    d = tmp_path_factory.mktemp("sarama")
    exe = str(d / "saramatest")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOSRC + ":/usr/share/gocode",
               GOCACHE=str(d / "cache"), GOFLAGS="")
    r = subprocess.run(["go", "build", "-o", exe, "saramatest"], cwd=GOSRC, env=env,
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return exe


@pytest.mark.parametrize("version", ["0.11.0.0", "2.0.0"])
def test_sarama_producers_and_consumer(kserver, saramatest, version):
    r = subprocess.run([saramatest, bootstrap(kserver), version], capture_output=True, timeout=180)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = json.loads(r.stdout)

    sync = out["sync"]
    # Manual: the message's own partition (i % 4); offsets count up per partition.
    manual = [(x >> 32, x & 0xffffffff) for x in sync["manual"]]
    assert manual == [(i % 4, i // 4) for i in range(40)]
    # Round-robin spreads over all 4 partitions evenly.
    rr = [x >> 32 for x in sync["roundrobin"]]
    assert sorted(rr.count(p) for p in range(4)) == [10, 10, 10, 10]
    # Hash: the same key always lands on the same partition.
    by_key = {}
    for i, x in enumerate(sync["hash"]):
        by_key.setdefault(i % 7, set()).add(x >> 32)
    assert all(len(s) == 1 for s in by_key.values())
    # Random: every send acknowledged with a valid partition.
    assert all(0 <= (x >> 32) < 4 for x in sync["random"]) and len(sync["random"]) == 40

    assert out["async_ok"] == 400 and out["async_failed"] == 0
    consumed = out["consumed"]
    assert len(consumed) == 440
    sync_vals = sorted(int(c["value"][5:]) for c in consumed if c["value"].startswith("sync-"))
    async_vals = sorted(int(c["value"][6:]) for c in consumed if c["value"].startswith("async-"))
    assert sync_vals == list(range(40)) and async_vals == list(range(400))
    for c in consumed:
        if c["value"].startswith("sync-"):
            assert c["headers"] == {"h": c["value"][5:]}
        else:
            assert c["headers"] == {"a": "b"}
    # Offsets are dense per partition, starting at 0.
    for p in range(4):
        offs = [c["offset"] for c in consumed if c["partition"] == p]
        assert offs == list(range(len(offs)))
    # Sarama compresses with lz4 whatever the batch size: stored as received.
    assert first_batch_codec(kserver, "sarama-manual", 0) == 3
