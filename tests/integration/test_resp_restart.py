"""Streams and consumer groups survive SIGTERM and SIGKILL restarts: every
acknowledged XADD, XDEL, XTRIM, XSETID, group change, delivery and XACK is
there afterwards, including across journal compactions."""
import os
import signal

import pytest

import sluice
from resp_util import Conn, mask


def snapshot(port):
    c = Conn(port)
    out = []
    for line in [("XRANGE", "s", "-", "+"), ("XLEN", "s"), ("XINFO", "GROUPS", "s"),
                 ("XPENDING", "s", "g"), ("XPENDING", "s", "g", "-", "+", "100"),
                 ("XINFO", "CONSUMERS", "s", "g"), ("XRANGE", "t", "-", "+"), ("EXISTS", "gone"),
                 ("XINFO", "STREAM", "e"), ("DBSIZE",), ("TYPE", "ow"), ("GET", "ow")]:
        raw, v = c.call(*line)
        # Idle times move on; everything else must be identical.
        out.append(mask(v) if line[0] in ("XINFO",) and line[1] == "CONSUMERS" or
                   (line[0] == "XPENDING" and len(line) > 3) else raw)
    c.close()
    return out


def workload(port):
    c = Conn(port)
    for i in range(1, 301):
        assert c.call("XADD", "s", "%d-1" % i, "n", str(i), "pad", "x" * 50)[0].startswith(b"$")
    c.call("XGROUP", "CREATE", "s", "g", "0")
    c.call("XGROUP", "CREATE", "s", "g2", "$")
    c.call("XGROUP", "CREATECONSUMER", "s", "g", "idle")
    c.call("XREADGROUP", "GROUP", "g", "c1", "COUNT", "100", "STREAMS", "s", ">")
    c.call("XREADGROUP", "GROUP", "g", "c2", "COUNT", "50", "STREAMS", "s", ">")
    for i in range(1, 80):
        assert c.call("XACK", "s", "g", "%d-1" % i)[0] == b":1\r\n"
    c.call("XCLAIM", "s", "g", "c2", "0", "90-1", "95-1")
    c.call("XDEL", "s", "120-1", "121-1")
    c.call("XTRIM", "s", "MAXLEN", "250")
    c.call("XADD", "t", "1-1", "a", "b")
    c.call("XADD", "gone", "1-1", "a", "b")
    c.call("DEL", "gone")
    c.call("XGROUP", "CREATE", "e", "g", "$", "MKSTREAM")
    c.call("XSETID", "e", "500-5", "ENTRIESADDED", "7", "MAXDELETEDID", "400-1")
    # A stream overwritten by a string loses its entries for good.
    c.call("XADD", "ow", "1-1", "a", "b")
    c.call("SET", "ow", "now a string")
    c.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
@pytest.mark.parametrize("compact", [False, True])
def test_streams_survive_restart(tmp_path, sig, compact):
    # Small segments: reads cross segment boundaries and trimming deletes
    # whole segments of the stream's partition log.
    extra = ["--log.segment.bytes=16384"]
    if compact:
        extra += ["--journal.compact.min.bytes=0", "--journal.compact.ratio=1"]
    data = tmp_path / "d"
    data.mkdir()
    with sluice.Sluiced(data_dir=str(data), fsync="always", listeners=("resp",), extra=extra) as s:
        workload(s.port("resp"))
        before = snapshot(s.port("resp"))
        if sig == signal.SIGKILL:
            s.kill()
            # A log directory whose creation never reached the journal.
            orphan = os.path.join(str(data), "streams", "77")
            os.mkdir(orphan)
            s.start()
            assert not os.path.exists(orphan)
        else:
            s.restart()
        after = snapshot(s.port("resp"))
        assert after == before
        if compact:
            assert "streams.journal: compacted" in s.stderr()
        segs = [f for f in os.listdir(os.path.join(str(data), "streams", "0")) if f.endswith(".log")]
        assert 1 < len(segs) < 10
        # Logs left: s, t, e (gone and ow were deleted with their keys).
        logs = sorted(d for d in os.listdir(os.path.join(str(data), "streams")) if d.isdigit())
        assert len(logs) == 3, logs
        # The restarted server keeps working: new IDs, deliveries and acks.
        c = Conn(s.port("resp"))
        assert c.call("XADD", "s", "301-1", "n", "301")[0] == b"$5\r\n301-1\r\n"
        raw, _ = c.call("XREADGROUP", "GROUP", "g", "c3", "COUNT", "1", "STREAMS", "s", ">")
        assert b"151-1" in raw
        c.close()


def test_acked_xadd_survives_sigkill_under_load(tmp_path):
    """Pipelined XADDs with fsync=always: every reply received before the
    SIGKILL names an entry that is there after the restart."""
    data = tmp_path / "d"
    data.mkdir()
    with sluice.Sluiced(data_dir=str(data), fsync="always", listeners=("resp",)) as s:
        c = Conn(s.port("resp"))
        acked = []
        for batch in range(20):
            for i in range(50):
                c.send("XADD", "k", "*", "b", str(batch), "i", str(i))
            for i in range(50):
                raw, v = c.read()
                acked.append(v[1])
        s.kill()
        s.start()
        c = Conn(s.port("resp"))
        raw, v = c.call("XRANGE", "k", "-", "+")
        ids = [e[2][0][1] for e in v[2]]
        assert ids == acked
        c.close()
