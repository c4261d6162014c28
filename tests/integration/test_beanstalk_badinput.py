"""Bad input on the beanstalk port: garbage, huge lines, huge declared
sizes, clients vanishing mid-body or mid-reserve. The server answers with
protocol errors or closes the connection, never crashes (sanitizers are
checked at shutdown), and a well-behaved connection working alongside is
unaffected."""
import os
import random
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


def healthy_loop(port, rounds, errors):
    try:
        c = bstk.Client(port)
        c.cmd(b"use healthy\r\n")
        c.cmd(b"watch healthy\r\n")
        c.cmd(b"ignore default\r\n")
        for i in range(rounds):
            body = b"ok-%d" % i
            r = c.cmd(b"put 1 0 10 %d\r\n%s\r\n" % (len(body), body))
            assert r.startswith(b"INSERTED "), r
            r = c.cmd(b"reserve-with-timeout 5\r\n")
            assert r.endswith(b"\r\n" + body + b"\r\n"), r
            jid = r.split()[1]
            assert c.cmd(b"delete " + jid + b"\r\n") == b"DELETED\r\n"
        c.close()
    except Exception as e:  # reported by the test
        errors.append(e)


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def test_bad_input_never_hurts_the_server(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    with sluice.Sluiced(data_dir=str(d), listeners=("beanstalk",),
                        extra=["--max-job-size=2000000"]) as sl:
        port = sl.port("beanstalk")
        errors = []
        h = threading.Thread(target=healthy_loop, args=(port, 300, errors))
        h.start()

        rng = random.Random(5)
        for k in range(20):
            s = raw(port)
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000)))
            if k % 2:
                junk = junk.replace(b"\n", b"\r\n")
            s.sendall(junk)
            s.close()

        # A 3 MB line: discarded in windows, one BAD_FORMAT when it ends.
        c = bstk.Client(port)
        c.send(b"y" * 3_000_000)
        c.send(b"\r\nlist-tube-used\r\n")
        assert c.reply(timeout=20) == b"BAD_FORMAT\r\n"
        assert c.reply() == b"USING default\r\n"

        # A declared size over max-job-size is never allocated: the body is
        # skipped, here by a client that gives up and goes away.
        c.send(b"put 1 0 1 4294967295\r\n" + b"z" * 100000)
        c.close()

        # A client vanishing in the middle of a large accepted body.
        c = bstk.Client(port)
        c.send(b"put 1 0 1 1999999\r\n" + b"q" * 1000000)
        c.close()

        # ...and in the middle of a blocked reserve and of a held reservation.
        c = bstk.Client(port)
        c.send(b"watch nothing-here\r\nreserve\r\n")
        assert c.reply() == b"WATCHING 2\r\n"
        c.close()
        c = bstk.Client(port)
        assert c.cmd(b"put 1 0 100 1\r\nr\r\n").startswith(b"INSERTED ")
        r = c.cmd(b"reserve\r\n")
        assert r.startswith(b"RESERVED "), r
        jid = r.split()[1]
        c.close()

        # Mixed bad commands on one connection get protocol errors in order.
        c = bstk.Client(port)
        c.send(b"put 1 0 1 x\r\n\x00\x01\x02\r\nput 1 0 1 3\r\nabcXY\r\nstats-tube " +
               b"q" * 201 + b"\r\nkick-job 999999\r\n")
        assert [c.reply() for _ in range(5)] == [
            b"BAD_FORMAT\r\n", b"BAD_FORMAT\r\n", b"EXPECTED_CRLF\r\n", b"UNKNOWN_COMMAND\r\n",
            b"BAD_FORMAT\r\n"]
        assert c.reply() == b"NOT_FOUND\r\n"
        # The job reserved by the vanished client is ready again.
        assert c.cmd(b"stats-job " + jid + b"\r\n").count(b"state: ready") == 1
        c.close()

        h.join(60)
        assert not h.is_alive(), "healthy connection stalled"
        assert not errors, errors
        c = bstk.Client(port)
        st = c.cmd(b"stats\r\n")
        assert b"\ncurrent-connections: 1\n" in st, st
        c.close()
