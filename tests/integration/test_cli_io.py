"""The sluice tool's data commands against a real sluiced: produce and
consume round trips (keys, headers, partitions, --format), a group's
commits and lag as `groups describe` shows them, reset-offsets followed by
a re-read, the jobs commands (and the same session against a real
beanstalkd), status, and small bench runs. One sluiced for the module."""
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

import sluice
from test_cli import brokers, ok, run, table, FLAGS


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sluice.Sluiced(data_dir=str(tmp_path_factory.mktemp("cli-io") / "data"), extra=FLAGS)
    yield s
    if s.proc is not None:
        s.stop()


def read_all_py(s, topic, n):
    """Every message of topic via confluent_kafka (assign from the start)."""
    c = Consumer({"bootstrap.servers": brokers(s), "group.id": "py-reader",
                  "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    c.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
    c.close()
    return got


def test_produce_consume_round_trip(srv):
    ok(["topics", "create", "io1", "--partitions", "3"], srv)
    lines = "".join("key%d:value %d\n" % (i % 5, i) for i in range(30))
    out = ok(["produce", "-t", "io1", "-K", ":", "-H", "app=cli", "-H", "n=1",
              "--partitioner", "hash"], srv, input=lines.encode())
    assert out == ""
    msgs = read_all_py(srv, "io1", 30)
    assert len(msgs) == 30
    part_of_key = {}
    for m in msgs:
        k = m.key().decode()
        assert m.value().decode().startswith("value ")
        assert m.headers() == [("app", b"cli"), ("n", b"1")]
        part_of_key.setdefault(k, set()).add(m.partition())
    assert all(len(p) == 1 for p in part_of_key.values())  # hash: one partition per key

    out = ok(["consume", "-t", "io1", "--from-beginning", "-n", "30",
              "--format", "%t|%p|%o|%k|%v|%h|%K|%S\\n"], srv)
    rows = [l.split("|") for l in out.splitlines()]
    assert len(rows) == 30
    by_part = {}
    for t, p, o, k, v, h, kl, vl in rows:
        assert t == "io1" and h == "app=cli,n=1" and int(kl) == len(k) and int(vl) == len(v)
        assert part_of_key[k] == {int(p)}
        by_part.setdefault(p, []).append((int(o), v))
    for p, seq in by_part.items():
        assert [o for o, _ in seq] == list(range(len(seq)))  # in order per partition
    assert sorted(v for seq in by_part.values() for _, v in seq) == \
        sorted("value %d" % i for i in range(30))

    # Default format: the value per line; -n stops early.
    out = ok(["consume", "-t", "io1", "--from-beginning", "-n", "2"], srv)
    assert len(out.splitlines()) == 2 and all(l.startswith("value ") for l in out.splitlines())


def test_produce_partition_value_and_offset_reads(srv):
    ok(["topics", "create", "io2", "--partitions", "2"], srv)
    for v in ("a", "b", "c"):
        ok(["produce", "-t", "io2", "-p", "1", "-k", "K", "--value", v], srv)
    ok(["produce", "-t", "io2", "-p", "0", "--value", "zero"], srv)
    out = ok(["consume", "-t", "io2", "--partition", "1", "--offset", "1", "-n", "2",
              "-f", "%p %o %k %v\\n"], srv)
    assert out == "1 1 K b\n1 2 K c\n"
    # Idle timeout: ends with what there is.
    t0 = time.monotonic()
    out = ok(["consume", "-t", "io2", "--partition", "0", "--from-beginning",
              "--timeout-ms", "800"], srv)
    assert out == "zero\n" and time.monotonic() - t0 < 10


def test_produce_creates_a_missing_topic_when_the_broker_auto_creates(srv):
    """`seq 1 500 | sluice produce -t new-topic` works as with kcat: the
    broker auto-creates (its default) and every line arrives."""
    assert "autotopic" not in ok(["topics", "list"], srv).split()
    ok(["produce", "-t", "autotopic"], srv, input=b"".join(b"%d\n" % i for i in range(1, 501)))
    assert "autotopic" in ok(["topics", "list"], srv).split()
    got = read_all_py(srv, "autotopic", 500)
    assert sorted(int(m.value()) for m in got) == list(range(1, 501))


def test_produce_to_a_missing_topic_without_auto_create_is_one_line(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "data"),
                        extra=["--auto.create.topics.enable=false"]) as s:
        t0 = time.monotonic()
        rc, out, err = run(["produce", "-t", "nosuchtopic", "--value", "x"], s, timeout=40)
        assert rc == 1 and err.count("\n") == 1 and err.startswith("sluice: "), err
        assert "'nosuchtopic' does not exist" in err and "sluice topics create" in err, err
        assert time.monotonic() - t0 < 20
        # Nothing was created by asking.
        assert "nosuchtopic" not in ok(["topics", "list"], s).split()


def test_produce_and_consume_failures(srv):
    rc, out, err = run(["consume", "-t", "nosuchtopic", "-n", "1"], srv)
    assert rc == 1 and "does not exist" in err and err.count("\n") == 1
    rc, out, err = run(["produce", "-t", "io1", "-K", ":"], srv, input=b"no separator\n")
    assert rc == 1 and "separator" in err and err.count("\n") == 1
    t0 = time.monotonic()
    rc, out, err = run(["consume", "-t", "x", "--timeout-ms", "1500"],
                       env={"SLUICE_BROKERS": "127.0.0.1:1"})
    assert rc == 1 and err.count("\n") == 1 and time.monotonic() - t0 < 10


def test_consume_group_lag_and_reset(srv):
    ok(["topics", "create", "io3"], srv)
    ok(["produce", "-t", "io3"], srv, input=b"".join(b"m%d\n" % i for i in range(5)))
    out = ok(["consume", "-t", "io3", "-g", "iog", "--from-beginning", "-n", "5"], srv)
    assert out.splitlines() == ["m%d" % i for i in range(5)]
    rows = table(ok(["groups", "describe", "iog"], srv))
    assert [(r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows] == [("5", "5", "0")]

    ok(["produce", "-t", "io3"], srv, input=b"n0\nn1\nn2\n")
    rows = table(ok(["groups", "describe", "iog"], srv))
    assert [(r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows] == [("5", "8", "3")]

    # The group resumes where it committed.
    out = ok(["consume", "-t", "io3", "-g", "iog", "-n", "3"], srv)
    assert out.splitlines() == ["n0", "n1", "n2"]
    rows = table(ok(["groups", "describe", "iog"], srv))
    assert rows[0]["LAG"] == "0"

    out = ok(["groups", "reset-offsets", "iog", "-t", "io3", "--to-offset", "6", "--execute"], srv)
    assert table(out)[0]["NEW-OFFSET"] == "6"
    out = ok(["consume", "-t", "io3", "-g", "iog", "-n", "2"], srv)
    assert out.splitlines() == ["n1", "n2"]


JOBS_SESSION = [
    ["jobs", "put", "--body", "first"],
    ["jobs", "put", "--tube", "emails", "--pri", "5", "--body", "hello"],
    ["jobs", "put", "--tube", "emails", "--delay", "3600", "--body", "later"],
    ["jobs", "tubes"],
    ["jobs", "peek", "ready"],
    ["jobs", "peek", "2"],
    ["jobs", "peek", "delayed", "--tube", "emails"],
    ["jobs", "reserve", "--tube", "emails", "--timeout", "0", "--bury"],
    ["jobs", "peek", "buried", "--tube", "emails"],
    ["jobs", "kick", "--tube", "emails", "5"],
    ["jobs", "reserve", "--tube", "emails", "--timeout", "0", "--delete"],
    ["jobs", "kick", "--id", "3"],
    ["jobs", "reserve", "--tube", "emails", "--timeout", "0"],
    ["jobs", "reserve", "--timeout", "0", "--delete"],
    ["jobs", "reserve", "--timeout", "0"],
    ["jobs", "peek", "99"],
    ["jobs", "delete", "99"],
    ["jobs", "stats", "--tube", "emails"],
]


def jobs_session(addr):
    env = {"SLUICE_BEANSTALK": addr}
    out = []
    for args in JOBS_SESSION:
        rc, o, e = run(args, env=env)
        out.append((rc, o, e))
    return out


def test_jobs_session_matches_beanstalkd(srv):
    got = jobs_session("127.0.0.1:%d" % srv.port("beanstalk"))
    assert got[0] == (0, "1\n", "")
    assert got[3][1] == "default\nemails\n"
    assert got[4][1] == "1 first\n" and got[5][1] == "2 hello\n" and got[6][1] == "3 later\n"
    assert got[7][1] == "2 hello\n" and got[8][1] == "2 hello\n"
    assert got[9][1] == "1\n"
    assert got[10][1] == "2 hello\n"
    assert got[11][1] == "1\n" and got[12][1] == "3 later\n"
    assert got[13][1] == "1 first\n"
    assert got[14] == (1, "", "sluice: jobs reserve: timed out\n")
    assert got[15] == (1, "", "sluice: jobs peek: not found\n")
    assert got[16] == (1, "", "sluice: jobs delete: not found\n")
    st = dict(l.split(": ", 1) for l in got[17][1].splitlines()[1:])
    # Each command is its own connection: the job reserved last went back
    # to ready when that connection closed.
    assert st["name"] == "emails" and st["current-jobs-ready"] == "1"
    assert st["total-jobs"] == "2" and st["cmd-delete"] == "1"

    with sluice.beanstalkd_ref() as ref:
        want = jobs_session("127.0.0.1:%d" % ref.port)
    for args, g, w in zip(JOBS_SESSION, got, want):
        assert g == w, (args, g, w)


def test_status_text_matches_state(srv):
    ok(["topics", "create", "stt", "--partitions", "4"], srv)
    ok(["produce", "-t", "stt", "-p", "3"], srv, input=b"a\nb\nc\n")
    ok(["consume", "-t", "stt", "-g", "stg", "--from-beginning", "-n", "3"], srv)
    ok(["jobs", "put", "--tube", "sttube", "--body", "x"], srv)
    ok(["jobs", "put", "--tube", "sttube", "--delay", "100", "--body", "y"], srv)
    # Only the HTTP address is given: Kafka and beanstalkd are found at the
    # ports /status reports.
    out = ok(["status", "--http", "127.0.0.1:%d" % srv.port("http")], None)
    lines = out.splitlines()
    assert lines[0].startswith("sluiced at 127.0.0.1:%d: up " % srv.port("http"))
    assert lines[1] == "ports: kafka %d, resp %d, beanstalk %d, http %d" % (
        srv.port("kafka"), srv.port("resp"), srv.port("beanstalk"), srv.port("http"))
    assert lines[2].startswith("data: %s, " % srv.data_dir)
    blocks = out.split("\n\n")[1:]
    topics = {r["TOPIC"]: r for r in table(blocks[0])}
    assert topics["stt"]["PARTITIONS"] == "4" and topics["stt"]["MESSAGES"] == "3"
    assert int(topics["stt"]["BYTES"]) > 0
    groups = {r["GROUP"]: r for r in table(blocks[1])}
    assert groups["stg"]["STATE"] == "Empty" and groups["stg"]["LAG"] == "0"
    tubes = {r["TUBE"]: r for r in table(blocks[2])}
    assert (tubes["sttube"]["READY"], tubes["sttube"]["DELAYED"]) == ("1", "1")


def summary(out):
    lines = out.splitlines()
    assert len(lines) == 1, out
    return lines[0]


def test_bench_produce_consume_e2e(srv):
    line = summary(ok(["bench", "produce", "-t", "benchio", "-n", "3000", "-s", "64"], srv,
                      timeout=60))
    assert line.startswith("produce: 3000 msgs 0.2 MB in ") and line.endswith("; 0 failed")
    assert " p50 " in line and " p99 " in line
    line = summary(ok(["bench", "consume", "-t", "benchio"], srv, timeout=60))
    assert line.startswith("consume: 3000 msgs 0.2 MB in ") and line.endswith("; 0 failed")
    line = summary(ok(["bench", "consume", "-t", "benchio", "-n", "100"], srv, timeout=60))
    assert line.startswith("consume: 100 msgs ")
    line = summary(ok(["bench", "e2e", "-n", "2000", "-s", "32"], srv, timeout=60))
    assert line.startswith("e2e: 2000 msgs ") and line.endswith("; 2000 sent; 0 failed")
    # e2e without -t cleans its own topic up
    assert not [t for t in ok(["topics", "list"], srv).split() if t.startswith("sluice-bench-e2e")]
    line = summary(ok(["bench", "produce", "-t", "benchio", "--duration", "1", "--rate", "500"],
                      srv, timeout=60))
    n = int(line.split()[1])
    assert 100 <= n <= 600


def test_consume_group_count_commits_exactly_what_was_printed(srv):
    """Five `consume -g G -n 3` runs read the topic in order, 3 messages
    each, neither skipping nor repeating one (fetched-but-unprinted messages
    are not committed)."""
    ok(["topics", "create", "gn", "--partitions", "1"], srv)
    ok(["produce", "-t", "gn"], srv, input=b"".join(b"m%d\n" % i for i in range(50)))
    seen = []
    for _ in range(5):
        out = ok(["consume", "-t", "gn", "-g", "gng", "--from-beginning", "-n", "3"], srv)
        seen += out.split()
    assert seen == ["m%d" % i for i in range(15)]
