#!/usr/bin/env python3
"""make torture: crash sluiced again and again while every protocol writes,
and count what the acknowledgements promised against what is there after.

Each cycle starts sluiced (fsync=always, debug.powerloss on), runs four
writers at once — Kafka (confluent-kafka, acks=all, idempotent), Redis
XADD and RPUSH (redis-py), beanstalkd put (raw protocol) — each recording
what was acknowledged, and after a random moment ends the server one of
three ways: SIGKILL (a process crash: the page cache survives), a simulated
power loss dropping every write not yet synced, or one tearing them sector
by sector (sluiced's PUT /debug/powerloss, store/sio.h). Then it restarts
the server and reads everything back through the protocols.

Printed per protocol: acknowledged, lost (acknowledged but absent),
altered (present with other content), duplicated (acknowledged and present
more than once). Exit status 1 when anything acknowledged was lost, altered
or duplicated.

Usage: tests/torture/torture.py [--cycles N] [--seed S] [--build DIR]
"""
import argparse
import http.client
import os
import random
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bstk  # noqa: E402
import sluice  # noqa: E402

import redis  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "torture"


class Stop(Exception):
    pass


def kafka_writer(port, cycle, acked, stop):
    p = Producer({"bootstrap.servers": "127.0.0.1:%d" % port, "acks": "all",
                  "enable.idempotence": True, "linger.ms": 2, "message.timeout.ms": 5000,
                  "socket.timeout.ms": 2000, "reconnect.backoff.max.ms": 200,
                  "log_level": 0})

    def report(err, msg):
        if err is None:
            acked.append(msg.value().decode())

    i = 0
    while not stop.is_set():
        try:
            p.produce(TOPIC, value=b"k-%d-%d" % (cycle, i), callback=report)
            i += 1
        except BufferError:
            pass
        p.poll(0.001 if i % 100 else 0.01)
    p.flush(6)


def xadd_writer(port, cycle, acked, stop):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    i = 0
    while not stop.is_set():
        v = "x-%d-%d" % (cycle, i)
        i += 1
        try:
            eid = r.xadd("tx", {"v": v})
            acked.append((eid.decode(), v))
        except (redis.RedisError, OSError):
            return


def rpush_writer(port, cycle, acked, stop):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    i = 0
    while not stop.is_set():
        v = "r-%d-%d" % (cycle, i)
        i += 1
        try:
            r.rpush("tl", v)
            acked.append(v)
        except (redis.RedisError, OSError):
            return


def put_writer(port, cycle, acked, stop):
    try:
        c = bstk.Client(port, timeout=2)
    except OSError:
        return
    i = 0
    while not stop.is_set():
        body = b"b-%d-%d" % (cycle, i)
        i += 1
        try:
            r = c.cmd(b"put 1 0 60 %d\r\n%s\r\n" % (len(body), body))
        except (OSError, EOFError, TimeoutError):
            return
        if r.startswith(b"INSERTED "):
            acked.append((int(r.split()[1]), body.decode()))


def crash(sl, how, seed):
    if how == "kill":
        sl.kill()
        return
    c = http.client.HTTPConnection("127.0.0.1", sl.port("http"), timeout=10)
    try:
        c.request("PUT", "/debug/powerloss?tear=%d&seed=%d" % (how == "tear", seed))
        c.getresponse()
    except (OSError, http.client.HTTPException):
        pass  # the server exits without answering
    rc = sl.proc.wait(timeout=30)
    assert rc == 137, "power loss exit status %s: %s" % (rc, sl.stderr()[-2000:])
    sl.proc = None
    sl.stderr_file.close()


def read_kafka(port):
    c = Consumer({"bootstrap.servers": "127.0.0.1:%d" % port, "group.id": "torture-check",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 0})
    md = c.list_topics(TOPIC, timeout=10).topics[TOPIC]
    parts = [TopicPartition(TOPIC, p, 0) for p in md.partitions]
    ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in md.partitions}
    c.assign(parts)
    got = []
    pos = {p: 0 for p in ends}
    deadline = time.monotonic() + 60
    while any(pos[p] < ends[p] for p in ends) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append(m.value().decode())
        pos[m.partition()] = m.offset() + 1
    c.close()
    return got


def tally(name, acked, present, total):
    """acked: list of keys; present: dict key -> list of contents seen;
    acked items carry their expected content as key (or (key, content))."""
    lost = altered = dup = 0
    for a in acked:
        key, want = a if isinstance(a, tuple) else (a, a)
        seen = present.get(key, [])
        if not seen:
            lost += 1
        elif want not in seen:
            altered += 1
        elif len(seen) > 1:
            dup += 1
    t = total.setdefault(name, [0, 0, 0, 0])
    t[0] += len(acked)
    t[1] += lost
    t[2] += altered
    t[3] += dup
    return lost + altered + dup


def verify(sl, acked):
    """Reads everything back; returns the number of broken promises."""
    bad = 0
    total = verify.total = {}
    kv = {}
    for v in read_kafka(sl.port("kafka")):
        kv.setdefault(v, []).append(v)
    bad += tally("kafka", acked["kafka"], kv, total)
    r = redis.Redis(host="127.0.0.1", port=sl.port("resp"), socket_timeout=30)
    xs = {}
    for eid, fields in r.xrange("tx"):
        xs.setdefault(eid.decode(), []).append(fields.get(b"v", b"").decode())
    bad += tally("xadd", acked["xadd"], xs, total)
    ls = {}
    for v in r.lrange("tl", 0, -1):
        ls.setdefault(v.decode(), []).append(v.decode())
    bad += tally("rpush", acked["rpush"], ls, total)
    c = bstk.Client(sl.port("beanstalk"), timeout=30)
    js = {}
    for jid, body in acked["put"]:
        rep = c.cmd(b"peek %d\r\n" % jid)
        if rep.startswith(b"FOUND "):
            js.setdefault(jid, []).append(rep.split(b"\r\n", 1)[1][:-2].decode())
    c.close()
    bad += tally("put", acked["put"], js, total)
    return bad


verify.total = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=int(os.environ.get("CYCLES", "12")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "1")))
    ap.add_argument("--build", default=os.environ.get("SLUICE_BUILD", sluice.BUILD))
    a = ap.parse_args()
    sluice.SLUICED = os.path.join(a.build, "sluiced")
    rnd = random.Random(a.seed)
    data = tempfile.mkdtemp(prefix="sluice-torture-")
    sl = sluice.Sluiced(data_dir=data, extra=["--debug.powerloss=true"])
    boot = "127.0.0.1:%d" % sl.port("kafka")
    admin = AdminClient({"bootstrap.servers": boot})
    for f in admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)]).values():
        f.result(timeout=30)
    del admin
    acked = {"kafka": [], "xadd": [], "rpush": [], "put": []}
    ways = {"kill": 0, "drop": 0, "tear": 0}
    broken = 0
    for cycle in range(a.cycles):
        how = ("kill", "drop", "tear")[cycle % 3]
        ways[how] += 1
        stop = threading.Event()
        writers = [threading.Thread(target=kafka_writer, args=(sl.port("kafka"), cycle, acked["kafka"], stop)),
                   threading.Thread(target=xadd_writer, args=(sl.port("resp"), cycle, acked["xadd"], stop)),
                   threading.Thread(target=rpush_writer, args=(sl.port("resp"), cycle, acked["rpush"], stop)),
                   threading.Thread(target=put_writer, args=(sl.port("beanstalk"), cycle, acked["put"], stop))]
        for w in writers:
            w.start()
        time.sleep(rnd.uniform(0.3, 1.5))  # load runs for a random while before the crash
        crash(sl, how, rnd.randrange(1 << 30))
        stop.set()
        for w in writers:
            w.join(30)
        sl.start()
        broken += verify(sl, acked)
        counts = ", ".join("%s %d" % (k, len(v)) for k, v in acked.items())
        print("cycle %d (%s): acknowledged so far: %s; broken promises so far: %d" %
              (cycle + 1, how, counts, broken), flush=True)
    sl.stop()
    print()
    print("%d cycles (%d SIGKILL, %d power loss dropping unsynced writes, %d tearing them)" %
          (a.cycles, ways["kill"], ways["drop"], ways["tear"]))
    print("%-8s %12s %8s %8s %11s" % ("", "acknowledged", "lost", "altered", "duplicated"))
    for name, (n, lost, alt, dup) in verify.total.items():
        print("%-8s %12d %8d %8d %11d" % (name, n, lost, alt, dup))
    print("(every cycle re-checked everything acknowledged so far; the table is the last check)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
