"""bee-queue (npm) on sluiced, as a team runs it: a producer, two worker
processes (two jobs at a time each), "job succeeded" events over pub/sub,
a delayed job, retries with a fixed backoff, a job that always fails, a
worker SIGKILLed holding a job that bee-queue's stalled-job check retries
in the other worker, and sluiced SIGKILLed and restarted with nothing lost.

bee-queue checks its scripts with SCRIPT EXISTS / SCRIPT LOAD and runs
every state change with EVALSHA. The scenario script is
tests/clients/resp-bull-bee-rsmq/bee.js."""
import json
import signal

import pytest
import redis

import node_scenario

SCRIPT = node_scenario.NodeScript("resp-bull-bee-rsmq", "bee.js")
bee = SCRIPT.run
spawn = SCRIPT.spawn
wait_for = node_scenario.wait_for


@pytest.fixture
def srv(tmp_path):
    yield from node_scenario.resp_server(tmp_path)


def all_ids(ids):
    return ids["add"] + [ids["flaky"], ids["boom"], ids["later"], ids["slow"]]


def test_beequeue_workers_retries_delays_stalls_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    r = redis.Redis(port=port)
    events = spawn("events", port, 22, ready="listening")
    procs.append(events)
    wait_for(lambda: r.pubsub_numsub("bq:main:events")[0][1], what="events subscription")
    ids = bee("produce", port)
    workers = {name: spawn("work", port, name, ready="ready") for name in ("w1", "w2")}
    procs.extend(workers.values())

    out, err = events.communicate(timeout=60)
    succeeded = json.loads(out.strip().splitlines()[-1])
    expected = {jid: i + 100 for i, jid in enumerate(ids["add"])}
    expected.update({ids["flaky"]: 3, ids["later"]: 42})
    assert succeeded == expected, out + err

    st = wait_for(lambda: (lambda x: x if x["health"]["failed"] == 1 and x["health"]["succeeded"] == 22
                           else None)(bee("state", port, *all_ids(ids))), what="jobs settled")
    jobs = st["jobs"]
    assert all(jobs[j]["status"] == "succeeded" for j in ids["add"] + [ids["flaky"], ids["later"]])
    assert jobs[ids["boom"]]["status"] == "failed"
    assert st["health"]["active"] == 1
    assert sorted(x.decode() for x in r.lrange("results", 0, -1)) == \
        sorted("%s=%d" % (jid, i + 100) for i, jid in enumerate(ids["add"]))

    holder = wait_for(lambda: r.get("running:victim"), what="slow job start").decode()
    workers[holder].send_signal(signal.SIGKILL)
    workers[holder].wait()
    survivor = "w2" if holder == "w1" else "w1"
    wait_for(lambda: bee("state", port, ids["slow"])["jobs"][ids["slow"]]["status"] == "succeeded",
             what="stalled job retried")
    assert bee("state", port)["health"]["active"] == 0

    workers[survivor].send_signal(signal.SIGTERM)
    workers[survivor].wait(timeout=30)
    before = bee("state", port, *all_ids(ids))
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    assert bee("state", port, *all_ids(ids)) == before
    redis.Redis(port=port).delete("running:victim", "attempts:f1")
    procs.append(spawn("work", port, "w3", ready="ready"))
    more = bee("produce", port)
    more_ids = more["add"] + [more["flaky"], more["later"]]
    wait_for(lambda: all(j["status"] == "succeeded" for j in bee("state", port, *more_ids)["jobs"].values()),
             what="jobs after the restart")
