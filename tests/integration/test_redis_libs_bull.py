"""bull (npm, bullmq's predecessor) on sluiced, as a team runs it: a
producer, two worker processes, global completion events over pub/sub,
delayed jobs, retries with backoff, a job that always fails, a rate-limited
queue, a repeatable job, a worker SIGKILLed holding a job that bull's
stalled-job check gives to the other worker, and sluiced SIGKILLed and
restarted with nothing lost.

bull moves jobs between its lists and sorted sets in Lua scripts. The
scenario script is tests/clients/resp-bull-bee-rsmq/bull.js."""
import json
import signal

import pytest
import redis

import node_scenario

SCRIPT = node_scenario.NodeScript("resp-bull-bee-rsmq", "bull.js")
bull = SCRIPT.run
spawn = SCRIPT.spawn
wait_for = node_scenario.wait_for


@pytest.fixture
def srv(tmp_path):
    yield from node_scenario.resp_server(tmp_path)


def all_ids(ids):
    return ids["add"] + [ids["flaky"], ids["boom"], ids["later"], ids["slow"]]


def settled(port, ids):
    st = bull("state", port, *all_ids(ids))
    return st if st["main"]["failed"] == 1 and st["main"]["active"] == 1 and \
        st["main"]["completed"] == 25 and st["limited"]["completed"] == 6 else None


def test_bull_workers_retries_limits_stalls_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    r = redis.Redis(port=port)
    events = spawn("events", port, 25, ready="listening")
    procs.append(events)
    wait_for(lambda: r.pubsub_numsub("bull:main:completed")[0][1], what="events subscription")
    ids = bull("produce", port)
    workers = {name: spawn("work", port, name, ready="ready") for name in ("w1", "w2")}
    procs.extend(workers.values())

    # Completion events: 20 adds, the flaky job, the delayed one, 3 ticks.
    out, err = events.communicate(timeout=60)
    completed = json.loads(out.strip().splitlines()[-1])
    assert set(ids["add"]) | {ids["flaky"], ids["later"]} <= set(completed), out + err
    assert len([c for c in completed if c.startswith("repeat:")]) == 3

    jobs = wait_for(lambda: settled(port, ids), what="jobs settled")["jobs"]

    def job(i):
        return jobs["main:" + i]
    for i, jid in enumerate(ids["add"]):
        assert job(jid)["state"] == "completed" and job(jid)["result"] == i + 100
    assert job(ids["flaky"])["state"] == "completed" and job(ids["flaky"])["result"] == 3
    assert job(ids["boom"])["state"] == "failed" and job(ids["boom"])["error"] == "always fails"
    assert job(ids["boom"])["attempts"] == 2
    assert job(ids["later"])["result"] == 42
    assert job(ids["slow"])["state"] == "active"
    assert r.get("ticks") == b"3"
    assert sorted(x.decode() for x in r.lrange("results", 0, -1)) == \
        sorted("%s=%d" % (jid, i + 100) for i, jid in enumerate(ids["add"]))
    lim = bull("state", port, *ids["limited"])["jobs"]
    times = sorted(lim["limited:" + i]["processedOn"] for i in ids["limited"])
    assert times[-1] - times[0] >= 900, times

    holder = wait_for(lambda: r.get("running:victim"), what="slow job start").decode()
    workers[holder].send_signal(signal.SIGKILL)
    workers[holder].wait()
    survivor = "w2" if holder == "w1" else "w1"
    st = wait_for(lambda: (lambda x: x if x["jobs"]["main:" + ids["slow"]]["state"] == "completed"
                           else None)(bull("state", port, ids["slow"])), what="stalled job recovered")
    assert st["jobs"]["main:" + ids["slow"]]["result"] == "recovered by " + survivor

    workers[survivor].send_signal(signal.SIGTERM)
    workers[survivor].wait(timeout=30)
    before = bull("state", port, *all_ids(ids))
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    assert bull("state", port, *all_ids(ids)) == before
    redis.Redis(port=port).delete("running:victim", "attempts:f1")
    procs.append(spawn("work", port, "w3", ready="ready"))
    more = bull("produce", port)
    more_ids = more["add"] + [more["flaky"], more["later"]]
    wait_for(lambda: all(j["state"] == "completed" for j in bull("state", port, *more_ids)["jobs"].values()),
             what="jobs after the restart")
