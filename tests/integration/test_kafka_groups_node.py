"""kafkajs 2.2.4 consumer groups against the real sluiced (JoinGroup v5
with the MEMBER_ID_REQUIRED round trip, SyncGroup/Heartbeat v3,
LeaveGroup v3, OffsetCommit v5, OffsetFetch v4, its RoundRobinAssigner):
two eachMessage members sharing a topic, an eachBatch member committing
by hand, committed offsets read back with the admin client, and a new
member resuming from the group's commits. The client program is
tests/clients/kafka-groups-node/groups_test.js."""
import json
import os
import subprocess

import sluice

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "..", "clients", "kafka-groups-node")


def test_kafkajs_consumer_groups(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    with sluice.Sluiced(data_dir=str(d), listeners=("kafka",),
                        extra=["--group.initial.rebalance.delay.ms=300"]) as s:
        r = subprocess.run(["node", os.path.join(CLIENT, "groups_test.js"),
                            "127.0.0.1:%d" % s.port("kafka"), "kjs-groups"],
                           capture_output=True, timeout=180, cwd=CLIENT)
        assert r.returncode == 0, r.stderr.decode(errors="replace")[-4000:]
        out = json.loads(r.stdout)
    first = ["v%06d" % i for i in range(1000)]
    # Nothing lost; a message may repeat only across the members' rebalance.
    assert sorted(set(out["eachMessage"])) == first
    assert sorted(out["eachBatch"]) == first
    assert out["offsets"]["kjs-msg"] == [[p, "250"] for p in range(4)]
    assert out["offsets"]["kjs-batch"] == [[p, "250"] for p in range(4)]
    assert sorted(out["resumed"]) == ["v%06d" % i for i in range(1000, 1200)]
    (g,) = out["describe"]["groups"]
    assert g["groupId"] == "kjs-msg" and g["state"] == "Stable"
    assert g["protocolType"] == "consumer" and g["protocol"] == "RoundRobinAssigner"
    assert len(g["members"]) == 2
    assert ["kjs-batch", "consumer"] in out["groups"] and ["kjs-msg", "consumer"] in out["groups"]
