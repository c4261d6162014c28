"""Real clients on lists, pub/sub, keys and transactions against sluiced:
the ioredis queue pattern (PUBLISH + LPUSH producer, several worker
processes doing BLPOP on each notification, every message processed
exactly once), a BLMOVE + LREM reliable-queue worker killed mid-job whose
item is recovered, a SET NX EX de-duplication guard, and node-redis,
predis (Debian) and redis-py (Debian) pub/sub, list and MULTI flows."""
import os
import signal
import subprocess
import threading
import time

import pytest
import redis

import sluice
from test_resp_lists import Raw

NODE = os.path.join(sluice.ROOT, "tests", "clients", "resp-queue-node")
PHP = os.path.join(sluice.ROOT, "tests", "clients", "resp-queue-php")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("lxc") / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), fsync="always", listeners=("resp",))
    yield s
    s.stop()


def node(*args, timeout=60):
    p = subprocess.run(["node", "queue.js"] + [str(a) for a in args], cwd=NODE,
                       capture_output=True, text=True, timeout=timeout)
    return p


class Lines:
    """Collects a child's stdout lines on a thread."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for line in self.proc.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_for(self, pred, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cv:
            while not pred(self.lines):
                left = deadline - time.monotonic()
                assert left > 0, "timed out; lines so far: %r" % self.lines[-5:]
                self.cv.wait(left)


def spawn(*args):
    return subprocess.Popen(["node", "queue.js"] + [str(a) for a in args], cwd=NODE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ioredis_pubsub_blpop_workers_exactly_once(srv):
    port = srv.port("resp")
    n = 120
    workers = [spawn("worker", port, "orders", i) for i in range(3)]
    outs = [Lines(w) for w in workers]
    try:
        for o in outs:
            o.wait_for(lambda ls: "READY" in ls)
        p = node("producer", port, "orders", n)
        assert p.returncode == 0 and "OK producer" in p.stdout, p.stdout + p.stderr

        def total():
            return sum(len([l for l in o.lines if l.startswith("JOB ")]) for o in outs)

        deadline = time.monotonic() + 60
        while total() < n:
            assert time.monotonic() < deadline, "only %d of %d jobs processed" % (total(), n)
            time.sleep(0.05)  # polling the workers' output, bounded by the deadline
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(10)
    jobs = [l.split(" ", 2)[2] for o in outs for l in o.lines if l.startswith("JOB ")]
    assert sorted(jobs) == sorted("msg-%d" % i for i in range(n))  # each exactly once
    r = Raw(port)
    assert r.cmd("EXISTS", "orders_job") == b":0\r\n"
    r.close()


def test_reliable_queue_worker_killed_mid_job(srv):
    port = srv.port("resp")
    r = Raw(port)
    r.cmd("DEL", "jobs", "processing")
    assert r.cmd("LPUSH", "jobs", "j1", "j2", "j3", "j4") == b":4\r\n"
    w = spawn("reliable-crash", port)
    out = Lines(w)
    out.wait_for(lambda ls: any(l.startswith("TAKEN ") for l in ls))
    taken = [l for l in out.lines if l.startswith("TAKEN ")][0].split()[1]
    assert taken == "j1"
    w.kill()
    w.wait(10)
    # The item the dead worker held is in the processing list, not lost.
    assert r.cmd("LRANGE", "processing", "0", "-1") == b"*1\r\n$2\r\nj1\r\n"
    p = node("reliable-drain", port)
    assert p.returncode == 0 and "OK reliable" in p.stdout, p.stdout + p.stderr
    lines = p.stdout.split("\n")
    assert "RECOVERED j1" in lines
    assert sorted(l for l in lines if l.startswith("DONE ")) == ["DONE j%d" % i for i in (1, 2, 3, 4)]
    assert r.cmd("EXISTS", "jobs", "processing") == b":0\r\n"
    r.close()


def test_ioredis_set_nx_ex_dedup(srv):
    p = node("dedup", srv.port("resp"))
    assert p.returncode == 0 and "OK dedup" in p.stdout, p.stdout + p.stderr


def test_node_redis_flows(srv):
    p = node("noderedis", srv.port("resp"))
    assert p.returncode == 0 and "OK node-redis" in p.stdout, p.stdout + p.stderr


def test_predis_flows(srv):
    p = subprocess.run(["php", "queue.php", str(srv.port("resp"))], cwd=PHP,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "OK predis" in p.stdout, p.stdout + p.stderr


def test_redis_py_flows(srv):
    port = srv.port("resp")
    # redis-py 4.3 (Debian) speaks RESP2 only.
    c = redis.Redis(port=port)
    c.delete("py:q", "py:done", "py:k")
    # Pub/sub with a message handler thread-free loop.
    ps = c.pubsub()
    ps.subscribe("py:ch")
    ps.psubscribe("py:*")
    assert ps.get_message(timeout=5)["type"] == "subscribe"
    assert ps.get_message(timeout=5)["type"] == "psubscribe"
    assert c.publish("py:ch", "hi") == 2
    msgs = [ps.get_message(timeout=5) for _ in range(2)]
    assert sorted(m["type"] for m in msgs) == ["message", "pmessage"]
    assert all(m["data"] == b"hi" for m in msgs)
    ps.ping("health")  # redis-py's health check in subscribed mode
    assert ps.get_message(timeout=5)["data"] in (b"health", [b"pong", b"health"])
    ps.close()
    # Lists.
    assert c.rpush("py:q", "a", "b", "c") == 3
    assert c.blpop(["py:none", "py:q"], timeout=1) == (b"py:q", b"a")
    assert c.brpoplpush("py:q", "py:done", timeout=1) == b"c"
    assert c.blmove("py:q", "py:done", 1, "LEFT", "RIGHT") == b"b"
    assert c.blpop(["py:q"], timeout=0.1) is None
    assert c.lrange("py:done", 0, -1) == [b"c", b"b"]
    assert c.lpos("py:done", "b") == 1
    # Transactions and WATCH.
    with c.pipeline() as p:
        p.set("py:k", 1).incr("py:k").expire("py:k", 100).ttl("py:k")
        assert p.execute() == [True, 2, True, 100]
    with c.pipeline() as p:
        p.watch("py:k")
        redis.Redis(port=port).set("py:k", "other")
        p.multi()
        p.set("py:k", "mine")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert c.get("py:k") == b"other"
    assert c.set("py:lock", "x", nx=True, ex=10) is True
    assert c.set("py:lock", "x", nx=True, ex=10) is None
    c.delete("py:lock")
    c.close()
