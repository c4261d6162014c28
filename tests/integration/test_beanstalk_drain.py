"""Drain mode: after SIGUSR1 both beanstalkd and sluiced refuse new jobs with
DRAINING (after reading the body) while every other command keeps working;
the replies, stats' `draining` included, are compared byte for byte."""
import re
import signal

import bstk
import sluice

BEFORE = [("send", 0, b"put 1 0 10 2\r\nab\r\n", 1)]
AFTER = [
    ("send", 0, b"put 1 0 10 2\r\ncd\r\n", 1),          # DRAINING
    ("send", 0, b"put 1 0 10 2\r\nefX\r\n", 2),         # EXPECTED_CRLF first, then the X line
    ("send", 0, b"reserve-with-timeout 0\r\n", 1),       # the old job is still served
    ("send", 0, b"delete 1\r\n", 1),
    ("send", 0, b"put 1 0 10 2\r\ngh\r\n", 1),          # DRAINING again, its id used up
    ("send", 0, b"peek 4\r\n", 1),
    ("send", 0, b"stats\r\n", 1),
]


def wait_draining(port, tries=500):
    """A signal is handled asynchronously: ask `stats` until the server says
    it is draining (bounded)."""
    c = bstk.Client(port)
    try:
        for _ in range(tries):
            c.send(b"stats\r\n")
            if b"draining: true" in c.reply():
                return
        raise AssertionError("server never entered drain mode")
    finally:
        c.close()


def test_drain_mode_matches_beanstalkd(tmp_path):
    with sluice.beanstalkd_ref() as ref, \
            sluice.Sluiced(data_dir=str(tmp_path / "d"), fsync="never",
                           listeners=("beanstalk",)) as sl:
        want1, got1 = bstk.run_both(ref.port, sl.port("beanstalk"), BEFORE)
        assert got1 == want1
        for port, proc in ((ref.port, ref.proc), (sl.port("beanstalk"), sl.proc)):
            proc.send_signal(signal.SIGUSR1)
            wait_draining(port)
        want, got = bstk.run_both(ref.port, sl.port("beanstalk"), AFTER)
    # The number of `stats` polls in wait_draining legitimately differs.
    def norm(r):
        return re.sub(rb"cmd-stats: \d+", b"cmd-stats: *", r)
    for (_, w), (_, g) in zip(want, got):
        assert norm(g) == norm(w), "beanstalkd %r\nsluice     %r" % (w, g)
    assert len(got) == len(want)
    assert any(b"DRAINING" in r for _, r in got)
    assert any(b"draining: true" in r for _, r in got)
