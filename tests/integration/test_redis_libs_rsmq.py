"""rsmq (npm, a message queue on Redis) on sluiced, as a team runs it: a
producer, two consumer processes, a delayed message, a message whose
processing keeps failing (it comes back after its visibility timeout and
goes to a dead-letter queue on its third receive), a consumer SIGKILLed
holding a message that comes back to the other consumer, and sluiced
SIGKILLed and restarted with nothing lost.

rsmq loads its scripts with SCRIPT LOAD and receives with EVALSHA; it sends
inside MULTI (ZADD, HSET, HINCRBY). The scenario script is
tests/clients/resp-bull-bee-rsmq/rsmq.js."""
import signal

import pytest
import redis

import node_scenario

SCRIPT = node_scenario.NodeScript("resp-bull-bee-rsmq", "rsmq.js")
rsmq = SCRIPT.run
spawn = SCRIPT.spawn
wait_for = node_scenario.wait_for


@pytest.fixture
def srv(tmp_path):
    yield from node_scenario.resp_server(tmp_path)


def test_rsmq_consumers_visibility_dead_letters_crash_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    r = redis.Redis(port=port)
    ids = rsmq("produce", port)
    assert len(set(ids["add"] + [ids["later"], ids["poison"], ids["victim"]])) == 23
    consumers = {name: spawn("consume", port, name, ready="ready") for name in ("w1", "w2")}
    procs.extend(consumers.values())

    holder = wait_for(lambda: r.get("running:victim"), what="victim received").decode()
    consumers[holder].send_signal(signal.SIGKILL)
    consumers[holder].wait()
    survivor = "w2" if holder == "w1" else "w1"

    st = wait_for(lambda: (lambda x: x if x["jobs"]["msgs"] == 0 and x["dead"]["msgs"] == 1 else None)(
        rsmq("state", port)), what="queue drained")
    assert st["jobs"]["totalsent"] == 23
    assert st["jobs"]["totalrecv"] >= 23 + 2 + 1  # poison 3 times, victim twice
    done = [x.decode() for x in r.lrange("done", 0, -1)]
    assert sorted(done) == sorted(["add:%d" % i for i in range(20)] + ["later", "victim rc=2 by " + survivor])
    assert done.index("later") > 0  # delayed behind the first adds
    assert r.zcard("rsmq:dead") == 1

    consumers[survivor].send_signal(signal.SIGTERM)
    consumers[survivor].wait(timeout=30)
    before = (rsmq("state", port), r.lrange("done", 0, -1))
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    r = redis.Redis(port=port)
    assert (rsmq("state", port), r.lrange("done", 0, -1)) == before
    r.delete("done")  # running:victim stays: the new victim is processed at once
    procs.append(spawn("consume", port, "w3", ready="ready"))
    rsmq("produce", port)
    st = wait_for(lambda: (lambda x: x if x["jobs"]["msgs"] == 0 and x["dead"]["msgs"] == 2 else None)(
        rsmq("state", port)), what="queue drained after the restart")
    assert st["jobs"]["totalsent"] == 46
    assert len(r.lrange("done", 0, -1)) == 22
