"""go-queue dq's usage of beanstalkd, scripted: two sluiced nodes; the
producer puts every job on both (`use <tube>` + `put 2 <delay> 5 <n>`, body
`<unix-nanos>/<payload>`) and revokes some with `delete` on both; one
consumer per node watches the tube (and `default`, as go-beanstalk's
TubeSet does), loops on `reserve-with-timeout 5` and deletes each job before
processing it. Jobs scheduled by delay or by absolute time arrive on both
nodes within 1 s of their time and never early; revoked jobs never arrive."""
import math
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402

TUBE = b"dq-tube"


def wrap(at_ns, payload):
    return b"%d/%s" % (at_ns, payload)


class Producer:
    def __init__(self, ports):
        self.conns = []
        for p in ports:
            c = bstk.Client(p)
            assert c.cmd(b"use " + TUBE + b"\r\n") == b"USING " + TUBE + b"\r\n"
            self.conns.append(c)

    def delay(self, payload, seconds):
        return self._put(payload, time.time_ns() + seconds * 10**9, seconds)

    def at(self, payload, when_ns):
        # dq's At(t) is Delay(t - now) in whole seconds; rounding up keeps
        # the job from running before t.
        seconds = math.ceil((when_ns - time.time_ns()) / 1e9)
        return self._put(payload, when_ns, seconds)

    def _put(self, payload, at_ns, seconds):
        body = wrap(at_ns, payload)
        ids = []
        for c in self.conns:
            r = c.cmd(b"put 2 %d 5 %d\r\n%s\r\n" % (seconds, len(body), body))
            m = re.match(rb"INSERTED (\d+)\r\n", r)
            assert m, r
            ids.append(int(m.group(1)))
        return body, ids

    def revoke(self, ids):
        for c, jid in zip(self.conns, ids):
            assert c.cmd(b"delete %d\r\n" % jid) == b"DELETED\r\n"


def consumer(port, want, got, stop):
    c = bstk.Client(port, timeout=10)
    assert c.cmd(b"watch " + TUBE + b"\r\n") == b"WATCHING 2\r\n"
    while not stop.is_set() and len(got) < want:
        r = c.cmd(b"reserve-with-timeout 5\r\n", timeout=10)
        if r == b"TIMED_OUT\r\n":
            continue
        m = re.match(rb"RESERVED (\d+) (\d+)\r\n", r)
        assert m, r
        body = r[m.end():-2]
        arrived = time.time_ns()
        # dq deletes before processing (at most once per replica).
        assert c.cmd(b"delete %s\r\n" % m.group(1)) == b"DELETED\r\n"
        got.append((body, arrived))
    c.close()


def test_dq_two_nodes(tmp_path):
    nodes = []
    for k in range(2):
        d = tmp_path / ("n%d" % k)
        d.mkdir()
        nodes.append(sluice.Sluiced(data_dir=str(d), listeners=("beanstalk",)))
    try:
        ports = [n.port("beanstalk") for n in nodes]
        prod = Producer(ports)
        now = time.time_ns()
        keep = [prod.delay(b"d1", 1), prod.delay(b"d2", 2), prod.delay(b"d0", 0),
                prod.at(b"at1", now + 1_500_000_000), prod.at(b"at2", now + 2_700_000_000)]
        gone = [prod.delay(b"revoked1", 2), prod.at(b"revoked2", now + 2_000_000_000)]
        for _, ids in gone:
            prod.revoke(ids)
        got = [[], []]
        stop = threading.Event()
        ts = [threading.Thread(target=consumer, args=(ports[k], len(keep), got[k], stop))
              for k in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(15)
        stop.set()
        want = sorted(b for b, _ in keep)
        for k in range(2):
            assert sorted(b for b, _ in got[k]) == want, (k, got[k])
            for body, arrived in got[k]:
                at_ns = int(body.split(b"/", 1)[0])
                assert arrived >= at_ns, ("early", k, body, arrived - at_ns)
                assert arrived - at_ns < 1_000_000_000, ("late", k, body, arrived - at_ns)
        # Nothing is left: revoked jobs were deleted on both nodes.
        for p in ports:
            c = bstk.Client(p)
            st = c.cmd(b"stats\r\n")
            assert b"\ncurrent-jobs-ready: 0\n" in st and b"\ncurrent-jobs-delayed: 0\n" in st, st
            c.close()
    finally:
        for n in nodes:
            n.stop()
