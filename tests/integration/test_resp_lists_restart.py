"""Durability of lists, string keys and expiry times (the keys journal):
state survives SIGTERM and SIGKILL restarts exactly; with fsync=always
every acknowledged push is there after a SIGKILL mid-stream; a push/pop
queue workload compacts the journal and still restarts to the same state;
expiry times are absolute, so a key that expired while the server was down
is gone."""
import os
import signal
import threading
import time

import pytest

import sluice
from test_resp_lists import Raw, wait_blocked


def start(tmp_path, fsync="always", extra=()):
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    return sluice.Sluiced(data_dir=str(d), fsync=fsync, listeners=("resp",), extra=list(extra))


WORKLOAD = [
    ("RPUSH", "q", "a", "b", "c", "d", "e"), ("LPUSH", "q", "z"), ("LPOP", "q"), ("RPOP", "q", "2"),
    ("LSET", "q", "1", "B"), ("LINSERT", "q", "BEFORE", "c", "pre"), ("RPUSH", "q", "c", "x", "c"),
    ("LREM", "q", "-1", "c"), ("LTRIM", "q", "0", "4"), ("RPUSH", "src", "j1", "j2", "j3"),
    ("LMOVE", "src", "proc", "LEFT", "RIGHT"), ("RPOPLPUSH", "src", "proc"), ("LREM", "proc", "1", "j1"),
    ("SET", "s", "v1"), ("SET", "s", "v2", "EX", "1000"), ("SET", "keep", "1", "PX", "5000000"),
    ("INCR", "n"), ("INCRBY", "n", "41"), ("APPEND", "ap", "ab"), ("APPEND", "ap", "cd"),
    ("RPUSH", "tl", "1"), ("EXPIRE", "tl", "5000"), ("SET", "p", "x", "EX", "100"), ("PERSIST", "p"),
    ("SET", "gone", "x"), ("DEL", "gone"), ("RPUSH", "empty", "1"), ("LPOP", "empty"),
    ("SET", "r1", "v", "EX", "3000"), ("RENAME", "r1", "r2"), ("RPUSH", "big", *[str(i) for i in range(300)]),
    ("LPOP", "big", "120"), ("SET", "short", "x", "PX", "150"), ("SETEX", "se", "4000", "v"),
    ("MSET", "m1", "a", "m2", "b"), ("GETDEL", "m2"), ("XADD", "stream", "1-1", "f", "v"), ("EXPIRE", "stream", "7000"),
]


def snapshot(port):
    r = Raw(port)
    try:
        keys = sorted(r.cmd("KEYS", "*").split(b"\r\n")[2::2])
        out = {}
        for k in keys:
            t = r.cmd("TYPE", k)
            ttl = int(r.cmd("TTL", k)[1:-2])
            if t == b"+list\r\n":
                v = r.cmd("LRANGE", k, "0", "-1")
            elif t == b"+string\r\n":
                v = r.cmd("GET", k)
            else:
                v = r.cmd("XRANGE", k, "-", "+")
            out[k] = (t, v, ttl)
        return out
    finally:
        r.close()


def same_state(before, after):
    assert before.keys() == after.keys()
    for k in before:
        t, v, ttl = before[k]
        t2, v2, ttl2 = after[k]
        assert (t, v) == (t2, v2), k
        if ttl < 0:
            assert ttl2 == ttl, k
        else:  # absolute expiry: the remaining time only went down
            assert 0 < ttl2 <= ttl, (k, ttl, ttl2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_restart_keeps_lists_and_keys(tmp_path, sig):
    s = start(tmp_path)
    try:
        r = Raw(s.port("resp"))
        for cmd in WORKLOAD:
            reply = r.cmd(*cmd)
            assert not reply.startswith(b"-"), (cmd, reply)
        r.close()
        before = snapshot(s.port("resp"))
        assert b"short" in before and b"gone" not in before and b"empty" not in before
        del before[b"short"]
        if sig == signal.SIGKILL:
            s.kill()
            s.start()
        else:
            s.restart()
        # "short" (150 ms) has expired meanwhile or will within the bound.
        r = Raw(s.port("resp"))
        for _ in range(100):
            if r.cmd("EXISTS", "short") == b":0\r\n":
                break
            r.cmd("BLPOP", "never", "0.05")  # waits on the server's clock, bounded
        assert r.cmd("EXISTS", "short") == b":0\r\n"
        r.close()
        same_state(before, snapshot(s.port("resp")))
    finally:
        s.stop()


def test_acked_pushes_survive_sigkill(tmp_path):
    # A producer pipelines RPUSHes under fsync=always and counts acks; the
    # server is killed mid-stream. Every acknowledged value is there after
    # restart, in order, with nothing invented after the last one.
    s = start(tmp_path)
    port = s.port("resp")
    acked = []
    done = threading.Event()

    def produce():
        r = Raw(port)
        sent = 0
        try:
            for i in range(20000):
                r.send("RPUSH", "jobs", "job-%d" % i)
                sent += 1
                if sent - len(acked) >= 32:
                    assert r.read().startswith(b":")
                    acked.append(len(acked))
            while len(acked) < sent:
                assert r.read().startswith(b":")
                acked.append(len(acked))
        except (ConnectionError, OSError):
            pass
        finally:
            done.set()

    t = threading.Thread(target=produce)
    t.start()
    while len(acked) < 2000 and not done.is_set():
        done.wait(0.01)
    os.kill(s.proc.pid, signal.SIGKILL)
    t.join(30)
    s.stop(signal.SIGKILL, check=False)
    s.start()
    try:
        r = Raw(port := s.port("resp"))
        n = int(r.cmd("LLEN", "jobs")[1:-2])
        assert n >= len(acked) >= 2000
        got = r.cmd("LRANGE", "jobs", "0", "-1").split(b"\r\n")[2::2]
        assert got == [b"job-%d" % i for i in range(n)]
        r.close()
    finally:
        s.stop()


def journal_shrinks_to(s, limit, timeout=60):
    path = os.path.join(s.data_dir, "resp", "keys.journal")
    deadline = time.monotonic() + timeout
    while os.path.getsize(path) > limit:
        assert time.monotonic() < deadline, os.path.getsize(path)
        time.sleep(0.05)


def test_queue_workload_compacts_and_restarts(tmp_path):
    s = start(tmp_path, fsync="never", extra=["--journal.compact.min.bytes=65536"])
    try:
        r = Raw(s.port("resp"))
        for batch in range(60):
            for i in range(100):
                r.send("LPUSH", "q", "payload-%d-%d-%s" % (batch, i, "x" * 512))
            for i in range(100):
                r.read()
            for i in range(95):
                r.send("RPOP", "q")
            for i in range(95):
                r.read()
        r.cmd("SET", "marker", "1")
        r.close()
        # 6000 pushes of ~540 bytes (3.2 MB) were written; compaction kept
        # the file near the 300 live elements (the journal preallocates in
        # 1 MiB steps). Compaction is incremental: the last one may still
        # be committing when the workload ends.
        journal_shrinks_to(s, 2 * 1024 * 1024)
        before = snapshot(s.port("resp"))
        assert int(Raw(s.port("resp")).cmd("LLEN", "q")[1:-2]) == 300
        s.kill()
        s.start()
        same_state(before, snapshot(s.port("resp")))
        # After a restart the garbage accounting continues from the replayed
        # state: string churn (SET/DEL of ~540 bytes) still compacts.
        r = Raw(s.port("resp"))
        for i in range(6000):
            r.send("SET", "churn", "c" * 520)
            r.send("DEL", "churn")
        for i in range(12000):
            r.read()
        r.close()
        journal_shrinks_to(s, 2 * 1024 * 1024)
    finally:
        s.stop()


def test_shutdown_with_busy_clients(tmp_path):
    # SIGTERM while clients are subscribed, watching, mid-MULTI and blocked:
    # a clean exit (status 0, no sanitizer report), and the list written
    # before is there after restart.
    s = start(tmp_path)
    port = s.port("resp")
    sub, watch, blk = Raw(port), Raw(port), Raw(port)
    assert sub.cmd("SUBSCRIBE", "a", "b").startswith(b"*3")
    sub.cmd("PSUBSCRIBE", "p*")
    assert watch.cmd("WATCH", "k1", "k2") == b"+OK\r\n"
    assert watch.cmd("MULTI") == b"+OK\r\n"
    assert watch.cmd("RPUSH", "l", "x") == b"+QUEUED\r\n"
    assert blk.cmd("RPUSH", "kept", "v") == b":1\r\n"
    blk.send("BLPOP", "never", "0")
    wait_blocked(port, 1)
    s.stop()
    for c in (sub, watch, blk):
        c.close()
    s.start()
    r = Raw(s.port("resp"))
    assert r.cmd("LRANGE", "kept", "0", "-1") == b"*1\r\n$1\r\nv\r\n"
    assert r.cmd("EXISTS", "l") == b":0\r\n"
    r.close()
    s.stop()


def test_torn_journal_tail_is_cut(tmp_path):
    # A crash can leave the last record half written: the journal cuts it on
    # the next start and every earlier push is there.
    s = start(tmp_path)
    r = Raw(s.port("resp"))
    for i in range(100):
        assert r.cmd("RPUSH", "q", "item-%03d" % i) == b":%d\r\n" % (i + 1)
    r.close()
    s.kill()
    path = os.path.join(s.data_dir, "resp", "keys.journal")
    with open(path, "rb") as f:
        data = f.read()
    end = len(data.rstrip(b"\0"))  # records end where the preallocated zeros begin
    with open(path, "r+b") as f:
        f.truncate(end - 3)
    s.start()
    try:
        r = Raw(s.port("resp"))
        assert r.cmd("LLEN", "q") == b":99\r\n"
        assert r.cmd("LINDEX", "q", "-1") == b"$8\r\nitem-098\r\n"
        assert r.cmd("RPUSH", "q", "after") == b":100\r\n"
        r.close()
    finally:
        s.stop()
