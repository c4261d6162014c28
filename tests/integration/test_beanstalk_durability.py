"""beanstalk durability: every job acknowledged with INSERTED under
fsync=always survives SIGKILL; state survives a clean restart (priority,
remaining delay, tube, body, buried state; reserved jobs come back ready);
journal compaction keeps the disk use proportional to live jobs."""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


def stats_job(c, jid):
    r = c.cmd(b"stats-job %d\r\n" % jid)
    if r == b"NOT_FOUND\r\n":
        return None
    return dict(l.split(": ", 1) for l in r.decode().split("\r\n", 1)[1].strip().split("\n")[1:])


def new_server(tmp_path, **kw):
    d = tmp_path / "d"
    d.mkdir(exist_ok=True)
    return sluice.Sluiced(data_dir=str(d), listeners=("beanstalk",), **kw)


def test_sigkill_during_puts_keeps_every_acknowledged_job(tmp_path):
    sl = new_server(tmp_path, fsync="always")
    try:
        sigkill_during_puts(sl)
    finally:
        if sl.proc is not None:
            sl.stop(check=False)


def sigkill_during_puts(sl):
    port = sl.port("beanstalk")
    acked = {}  # id -> (tube, pri, delay, body)
    lock = threading.Lock()
    enough = threading.Event()
    window = 16

    def producer(k):
        tube = b"p%d" % k
        try:
            c = bstk.Client(port)
            c.cmd(b"use " + tube + b"\r\n")
            pending = []
            for n in range(4000):  # bounded; the kill normally comes first
                pri, delay = n % 7, (600 if n % 3 == 0 else 0)
                body = b"job-%d-%d-" % (k, n) + b"x" * (n % 50)
                c.send(b"put %d %d 30 %d\r\n%s\r\n" % (pri, delay, len(body), body))
                pending.append((tube, pri, delay, body))
                if len(pending) >= window:
                    r = c.reply()
                    m = re.match(rb"INSERTED (\d+)\r\n", r)
                    assert m, r
                    with lock:
                        acked[int(m.group(1))] = pending.pop(0)
                        if len(acked) >= 1500:
                            enough.set()
        except (OSError, EOFError, TimeoutError):
            pass  # the server was killed under us

    ts = [threading.Thread(target=producer, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    assert enough.wait(60), "producers made no progress"
    sl.kill()
    for t in ts:
        t.join(30)
    with lock:
        snapshot = dict(acked)
    assert len(snapshot) >= 1500

    sl.start()
    c = bstk.Client(sl.port("beanstalk"))
    for jid, (tube, pri, delay, body) in sorted(snapshot.items()):
        r = c.cmd(b"peek %d\r\n" % jid)
        assert r == b"FOUND %d %d\r\n%s\r\n" % (jid, len(body), body), (jid, r)
        st = stats_job(c, jid)
        assert st["tube"] == tube.decode() and st["pri"] == str(pri), (jid, st)
        if delay:
            assert st["state"] == "delayed", st
            assert 500 <= int(st["time-left"]) <= delay, st
        else:
            assert st["state"] == "ready", st
    c.close()
    sl.stop()


def test_clean_restart_keeps_state(tmp_path):
    sl = new_server(tmp_path, fsync="always")
    try:
        clean_restart(sl)
    finally:
        if sl.proc is not None:
            sl.stop(check=False)


def clean_restart(sl):
    c = bstk.Client(sl.port("beanstalk"))
    assert c.cmd(b"use work\r\n") == b"USING work\r\n"
    assert c.cmd(b"put 5 0 20 5\r\nready\r\n") == b"INSERTED 1\r\n"
    assert c.cmd(b"put 6 4 20 7\r\ndelayed\r\n") == b"INSERTED 2\r\n"
    assert c.cmd(b"put 7 0 20 6\r\nburied\r\n") == b"INSERTED 3\r\n"
    assert c.cmd(b"put 8 0 20 8\r\nreserved\r\n") == b"INSERTED 4\r\n"
    assert c.cmd(b"put 9 0 20 7\r\ndeleted\r\n") == b"INSERTED 5\r\n"
    assert c.cmd(b"put 1 0 20 8\r\nreleased\r\n") == b"INSERTED 6\r\n"
    assert c.cmd(b"watch work\r\n") == b"WATCHING 2\r\n"
    assert c.cmd(b"reserve-job 3\r\n") == b"RESERVED 3 6\r\nburied\r\n"
    assert c.cmd(b"bury 3 70\r\n") == b"BURIED\r\n"
    assert c.cmd(b"reserve-job 4\r\n") == b"RESERVED 4 8\r\nreserved\r\n"
    assert c.cmd(b"delete 5\r\n") == b"DELETED\r\n"
    assert c.cmd(b"reserve-job 6\r\n") == b"RESERVED 6 8\r\nreleased\r\n"
    assert c.cmd(b"release 6 33 600\r\n") == b"RELEASED\r\n"
    started = time.monotonic()
    c.close()
    sl.restart()
    c = bstk.Client(sl.port("beanstalk"))
    st = stats_job(c, 1)
    assert (st["tube"], st["state"], st["pri"]) == ("work", "ready", "5")
    st = stats_job(c, 2)
    assert (st["state"], st["pri"], st["delay"]) == ("delayed", "6", "4")
    # The delay kept running while the server was down: never more than was left.
    assert int(st["time-left"]) <= 4 - int(time.monotonic() - started)
    st = stats_job(c, 3)
    assert (st["state"], st["pri"], st["buries"]) == ("buried", "70", "1")
    st = stats_job(c, 4)
    assert (st["state"], st["pri"]) == ("ready", "8")
    assert stats_job(c, 5) is None
    st = stats_job(c, 6)
    assert (st["state"], st["pri"], st["delay"]) == ("delayed", "33", "600")
    assert c.cmd(b"peek 2\r\n") == b"FOUND 2 7\r\ndelayed\r\n"
    # Ids continue after the largest one ever used, even a deleted one.
    assert c.cmd(b"put 1 0 1 1\r\nz\r\n") == b"INSERTED 7\r\n"
    assert c.cmd(b"delete 7\r\n") == b"DELETED\r\n"
    # The delayed job still becomes ready at its original time.
    assert c.cmd(b"watch work\r\n") == b"WATCHING 2\r\n"
    assert c.cmd(b"ignore default\r\n") == b"WATCHING 1\r\n"
    assert c.cmd(b"reserve-with-timeout 10\r\n") == b"RESERVED 1 5\r\nready\r\n"
    assert c.cmd(b"reserve-with-timeout 10\r\n") == b"RESERVED 4 8\r\nreserved\r\n"
    r = c.cmd(b"reserve-with-timeout 10\r\n", timeout=12)
    assert r == b"RESERVED 2 7\r\ndelayed\r\n"
    assert time.monotonic() - started >= 3.9
    c.close()
    # Restart after SIGKILL: the deleted ids stay deleted, next id stays ahead.
    sl.kill()
    sl.start()
    c = bstk.Client(sl.port("beanstalk"))
    assert stats_job(c, 7) is None
    assert c.cmd(b"put 1 0 1 1\r\nz\r\n") == b"INSERTED 8\r\n"
    st = stats_job(c, 2)
    assert st["state"] == "ready"  # it was reserved when killed
    c.close()
    sl.stop()


def test_compaction_keeps_disk_proportional_to_live_jobs(tmp_path):
    sl = new_server(tmp_path, fsync="never",
                    extra=["--journal.compact.min.bytes=65536", "--journal.compact.ratio=50"])
    try:
        compaction(sl)
    finally:
        if sl.proc is not None:
            sl.stop(check=False)


def compaction(sl):
    c = bstk.Client(sl.port("beanstalk"))
    body = b"b" * 1000
    live = []
    for i in range(4000):
        c.send(b"put 1 0 10 %d\r\n%s\r\n" % (len(body), body))
    ids = [int(c.reply().split()[1]) for _ in range(4000)]
    for i, jid in enumerate(ids):
        if i % 400 == 0:
            live.append(jid)
        else:
            c.send(b"delete %d\r\n" % jid)
    for _ in range(len(ids) - len(live)):
        assert c.reply() == b"DELETED\r\n"
    assert c.cmd(b"stats-tube default\r\n").count(b"current-jobs-ready: 10\n") == 1
    c.close()
    journal = os.path.join(sl.data_dir, "beanstalk", "jobs.journal")
    # 4 MB were written; what stays is about the live jobs plus at most
    # the garbage ratio's worth. Compaction runs at the end of the loop turn
    # that made the garbage, which may be just after the replies left.
    # Records appended after the last compaction sit in a preallocated
    # step (1 MiB of zeros, which replay takes as the end): what counts is
    # the records, not the file's length.
    def used():
        with open(journal, "rb") as f:
            return len(f.read().rstrip(b"\0"))
    deadline = time.monotonic() + 10
    while used() >= 200 * 1024 and time.monotonic() < deadline:
        time.sleep(0.01)
    size = used()
    assert size < 200 * 1024, size
    assert os.path.getsize(journal) <= 1024 * 1024 + size, os.path.getsize(journal)
    sl.restart()
    c = bstk.Client(sl.port("beanstalk"))
    for jid in live:
        assert c.cmd(b"peek %d\r\n" % jid) == b"FOUND %d 1000\r\n%s\r\n" % (jid, body)
    assert c.cmd(b"put 1 0 1 1\r\nz\r\n") == b"INSERTED %d\r\n" % (ids[-1] + 1)
    c.close()
    sl.stop()
