"""python-rq (Debian's python3-rq) on sluiced, as a team runs it: producers
on two threads, three `rq worker --with-scheduler` processes, jobs that
succeed, jobs that fail and are retried with backoff until they pass, a job
that always fails (it ends in the failed registry with its traceback), a
delayed job (enqueue_in), completion callbacks, a worker SIGKILLed (with
its work horse) in the middle of a job whose job is then recovered from the
registries onto a surviving worker, and sluiced itself SIGKILLed and
restarted with nothing lost: finished jobs keep their results, queued and
scheduled ones still run.

rq uses hashes (jobs), sorted sets (started/finished/failed/scheduled
registries), sets (workers, queues), lists (queues), pub/sub, MULTI/EXEC
pipelines, WATCH and blocking pops."""
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import redis
from rq import Queue, Retry
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

import sluice

TASKS = '''
import os, time, redis

def conn():
    return redis.Redis(port=int(os.environ["SLUICE_RESP_PORT"]))

def add(x, y):
    return x + y

def flaky(name, fails):
    # Fails `fails` times, then succeeds: the retries' backoff runs through
    # the scheduler (a sorted set of scheduled jobs).
    n = conn().incr("attempts:" + name)
    if n <= fails:
        raise RuntimeError("attempt %d of %s failed" % (n, name))
    return "%s ok after %d" % (name, n)

def boom():
    raise ValueError("always fails")

def slow(name, seconds):
    # The first attempt records its process and takes long (it is the one
    # killed); a retry finds the mark and finishes at once.
    if conn().set("running:" + name, os.getpid(), nx=True):
        time.sleep(seconds)
    return name + " done"

def on_success(job, connection, result, *args, **kwargs):
    connection.rpush("completed", job.id)
'''


def wait_for(pred, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)  # polling server state, not a readiness guess
    raise AssertionError("timed out waiting for " + what)


class Workers:
    def __init__(self, port, tasks_dir):
        self.port, self.tasks_dir, self.procs = port, tasks_dir, []

    def start(self, n=1):
        env = dict(os.environ, PYTHONPATH=self.tasks_dir, SLUICE_RESP_PORT=str(self.port))
        for _ in range(n):
            self.procs.append(subprocess.Popen(
                ["/usr/bin/rq", "worker", "--with-scheduler", "--url",
                 "redis://127.0.0.1:%d" % self.port, "--worker-ttl", "5", "default"],
                env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))

    def kill(self, p):
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        self.procs.remove(p)

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []


@pytest.fixture
def rq_env(tmp_path):
    (tmp_path / "rqtasks.py").write_text(TASKS)
    sys.path.insert(0, str(tmp_path))
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), fsync="always", listeners=("resp",))
    w = Workers(s.port("resp"), str(tmp_path))
    try:
        yield s, w
    finally:
        w.stop()
        s.stop()
        sys.path.remove(str(tmp_path))
        sys.modules.pop("rqtasks", None)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rq_workers_retries_delays_crash_and_restart(rq_env):
    s, workers = rq_env
    import rqtasks
    r = redis.Redis(port=s.port("resp"))
    q = Queue("default", connection=r)

    # Producers on two threads.
    ids = []
    lock = threading.Lock()

    def produce(base):
        pq = Queue("default", connection=redis.Redis(port=s.port("resp")))
        for i in range(15):
            j = pq.enqueue(rqtasks.add, base, i, on_success=rqtasks.on_success)
            with lock:
                ids.append((j.id, base + i))

    threads = [threading.Thread(target=produce, args=(b,)) for b in (100, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flaky = q.enqueue(rqtasks.flaky, "f1", 2, retry=Retry(max=3, interval=[1, 2]))
    failing = q.enqueue(rqtasks.boom, retry=Retry(max=1, interval=1))
    delayed = q.enqueue_in(timedelta(seconds=2), rqtasks.add, 40, 2)
    assert delayed.get_status() == "scheduled"

    workers.start(3)
    for jid, want in ids:
        job = wait_for(lambda: (lambda j: j if j.get_status() == "finished" else None)(Job.fetch(jid, connection=r)),
                       what="job %s" % jid)
        assert job.result == want
    wait_for(lambda: r.llen("completed") == 30, what="30 completion callbacks")
    assert sorted(x.decode() for x in r.lrange("completed", 0, -1)) == sorted(j for j, _ in ids)
    wait_for(lambda: Job.fetch(flaky.id, connection=r).get_status() == "finished", what="flaky job")
    assert Job.fetch(flaky.id, connection=r).result == "f1 ok after 3"
    assert int(r.get("attempts:f1")) == 3
    wait_for(lambda: Job.fetch(delayed.id, connection=r).get_status() == "finished", what="delayed job")
    assert Job.fetch(delayed.id, connection=r).result == 42
    wait_for(lambda: failing.id in FailedJobRegistry(queue=q).get_job_ids(), what="failed job")
    failed = Job.fetch(failing.id, connection=r)
    assert failed.get_status() == "failed" and "always fails" in failed.exc_info

    # A worker dies (SIGKILL, with its work horse) in the middle of a job.
    victim_job = q.enqueue(rqtasks.slow, "victim", 30, job_timeout=40)
    horse = int(wait_for(lambda: r.get("running:victim"), what="slow job start"))
    # The job runs in a work horse forked by its worker (in a session of
    # its own): both die at once.
    with open("/proc/%d/stat" % horse) as f:
        parent = int(f.read().rsplit(")", 1)[1].split()[1])
    victim = next(p for p in workers.procs if p.pid == parent)
    os.kill(horse, signal.SIGKILL)
    workers.kill(victim)
    # A dead scheduler's lock lapses after a minute (its TTL, kept across
    # the restart below); an operator who knows it died clears it.
    lock = "rq:scheduler-lock:default"
    if r.get(lock) == str(parent).encode():
        assert 0 < r.ttl(lock) <= 61
        r.delete(lock)
    started = StartedJobRegistry(queue=q)
    assert victim_job.id in started.get_job_ids()
    # Once its heartbeat has lapsed (a minute past its timeout: the cleanup
    # is told the time instead of the test waiting for it) the registry gives
    # it up, and the operator requeues it: a surviving worker runs it.
    started.cleanup(timestamp=time.time() + 3600)
    assert victim_job.id in FailedJobRegistry(queue=q).get_job_ids()
    assert victim_job.id not in started.get_job_ids()
    FailedJobRegistry(queue=q).requeue(victim_job.id)
    wait_for(lambda: Job.fetch(victim_job.id, connection=r).get_status() == "finished", what="recovered job")
    assert Job.fetch(victim_job.id, connection=r).result == "victim done"

    # sluiced dies; everything acknowledged is there after the restart.
    workers.stop()
    later = q.enqueue_in(timedelta(seconds=1), rqtasks.add, 1, 1)
    queued = q.enqueue(rqtasks.add, 5, 5)
    finished_before = sorted(FinishedJobRegistry(queue=q).get_job_ids())
    s.stop(signal.SIGKILL, check=False)
    s.start()
    r = redis.Redis(port=s.port("resp"))
    q = Queue("default", connection=r)
    assert sorted(FinishedJobRegistry(queue=q).get_job_ids()) == finished_before
    for jid, want in ids:
        assert Job.fetch(jid, connection=r).result == want
    assert queued.id in q.job_ids
    workers.port = s.port("resp")
    workers.start(2)
    wait_for(lambda: Job.fetch(queued.id, connection=r).get_status() == "finished", what="queued job after restart")
    wait_for(lambda: Job.fetch(later.id, connection=r).get_status() == "finished", what="scheduled job after restart")
    assert Job.fetch(later.id, connection=r).result == 2
