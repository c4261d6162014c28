"""TTR on sluiced alone (1.12's own timer can miss the expiry, so this is
not a differential test): a reserved job goes back to ready at its deadline,
never before, and a worker blocked in reserve receives it then; touch moves
the deadline."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


def test_ttr_expiry_serves_waiting_worker(tmp_path):
    (tmp_path / "d").mkdir()
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("beanstalk",)) as sl:
        a = bstk.Client(sl.port("beanstalk"))
        b = bstk.Client(sl.port("beanstalk"))
        assert a.cmd(b"put 1 0 2 3\r\nttr\r\n") == b"INSERTED 1\r\n"
        assert a.cmd(b"reserve\r\n") == b"RESERVED 1 3\r\nttr\r\n"
        t0 = time.monotonic()
        time.sleep(1.0)
        assert a.cmd(b"touch 1\r\n") == b"TOUCHED\r\n"  # deadline moves to ~3 s
        t1 = time.monotonic()
        r = b.cmd(b"reserve-with-timeout 5\r\n", timeout=8)
        waited = time.monotonic() - t1
        assert r == b"RESERVED 1 3\r\nttr\r\n"
        assert waited >= 1.9, waited  # not before the touched deadline
        assert time.monotonic() - t0 >= 2.9
        st = b.cmd(b"stats-job 1\r\n")
        assert b"\ntimeouts: 1\n" in st and b"\nreserves: 2\n" in st, st
        # The first worker lost the job: its commands on it fail now.
        assert a.cmd(b"delete 1\r\n") == b"NOT_FOUND\r\n"
        assert a.cmd(b"stats\r\n").count(b"\njob-timeouts: 1\n") == 1
        assert b.cmd(b"delete 1\r\n") == b"DELETED\r\n"
        a.close()
        b.close()
