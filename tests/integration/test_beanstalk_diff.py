"""Differential tests: scripted beanstalkd sessions run against Debian's
beanstalkd 1.12 and against sluiced at the same time; every reply is
compared byte for byte (stats values that legitimately differ are masked,
see bstk.MASK_STATS). Step format: see bstk.py."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


def S(i, data, n=1):
    return ("send", i, data, n)


def R(i, n=1):
    return ("recv", i, n)


def sleep(s):
    return ("sleep", s)


LONG = b"x" * 300
TUBE200 = b"t" * 200

SESSIONS = {
    "basic": [
        S(0, b"put 10 0 60 5\r\nhello\r\n"),
        S(0, b"peek 1\r\n"),
        S(0, b"peek-ready\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"peek-ready\r\n"),
        S(0, b"touch 1\r\n"),
        S(0, b"delete 1\r\n"),
        S(0, b"delete 1\r\n"),
        S(0, b"peek 1\r\n"),
        S(0, b"put 0 0 1 0\r\n\r\n"),
        S(0, b"reserve-with-timeout 0\r\n"),
        S(0, b"reserve-with-timeout 0\r\n"),
        S(0, b"stats-tube default\r\n"),
        S(0, b"stats\r\n"),
    ],
    "pipelined": [
        S(0, b"put 1 0 10 1\r\na\r\nput 2 0 10 1\r\nb\r\nput 0 0 10 1\r\nc\r\n"
             b"reserve\r\nreserve\r\nreserve\r\ndelete 3\r\ndelete 1\r\ndelete 2\r\nstats-tube default\r\n", 10),
    ],
    "errors": [
        S(0, b"foo\r\n"),
        S(0, b"\r\n"),
        S(0, b"use\r\n"),
        S(0, b"reservex\r\n"),
        S(0, b"stats \r\n"),
        S(0, b"list-tubes x\r\n"),
        S(0, b"peek\r\n"),
        S(0, b"peek abc\r\n"),
        S(0, b"peek -1\r\n"),
        S(0, b"peek 18446744073709551616\r\n"),
        S(0, b"peek 18446744073709551615\r\n"),
        S(0, b"peek  7\r\n"),
        S(0, b"peek 7 \r\n"),
        S(0, b"delete\r\n"),
        S(0, b"delete x\r\n"),
        S(0, b"release 1\r\n"),
        S(0, b"release 1 2\r\n"),
        S(0, b"release 1 2 3\r\n"),
        S(0, b"release 1 2 3 4\r\n"),
        S(0, b"bury 1\r\n"),
        S(0, b"bury 1 2\r\n"),
        S(0, b"bury 1 4294967296\r\n"),
        S(0, b"touch 1\r\n"),
        S(0, b"kick-job 1\r\n"),
        S(0, b"kick\r\n"),
        S(0, b"kick \r\n"),
        S(0, b"kick x\r\n"),
        S(0, b"kick 0\r\n"),
        S(0, b"kick 5 junk\r\n"),
        S(0, b"kick -1\r\n"),
        S(0, b"stats-job 99\r\n"),
        S(0, b"stats-job\r\n"),
        S(0, b"stats-tube nosuch\r\n"),
        S(0, b"stats-tube -bad\r\n"),
        S(0, b"pause-tube default\r\n"),
        S(0, b"pause-tube nosuch 1\r\n"),
        S(0, b"pause-tube -x 1\r\n"),
        S(0, b"pause-tube  default x\r\n"),
        S(0, b"reserve-job 5\r\n"),
        S(0, b"reserve-job x\r\n"),
        S(0, b"ignore default\r\n"),
        S(0, b"ignore nosuch\r\n"),
        S(0, b"a\x00b\r\n"),
        S(0, b"put 1 0 1 1\x00\r\n"),
        S(0, b"quitnow\r\n", 0),
        ("eof", 0),
    ],
    "put_errors": [
        S(0, b"put\r\n"),
        S(0, b"put 1 0 1\r\n"),
        S(0, b"put 1 0 1 x\r\n"),
        S(0, b"put -1 0 1 1\r\n"),
        S(0, b"put 4294967296 0 1 1\r\nx\r\n", 2),
        S(0, b"put 10 0 5 3 junk\r\nabc\r\n", 2),
        S(0, b"put 1 0 1 3\r\nabcd\r\n", 2),
        S(0, b"put 1 0 1 3\r\nabc\r\n"),
        S(0, b"put 1 0 1 70000\r\n" + b"z" * 70000 + b"\r\n"),
        S(0, b"put 1 0 1 70000 trailing\r\n" + b"z" * 70000 + b"\r\n"),
        S(0, b"put 1 0 1 65535\r\n" + b"y" * 65535 + b"\r\n"),
        S(0, b"put 1 0 1 65536\r\n" + b"y" * 65536 + b"\r\n"),
        S(0, b"put 1 0 1 99999999999\r\n"),
        S(0, b"put 1 0 1 4294967295\r\n", 0),
        ("close", 0),
        S(1, b"put 1 0 0 2\r\nhi\r\n"),
        S(1, b"stats-job 5\r\n"),
        S(1, b"put 4294967295 4294967295 4294967295 1\r\nq\r\n"),
        S(1, b"stats-job 6\r\n"),
        S(1, b"put  1  0  1  1\r\nr\r\n"),
        S(1, b"put 1 0 1 1 \r\nr\r\n", 2),
        S(1, b"stats\r\n"),
    ],
    "long_lines": [
        S(0, b"use " + b"a" * 218 + b"\r\n"),  # 224 bytes with CRLF
        S(0, b"use " + b"a" * 219 + b"\r\n"),  # 225: too long
        S(0, LONG + b"\r\n"),
        S(0, b"x" * 1000 + b"\r\nlist-tube-used\r\n", 2),
        S(0, b"foo\rbar\r\n" + b"y" * 300 + b"\r\n", 1),
        S(0, b"use " + TUBE200 + b"\r\n"),
        S(0, b"use " + TUBE200 + b"t\r\n"),
        S(0, b"x" * 222 + b"\r\n"),
        S(0, b"x" * 223 + b"\r\nlist-tube-used\r\n", 2),
        S(0, b"x" * 224 + b"\r\nlist-tube-used\r\n", 2),
        S(0, b"x" * 447 + b"\r\nlist-tube-used\r\n", 2),
        S(0, b"x" * 448 + b"\r\nlist-tube-used\r\n", 2),
    ],
    "tubes": [
        S(0, b"use foo\r\n"),
        S(0, b"list-tube-used\r\n"),
        S(0, b"list-tubes\r\n"),
        S(0, b"watch bar\r\n"),
        S(0, b"watch baz\r\n"),
        S(0, b"watch bar\r\n"),
        S(0, b"list-tubes-watched\r\n"),
        S(0, b"ignore default\r\n"),
        S(0, b"list-tubes-watched\r\n"),
        S(0, b"list-tubes\r\n"),
        S(0, b"ignore bar\r\n"),
        S(0, b"ignore baz\r\n"),
        S(0, b"ignore baz\r\n"),
        S(0, b"list-tubes\r\n"),
        S(0, b"use A-Za+z0/9;.$_()\r\n"),
        S(0, b"use -x\r\n"),
        S(0, b"use a b\r\n"),
        S(0, b"use a*b\r\n"),
        S(0, b"use  lead\r\n"),
        S(0, b"watch " + TUBE200 + b"\r\n"),
        S(0, b"watch " + TUBE200 + b"x\r\n"),
        S(0, b"put 1 0 1 1\r\nj\r\n"),
        S(0, b"use default\r\n"),
        S(0, b"list-tubes\r\n"),
        S(1, b"watch one\r\n"),
        S(1, b"watch two\r\n"),
        S(1, b"watch three\r\n"),
        S(1, b"list-tubes\r\n"),
        ("close", 1),
        S(0, b"list-tubes\r\n"),
        S(0, b"stats-tube A-Za+z0/9;.$_()\r\n"),
        S(0, b"delete 1\r\n"),
        S(0, b"list-tubes\r\n"),
        S(0, b"stats\r\n"),
    ],
    "priorities": [
        S(0, b"use a\r\n"),
        S(0, b"put 5 0 10 2\r\na1\r\n"),
        S(0, b"put 3 0 10 2\r\na2\r\n"),
        S(0, b"use b\r\n"),
        S(0, b"put 3 0 10 2\r\nb1\r\n"),
        S(0, b"put 1023 0 10 2\r\nb2\r\n"),
        S(0, b"put 1024 0 10 2\r\nb3\r\n"),
        S(0, b"put 0 0 10 2\r\nb4\r\n"),
        S(0, b"watch a\r\n"),
        S(0, b"watch b\r\n"),
        S(0, b"stats-tube b\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"release 2 3 0\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"reserve\r\n"),
        S(0, b"reserve-with-timeout 0\r\n"),
        S(0, b"stats\r\n"),
    ],
    "bury_kick": [
        S(0, b"put 1 0 10 1\r\na\r\nput 2 0 10 1\r\nb\r\nput 3 0 10 1\r\nc\r\n", 3),
        S(0, b"reserve\r\nbury 1 7\r\nreserve\r\nbury 2 8\r\n", 4),
        S(0, b"peek-buried\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"bury 3 1\r\n"),
        S(0, b"kick 1\r\n"),
        S(0, b"peek-buried\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"kick-job 2\r\n"),
        S(0, b"kick-job 2\r\n"),
        S(0, b"kick 10\r\n"),
        S(0, b"put 1 5 10 1\r\nd\r\nput 1 3 10 1\r\ne\r\n", 2),
        S(0, b"peek-delayed\r\n"),
        S(0, b"kick 1\r\n"),
        S(0, b"peek-delayed\r\n"),
        S(0, b"stats-job 4\r\n"),
        S(0, b"kick-job 4\r\n"),
        S(0, b"peek-delayed\r\n"),
        S(0, b"reserve-job 3\r\n"),
        S(0, b"bury 3 0\r\n"),
        S(0, b"reserve-job 3\r\n"),
        S(0, b"stats-job 3\r\n"),
        S(0, b"delete 3\r\n"),
        S(0, b"stats\r\n"),
    ],
    "delays": [
        S(0, b"put 1 1 10 1\r\na\r\n"),
        S(0, b"put 1 3 10 1\r\nb\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"peek-delayed\r\n"),
        S(0, b"reserve-with-timeout 0\r\n"),
        S(0, b"stats-tube default\r\n"),
        S(0, b"reserve-with-timeout 3\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"release 1 5 1\r\n"),
        S(0, b"stats-job 1\r\n"),
        S(0, b"peek-delayed\r\n"),
        sleep(1.4),
        S(0, b"peek-ready\r\n"),
        S(0, b"stats\r\n"),
    ],
    # 1.12 can miss a TTR expiry until the reserving connection has some
    # other activity (docs/beanstalk.md explains why), so after the TTR the
    # reserving connection sends a command before the job is looked at.
    "ttr": [
        S(0, b"put 1 0 1 1\r\na\r\n"),
        S(0, b"reserve\r\n"),
        sleep(1.5),
        S(0, b"list-tube-used\r\n"),
        S(1, b"stats-job 1\r\n"),
        S(1, b"stats\r\n"),
        S(1, b"reserve\r\n"),
        S(1, b"reserve\r\n"),  # TTR 1: deadline soon at once
        S(1, b"delete 1\r\n"),
        S(2, b"put 1 0 3 1\r\nb\r\n"),
        S(2, b"reserve\r\n"),
        S(2, b"reserve\r\n", 0),  # waits; DEADLINE_SOON about 2 s later
        R(2),
        S(2, b"delete 2\r\n"),
        S(3, b"put 1 0 2 1\r\nc\r\n"),
        S(3, b"reserve\r\n"),
        S(3, b"touch 3\r\n"),
        S(3, b"stats-job 3\r\n"),
        S(0, b"touch 3\r\n"),
        S(3, b"release 3 9 0\r\n"),
        S(3, b"touch 3\r\n"),
        S(3, b"stats-job 3\r\n"),
    ],
    "reserve_timeouts": [
        S(0, b"reserve-with-timeout 1\r\n"),
        S(0, b"reserve-with-timeout abc\r\n"),
        S(0, b"reserve-with-timeout \r\n"),
        S(0, b"reserve-with-timeout\r\n"),
        S(0, b"reserve-with-timeout 99999999999999999999\r\n"),
        S(0, b"reserve-with-timeout -1\r\n", 0),
        S(1, b"put 1 0 10 1\r\nz\r\n"),
        R(0),
        S(0, b"stats\r\n"),
    ],
    "waiters": [
        S(0, b"watch t1\r\n"),
        S(0, b"ignore default\r\n"),
        S(1, b"watch t2\r\n"),
        S(1, b"watch t1\r\n"),
        S(0, b"reserve\r\nlist-tube-used\r\n", 0),
        S(1, b"reserve-with-timeout 10\r\n", 0),
        S(2, b"stats-tube t1\r\n"),
        S(2, b"stats\r\n"),
        S(2, b"use t1\r\n"),
        S(2, b"put 5 0 10 2\r\nx1\r\n"),
        R(0, 2),
        S(2, b"use t2\r\n"),
        S(2, b"put 5 0 10 2\r\nx2\r\n"),
        R(1),
        S(0, b"reserve\r\n", 0),
        S(1, b"reserve\r\n", 0),
        S(2, b"use t1\r\n"),
        S(2, b"put 5 0 10 2\r\nx3\r\n"),
        R(0),
        S(2, b"put 5 0 10 2\r\nx4\r\n"),
        R(1),
        ("close", 0),
        S(2, b"stats-job 3\r\n"),
        S(2, b"stats-tube t1\r\n"),
        S(1, b"delete 4\r\n"),
        S(1, b"reserve\r\n"),
        S(2, b"stats\r\n"),
    ],
    "pause": [
        S(0, b"put 1 0 10 1\r\na\r\n"),
        S(0, b"pause-tube default 1\r\n"),
        S(0, b"stats-tube default\r\n"),
        S(0, b"reserve-with-timeout 0\r\n"),
        S(1, b"reserve\r\n", 0),
        sleep(1.3),
        R(1),
        S(0, b"stats-tube default\r\n"),
        S(0, b"pause-tube default 0\r\n"),
        S(0, b"stats-tube default\r\n"),
        S(0, b"put 1 0 10 1\r\nb\r\n"),
        S(0, b"reserve-with-timeout 0\r\n"),
    ],
    "close_releases": [
        S(0, b"put 1 0 100 1\r\na\r\nput 1 0 100 1\r\nb\r\n", 2),
        S(0, b"reserve\r\nreserve\r\n", 2),
        S(1, b"stats-job 1\r\n"),
        S(1, b"delete 1\r\n"),
        S(1, b"release 1 1 0\r\n"),
        S(1, b"bury 1 1\r\n"),
        S(1, b"touch 1\r\n"),
        ("close", 0),
        S(1, b"stats-job 1\r\n"),
        S(1, b"reserve\r\n"),
        S(1, b"release 1 1 0\r\n"),
        S(1, b"stats-job 1\r\n"),
        S(1, b"stats\r\n"),
    ],
}


# Sessions run with a non-default server setting: (ref args, sluiced args).
CONFIGS = {
    "max_job_size": (["-z", "100"], ["--max-job-size=100"]),
}
SESSIONS["max_job_size"] = [
    S(0, b"put 1 0 1 100\r\n" + b"m" * 100 + b"\r\n"),
    S(0, b"put 1 0 1 101\r\n" + b"m" * 101 + b"\r\n"),
    S(0, b"put 1 0 1 101 x\r\n" + b"m" * 101 + b"\r\nput 1 0 1 0\r\n\r\n", 2),
    S(0, b"peek 1\r\n"),
    S(0, b"stats\r\n"),
]
# The same replies, in the same order, when acknowledgements wait for syncs.
for base in ("pipelined", "bury_kick", "waiters", "close_releases"):
    SESSIONS[base + "_fsync_always"] = SESSIONS[base]


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_beanstalk_diff(name, tmp_path):
    (tmp_path / "d").mkdir()
    ref_args, sl_args = CONFIGS.get(name, ([], []))
    with sluice.beanstalkd_ref(ref_args) as ref, \
            sluice.Sluiced(data_dir=str(tmp_path / "d"),
                           fsync="always" if name.endswith("_fsync_always") else "never",
                           listeners=("beanstalk",),
                           extra=sl_args) as sl:
        want, got = bstk.run_both(ref.port, sl.port("beanstalk"), SESSIONS[name])
    for i, (w, g) in enumerate(zip(want, got)):
        assert g == w, "step reply %d (conn %d): beanstalkd %r, sluice %r" % (i, w[0], w[1], g[1])
    assert len(got) == len(want)
