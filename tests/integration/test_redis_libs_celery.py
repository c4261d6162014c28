"""Celery (Debian's python3-celery 5.2) with kombu's Redis transport and the
Redis result backend on sluiced, as a team runs it: a producer, two worker
processes, results, retries with exponential backoff, a task that always
fails (FAILURE after its retry), a delayed task (countdown), a worker
SIGKILLed holding a task (late acknowledgement: the task stays in kombu's
unacked hash and the next worker to start puts it back, under kombu's lock
whose release is a Lua script), and sluiced SIGKILLed and restarted with
nothing lost. Workers use the solo pool (Celery 5.2's thread pool stops
consuming after its first tasks with late acknowledgement, on Redis too).
The tasks are tests/clients/resp-celery/tasks.py."""
import json
import os
import signal
import subprocess
import time

import pytest
import redis

import sluice

DIR = os.path.join(sluice.ROOT, "tests", "clients", "resp-celery")
PY = "/usr/bin/python3"


def env(port, worker=""):
    return dict(os.environ, REDIS_URL="redis://127.0.0.1:%d/0" % port, WORKER=worker)


def client(port, *args):
    p = subprocess.run([PY, "client.py"] + list(args), cwd=DIR, env=env(port), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def worker(port, name):
    return subprocess.Popen([PY, "-m", "celery", "-A", "tasks", "worker", "--pool=solo",
                             "-n", name + "@%h", "--without-gossip", "--without-mingle",
                             "--without-heartbeat", "-l", "warning"], cwd=DIR, env=env(port, name),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(pred, timeout=90, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)  # polling server state, not a readiness guess
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def srv(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), fsync="always", listeners=("resp",))
    procs = []
    try:
        yield s, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        s.stop()


def ids_of(ids):
    return ids["add"] + [ids["flaky"], ids["boom"], ids["later"]]


def test_celery_workers_retries_countdown_redelivery_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    r = redis.Redis(port=port)
    # The slow task goes out once the others are done: a worker holding a
    # countdown task (kombu keeps ETA tasks in the worker, beyond the
    # prefetch limit) that then takes the slow one never runs the countdown
    # task (its solo pool is busy for good) — on redis-server just the same.
    ids = client(port, "produce", "noslow")
    workers = {name: worker(port, name) for name in ("w1", "w2")}
    procs.extend(workers.values())

    def settled():
        st = client(port, "state", *ids_of(ids))
        return st if all(v[0] in ("SUCCESS", "FAILURE") for v in st.values()) else None
    st = wait_for(settled, what="tasks settled")
    for i, tid in enumerate(ids["add"]):
        assert st[tid] == ["SUCCESS", i + 100]
    assert st[ids["flaky"]] == ["SUCCESS", 3]
    assert st[ids["boom"]][0] == "FAILURE" and "always fails" in st[ids["boom"]][1]
    assert st[ids["later"]] == ["SUCCESS", 42]
    assert set(x.decode() for x in r.lrange("results", 0, -1)) == \
        set("add %d=%d" % (i, i + 100) for i in range(20))

    # The worker holding the slow task dies; a worker started after the
    # visibility timeout puts the task back and it is done.
    ids.update(client(port, "slow"))
    holder = wait_for(lambda: r.get("running:victim"), what="slow task start").decode()
    workers[holder].send_signal(signal.SIGKILL)
    workers[holder].wait()
    # A starting worker restores only what has been unacknowledged for
    # longer than the visibility timeout (2 s; kombu's unacked_index holds
    # each delivery's time).
    wait_for(lambda: all(time.time() > at + 2.5
                         for _, at in r.zrange("unacked_index", 0, -1, withscores=True)),
             what="the visibility timeout of the held task")
    procs.append(worker(port, "w3"))
    st = wait_for(lambda: (lambda x: x if x[ids["slow"]][0] == "SUCCESS" else None)(
        client(port, "state", ids["slow"])), what="redelivered task")
    assert st[ids["slow"]][1] in ("recovered by w2", "recovered by w1", "recovered by w3")
    assert st[ids["slow"]][1] != "recovered by " + holder

    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
    before = client(port, "state", *(ids_of(ids) + [ids["slow"]]))
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    assert client(port, "state", *(ids_of(ids) + [ids["slow"]])) == before
    redis.Redis(port=port).delete("attempts:f1")
    procs.append(worker(port, "w4"))
    more = client(port, "produce")
    st = wait_for(lambda: (lambda x: x if all(v[0] in ("SUCCESS", "FAILURE") for v in x.values())
                           else None)(client(port, "state", *(ids_of(more) + [more["slow"]]))),
                  what="tasks after the restart")
    assert st[more["slow"]] == ["SUCCESS", "recovered by w4"]
    assert st[more["flaky"]] == ["SUCCESS", 3]
