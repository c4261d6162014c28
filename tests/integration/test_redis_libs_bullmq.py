"""bullmq (npm) on sluiced, as a team runs it: a producer, two worker
processes, QueueEvents completion events, delayed jobs, retries with fixed
and exponential backoff, a job that always fails, a FlowProducer parent
with children, a rate-limited queue, a repeatable job, a worker SIGKILLed
holding a job that bullmq's stalled-job check gives to the other worker,
and sluiced SIGKILLed and restarted with nothing lost.

bullmq does all its state changes in Lua scripts (EVALSHA, with cmsgpack
for options) over hashes, sorted sets, lists and an events stream read
with XREAD BLOCK. The scenario script is tests/clients/resp-bullmq/bullmq.js."""
import json
import signal

import pytest
import redis

import node_scenario

SCRIPT = node_scenario.NodeScript("resp-bullmq", "bullmq.js")
bmq = SCRIPT.run
spawn = SCRIPT.spawn
wait_for = node_scenario.wait_for


@pytest.fixture
def srv(tmp_path):
    yield from node_scenario.resp_server(tmp_path)


def all_ids(ids):
    return ids["add"] + [ids["flaky"], ids["boom"], ids["later"], ids["slow"], ids["parent"]] + \
        ids["children"]


def settled(port, ids):
    st = bmq("state", port, *all_ids(ids))
    return st if st["main"]["failed"] == 1 and st["main"]["active"] == 1 and \
        st["main"]["completed"] == 28 and st["limited"]["completed"] == 6 else None


def test_bullmq_workers_retries_flows_limits_stalls_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    events = spawn("events", port, 28, ready="listening")
    procs.append(events)
    ids = bmq("produce", port)
    workers = {name: spawn("work", port, name, ready="ready") for name in ("w1", "w2")}
    procs.extend(workers.values())
    r = redis.Redis(port=port)

    # Completion events: 20 adds, the flaky job, the delayed one, the flow's
    # three jobs and three repeats of the tick.
    out, err = events.communicate(timeout=60)
    completed = json.loads(out.strip().splitlines()[-1])
    expected = set(ids["add"]) | {ids["flaky"], ids["later"], ids["parent"]} | set(ids["children"])
    assert expected <= set(completed), out + err
    assert len([c for c in completed if c.startswith("repeat:")]) == 3

    st = wait_for(lambda: settled(port, ids), what="jobs settled")
    jobs = st["jobs"]

    def job(i):
        return jobs["main:" + i]
    for i, jid in enumerate(ids["add"]):
        assert job(jid)["state"] == "completed" and job(jid)["result"] == i + 100
    assert job(ids["flaky"])["state"] == "completed" and job(ids["flaky"])["result"] == 3
    assert job(ids["flaky"])["attempts"] == 3
    assert job(ids["boom"])["state"] == "failed" and job(ids["boom"])["error"] == "always fails"
    assert job(ids["boom"])["attempts"] == 2
    assert job(ids["later"])["result"] == 42
    assert job(ids["parent"])["result"] == 30
    assert sorted(job(c)["result"] for c in ids["children"]) == [10, 20]
    assert job(ids["slow"])["state"] == "active"
    assert r.get("ticks") == b"3"
    assert sorted(x.decode() for x in r.lrange("results", 0, -1)) == \
        sorted("%s=%d" % (jid, i + 100) for i, jid in enumerate(ids["add"]))
    # The limiter (2 per 500 ms): 6 jobs take at least two more windows.
    lim = bmq("state", port, *ids["limited"])["jobs"]
    times = sorted(lim["limited:" + i]["processedOn"] for i in ids["limited"])
    assert times[-1] - times[0] >= 900, times

    # The worker holding the slow job dies; the other one's stalled-job
    # check moves it back and processes it.
    holder = wait_for(lambda: r.get("running:victim"), what="slow job start").decode()
    workers[holder].send_signal(signal.SIGKILL)
    workers[holder].wait()
    survivor = "w2" if holder == "w1" else "w1"
    st = wait_for(lambda: (lambda x: x if x["jobs"]["main:" + ids["slow"]]["state"] == "completed"
                           else None)(bmq("state", port, ids["slow"])), what="stalled job recovered")
    assert st["jobs"]["main:" + ids["slow"]]["result"] == "recovered by " + survivor

    # sluiced dies; everything acknowledged is there after the restart, and
    # the queues keep working.
    workers[survivor].send_signal(signal.SIGTERM)
    workers[survivor].wait(timeout=30)
    before = bmq("state", port, *all_ids(ids))
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    assert bmq("state", port, *all_ids(ids)) == before
    r = redis.Redis(port=port)
    r.delete("running:victim", "attempts:f1")
    w = spawn("work", port, "w3", ready="ready")
    procs.append(w)
    more = bmq("produce", port)
    more_ids = more["add"] + [more["flaky"], more["later"], more["parent"]]
    st = wait_for(lambda: (lambda x: x if all(j["state"] == "completed" for j in x["jobs"].values())
                           else None)(bmq("state", port, *more_ids)), what="jobs after the restart")
    assert st["jobs"]["main:" + more["parent"]]["result"] == 30
