"""Sidekiq (Debian's ruby-sidekiq 6.4) on sluiced, as a team runs it: a
client pushing jobs, two `sidekiq` worker processes (one thread each),
retries after a backoff, a job that always fails (dead set after its
retry), a scheduled job (the scheduled and retry sets are polled with a Lua
script loaded by SCRIPT LOAD), a worker stopped holding a job that Sidekiq
requeues and the other process finishes, and sluiced SIGKILLed and
restarted with nothing lost.

Sidekiq OSS loses the jobs a SIGKILLed process was running (on Redis as
here; Sidekiq Pro's super_fetch recovers them), so the stopped worker gets
SIGTERM with a 1 s shutdown timeout, after which Sidekiq pushes its
unfinished job back. One thread per process, because with two the stopped
process's idle thread may be the longest-blocked BRPOP when the job is pushed
back, take it, and be killed before reading it: the job is lost, on
redis-server exactly as here (Sidekiq OSS's basic fetch is at-most-once for
that window). The jobs are tests/clients/resp-sidekiq/jobs.rb."""
import json
import os
import signal
import subprocess
import time

import pytest
import redis

import sluice

DIR = os.path.join(sluice.ROOT, "tests", "clients", "resp-sidekiq")


def env(port, worker=""):
    e = dict(os.environ, REDIS_URL="redis://127.0.0.1:%d/0" % port, WORKER=worker)
    e.pop("RUBYOPT", None)
    return e


def ruby(script, port):
    p = subprocess.run(["ruby", script], cwd=DIR, env=env(port), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.strip().splitlines()[-1]


def state(port):
    return json.loads(ruby("state.rb", port))


def worker(port, name):
    return subprocess.Popen(["sidekiq", "-r", "./jobs.rb", "-c", "1", "-t", "1"], cwd=DIR,
                            env=env(port, name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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


EXPECTED = sorted(["add %d=%d" % (i, i + 100) for i in range(20)] + ["flaky f1=3", "later 42"])


def settled(port):
    st = state(port)
    return st if st["dead"] == 1 and st["retries"] == 0 and st["scheduled"] == 0 and \
        all(x in st["results"] for x in EXPECTED) else None


def test_sidekiq_workers_retries_schedule_requeue_and_restart(srv):
    s, procs = srv
    port = s.port("resp")
    r = redis.Redis(port=port)
    assert ruby("push.rb", port) == "pushed"
    workers = {name: worker(port, name) for name in ("w1", "w2")}
    procs.extend(workers.values())

    st = wait_for(lambda: settled(port), what="jobs settled")
    assert [x for x in st["results"] if not x.startswith("slow")] == EXPECTED
    assert st["dead_jobs"] == [["BoomJob", "always fails", 1]]
    assert r.get("attempts:f1") == b"3"

    # The worker holding the slow job is stopped; Sidekiq requeues the job
    # and the other process finishes it.
    holder = wait_for(lambda: r.get("running:victim"), what="slow job start").decode()
    workers[holder].send_signal(signal.SIGTERM)
    assert workers[holder].wait(timeout=30) == 0
    survivor = "w2" if holder == "w1" else "w1"
    wait_for(lambda: "slow victim by " + survivor in state(port)["results"], what="requeued job done")

    workers[survivor].send_signal(signal.SIGTERM)
    workers[survivor].wait(timeout=30)
    before = state(port)
    s.stop(signal.SIGKILL, check=False)
    s.start()
    port = s.port("resp")
    assert state(port) == before
    redis.Redis(port=port).delete("results", "attempts:f1")
    procs.append(worker(port, "w3"))
    assert ruby("push.rb", port) == "pushed"
    st = wait_for(lambda: (lambda x: x if all(e in x["results"] for e in EXPECTED) and x["dead"] == 2
                           else None)(state(port)), what="jobs after the restart")
    assert "slow victim by w3" in st["results"]
