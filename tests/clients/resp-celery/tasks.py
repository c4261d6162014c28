"""Celery tasks for tests/integration/test_redis_libs_celery.py (Debian's
python3-celery 5.2 with kombu's Redis transport and the Redis result
backend, both on sluiced at $REDIS_URL; $WORKER names the worker process).

Late acknowledgement with a short visibility timeout: a task whose worker
dies stays in kombu's unacked hash and is put back (under kombu's lock,
whose release is a Lua script) by the next worker that starts."""
import os
import time

import redis
from celery import Celery

URL = os.environ["REDIS_URL"]
app = Celery("tasks", broker=URL, backend=URL)
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_transport_options={"visibility_timeout": 2},
    result_expires=None,
)
r = redis.Redis.from_url(URL)


@app.task
def add(x):
    r.rpush("results", "add %d=%d" % (x, x + 100))
    return x + 100


@app.task(bind=True, autoretry_for=(ValueError,), retry_backoff=1, retry_jitter=False,
          max_retries=3)
def flaky(self, name):
    n = r.incr("attempts:" + name)
    if n <= 2:
        raise ValueError("attempt %d failed" % n)
    return n


@app.task(bind=True, autoretry_for=(RuntimeError,), max_retries=1, default_retry_delay=0.2)
def boom(self):
    raise RuntimeError("always fails")


@app.task
def later(x):
    return x + 2


@app.task
def slow(name):
    # The first run hangs (its worker is killed); the redelivered one finishes.
    if r.set("running:" + name, os.environ["WORKER"], nx=True):
        while True:
            time.sleep(1)
    return "recovered by " + os.environ["WORKER"]
