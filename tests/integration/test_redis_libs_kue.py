"""kue (npm) on sluiced, as a team runs it: a producer, two worker
processes (two jobs at a time each), priorities, a job retried with a fixed
backoff until it passes, a job that always fails (failed after its
attempts, its error kept), a delayed job, completion events over pub/sub, a
worker SIGKILLed holding a job that kue's documented recovery puts back for
the other worker, and sluiced SIGKILLed and restarted with nothing lost.

kue keeps jobs in hashes, its per-state indexes in sorted sets, job types
in a set, work signals in lists (BLPOP), and uses MULTI/EXEC and pub/sub.
The scenario script is tests/clients/resp-kue/kue.js."""
import json
import os
import signal
import subprocess

import pytest
import redis

import node_scenario
import sluice

KUE = os.path.join(sluice.ROOT, "tests", "clients", "resp-kue")


def kue(*args, timeout=60):
    p = subprocess.run(["node", "kue.js"] + [str(a) for a in args], cwd=KUE, capture_output=True,
                       text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def spawn(*args, ready):
    p = subprocess.Popen(["node", "kue.js"] + [str(a) for a in args], cwd=KUE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == ready, line + p.stderr.read()
    return p


wait_for = node_scenario.wait_for


@pytest.fixture
def srv(tmp_path):
    yield from node_scenario.resp_server(tmp_path)


def by_id(state):
    return {j["id"]: j for j in state["jobs"]}


def test_kue_workers_retries_delays_crash_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    events = spawn("events", port, 22, ready="listening")
    procs.append(events)
    ids = kue("produce", port)
    workers = {name: spawn("work", port, name, ready="ready") for name in ("w1", "w2")}
    procs.extend(workers.values())
    r = redis.Redis(port=port)

    # Completion events: 20 adds, the flaky job, the delayed one.
    out, err = events.communicate(timeout=60)
    completed = dict(json.loads(out.strip().splitlines()[-1]))
    assert set(completed) == set(ids["add"]) | {ids["flaky"], ids["later"]}, out + err

    all_ids = ids["add"] + [ids["flaky"], ids["boom"], ids["later"], ids["slow"]]
    st = wait_for(lambda: (lambda x: x if x["failedCount"] == 1 and x["activeCount"] == 1 else None)(
        kue("state", port, *all_ids)), what="jobs settled")
    jobs = by_id(st)
    for i, jid in enumerate(ids["add"]):
        assert jobs[jid]["state"] == "complete" and jobs[jid]["result"] == i + 100
    assert jobs[ids["flaky"]]["state"] == "complete" and jobs[ids["flaky"]]["result"] == 3
    assert jobs[ids["flaky"]]["attempts"] == 3
    assert jobs[ids["boom"]]["state"] == "failed" and "always fails" in jobs[ids["boom"]]["error"]
    assert jobs[ids["boom"]]["attempts"] == 2
    assert jobs[ids["later"]]["state"] == "complete" and jobs[ids["later"]]["result"] == 42
    assert jobs[ids["slow"]]["state"] == "active"
    assert sorted(x.decode() for x in r.lrange("results", 0, -1)) == \
        sorted("%d=%d" % (jid, i + 100) for i, jid in enumerate(ids["add"]))

    # The worker holding the slow job dies; kue's recovery requeues it and
    # the other worker finishes it.
    holder = wait_for(lambda: r.get("running:victim"), what="slow job start").decode().split(":")[0]
    workers[holder].send_signal(signal.SIGKILL)
    workers[holder].wait()
    survivor = "w2" if holder == "w1" else "w1"
    assert kue("recover", port)["requeued"] == [ids["slow"]]
    st = wait_for(lambda: (lambda x: x if by_id(x)[ids["slow"]]["state"] == "complete" else None)(
        kue("state", port, ids["slow"])), what="recovered job")
    assert by_id(st)[ids["slow"]]["result"] == "recovered by " + survivor

    # sluiced dies; everything acknowledged is there after the restart, and
    # the queue keeps working.
    workers[survivor].send_signal(signal.SIGTERM)
    workers[survivor].wait(timeout=30)
    before = kue("state", port, *all_ids)
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    assert kue("state", port, *all_ids) == before
    w = spawn("work", port, "w3", ready="ready")
    procs.append(w)
    more = kue("produce", port)
    more_ids = more["add"] + [more["flaky"], more["later"], more["slow"]]
    st = wait_for(lambda: (lambda x: x if all(j["state"] == "complete" for j in x["jobs"]) else None)(
        kue("state", port, *more_ids)), what="jobs after the restart")
    assert by_id(st)[more["slow"]]["result"] == "recovered by w3"
