"""The sluice tool against a real sluiced: topics, groups, status, usage
errors, help and unreachable servers. Output is checked line by line and
cross-checked with confluent_kafka's AdminClient and consumers.

One sluiced serves the whole module (each test uses its own names) to keep
the suite quick; the produce/consume/jobs/bench commands are in
test_cli_io.py."""
import json
import os
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

import sluice

CLI = sluice.SLUICE_CLI
FLAGS = ["--group.initial.rebalance.delay.ms=200", "--group.min.session.timeout.ms=1000"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sluice.Sluiced(data_dir=str(tmp_path_factory.mktemp("cli") / "data"), extra=FLAGS)
    yield s
    if s.proc is not None:
        s.stop()


def brokers(s):
    return "127.0.0.1:%d" % s.port("kafka")


def run(args, srv=None, input=None, timeout=30, env=None):
    """Runs the tool; returns (rc, stdout, stderr) as text."""
    e = dict(os.environ)
    e.pop("SLUICE_BROKERS", None)
    e.pop("SLUICE_BEANSTALK", None)
    e.pop("SLUICE_HTTP", None)
    if srv is not None:
        e["SLUICE_BROKERS"] = brokers(srv)
        e["SLUICE_BEANSTALK"] = "127.0.0.1:%d" % srv.port("beanstalk")
        e["SLUICE_HTTP"] = "127.0.0.1:%d" % srv.port("http")
    e.update(env or {})
    r = subprocess.run([CLI] + list(args), input=input, capture_output=True, timeout=timeout,
                       env=e)
    err = r.stderr.decode(errors="replace")
    for m in sluice.SANITIZER_MARKERS:
        assert m not in err, err
    return r.returncode, r.stdout.decode(errors="replace"), err


def ok(args, srv, **kw):
    rc, out, err = run(args, srv, **kw)
    assert rc == 0, "sluice %s: rc=%d\n%s" % (" ".join(args), rc, err)
    return out


def admin(s):
    return AdminClient({"bootstrap.servers": brokers(s)})


def configs(s, topic):
    a = admin(s)  # kept alive until the future is resolved
    res = a.describe_configs([ConfigResource("topic", topic)])
    return list(res.values())[0].result(10)


def produce_py(s, topic, values, partition=None):
    p = Producer({"bootstrap.servers": brokers(s)})
    for v in values:
        if partition is None:
            p.produce(topic, v)
        else:
            p.produce(topic, v, partition=partition)
    assert p.flush(15) == 0


def consume_commit_py(s, topic, group, n):
    """A group member reads n messages and commits them, then leaves."""
    c = Consumer({"bootstrap.servers": brokers(s), "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000})
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 20
    while got < n and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got += 1
    assert got == n
    c.commit(asynchronous=False)
    c.close()


def table(out):
    """Rows of a column table (after an optional title line) as dicts."""
    lines = [l for l in out.splitlines() if l.strip()]
    while lines and not lines[0].startswith(("GROUP", "TOPIC", "TUBE")):
        lines.pop(0)
    head = lines[0].split()
    return [dict(zip(head, l.split())) for l in lines[1:]]


# ---- topics ---------------------------------------------------------------

def test_topics_create_list_describe_alter_delete(srv):
    out = ok(["topics", "create", "ct1", "--partitions", "3", "--config", "retention.ms=3600000"], srv)
    assert out == "Created topic ct1.\n"
    md = admin(srv).list_topics(timeout=10)
    assert len(md.topics["ct1"].partitions) == 3

    assert "ct1" in ok(["topics", "list"], srv).splitlines()

    out = ok(["topics", "describe", "ct1"], srv).splitlines()
    assert out[0].startswith("Topic: ct1\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: ")
    assert "retention.ms=3600000" in out[0]
    assert len(out) == 4
    for i, line in enumerate(out[1:]):
        assert line == ("\tTopic: ct1\tPartition: %d\tLeader: 1\tReplicas: 1\tIsr: 1\t"
                        "LogStartOffset: 0\tLogEndOffset: 0" % i)

    # Existing topic: exit 1, one line; --if-not-exists: 0.
    rc, _, err = run(["topics", "create", "ct1"], srv)
    assert rc == 1 and err.count("\n") == 1 and err.startswith("sluice: ")
    assert "already exists" in err
    assert run(["topics", "create", "ct1", "--if-not-exists"], srv)[0] == 0

    out = ok(["topics", "alter", "ct1", "--partitions", "5", "--config", "segment.bytes=1048576"], srv)
    assert out == "Topic ct1 now has 5 partitions.\nCompleted updating config for topic ct1.\n"
    md = admin(srv).list_topics(timeout=10)
    assert len(md.topics["ct1"].partitions) == 5
    cfg = configs(srv, "ct1")
    # The earlier override is kept (incremental semantics), the new one set.
    assert cfg["retention.ms"].value == "3600000"
    assert cfg["segment.bytes"].value == "1048576"

    ok(["topics", "alter", "ct1", "--delete-config", "retention.ms"], srv)
    cfg = configs(srv, "ct1")
    assert cfg["retention.ms"].is_default
    assert cfg["segment.bytes"].value == "1048576"

    assert ok(["topics", "delete", "ct1"], srv) == "Deleted topic ct1.\n"
    assert "ct1" not in admin(srv).list_topics(timeout=10).topics
    rc, _, err = run(["topics", "describe", "ct1"], srv)
    assert rc == 1 and "does not exist" in err and err.count("\n") == 1
    rc, _, err = run(["topics", "delete", "ct1"], srv)
    assert rc == 1 and err.startswith("sluice: ")
    assert run(["topics", "delete", "ct1", "--if-exists"], srv)[0] == 0
    # describe must not have auto-created it
    assert "ct1" not in admin(srv).list_topics(timeout=10).topics


def test_topics_describe_shows_offsets(srv):
    ok(["topics", "create", "ct2", "--partitions", "2"], srv)
    produce_py(srv, "ct2", [b"a", b"b", b"c"], partition=1)
    out = ok(["topics", "describe", "ct2"], srv).splitlines()
    assert out[1].endswith("LogStartOffset: 0\tLogEndOffset: 0")
    assert out[2].endswith("LogStartOffset: 0\tLogEndOffset: 3")


# ---- groups ---------------------------------------------------------------

def test_groups_describe_lag_reset_delete(srv):
    ok(["topics", "create", "gt1", "--partitions", "2"], srv)
    produce_py(srv, "gt1", [b"p0-%d" % i for i in range(4)], partition=0)
    produce_py(srv, "gt1", [b"p1-%d" % i for i in range(3)], partition=1)
    consume_commit_py(srv, "gt1", "cg1", 7)

    assert "cg1" in ok(["groups", "list"], srv).splitlines()
    rows = table(ok(["groups", "list", "--state"], srv))
    assert {"GROUP": "cg1", "STATE": "Empty"} in rows

    out = ok(["groups", "describe", "cg1"], srv)
    assert out.splitlines()[0] == "Consumer group 'cg1' is Empty with 0 members."
    rows = table(out)
    assert [(r["TOPIC"], r["PARTITION"], r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"],
             r["CONSUMER-ID"]) for r in rows] == [
        ("gt1", "0", "4", "4", "0", "-"), ("gt1", "1", "3", "3", "0", "-")]

    produce_py(srv, "gt1", [b"more-%d" % i for i in range(5)], partition=0)
    rows = table(ok(["groups", "describe", "cg1"], srv))
    assert (rows[0]["LOG-END-OFFSET"], rows[0]["LAG"]) == ("9", "5")
    assert rows[1]["LAG"] == "0"

    # Dry run: the plan is printed, nothing changes.
    rc, out, err = run(["groups", "reset-offsets", "cg1", "-t", "gt1", "--to-earliest"], srv)
    assert rc == 0 and "--execute" in err
    assert [(r["PARTITION"], r["NEW-OFFSET"]) for r in table(out)] == [("0", "0"), ("1", "0")]
    rows = table(ok(["groups", "describe", "cg1"], srv))
    assert rows[0]["CURRENT-OFFSET"] == "4"

    # --to-offset is clamped into the log as Kafka does; one partition only.
    out = ok(["groups", "reset-offsets", "cg1", "-t", "gt1:1", "--to-offset", "99"], srv)
    assert [(r["PARTITION"], r["NEW-OFFSET"]) for r in table(out)] == [("1", "3")]

    out = ok(["groups", "reset-offsets", "cg1", "-t", "gt1", "--to-offset", "2", "--execute"], srv)
    assert [(r["PARTITION"], r["NEW-OFFSET"]) for r in table(out)] == [("0", "2"), ("1", "2")]
    rows = table(ok(["groups", "describe", "cg1"], srv))
    assert [(r["CURRENT-OFFSET"], r["LAG"]) for r in rows] == [("2", "7"), ("2", "1")]
    # A consumer of the group resumes at the reset point.
    c = Consumer({"bootstrap.servers": brokers(srv), "group.id": "cg1",
                  "auto.offset.reset": "latest", "enable.auto.commit": False})
    c.assign([TopicPartition("gt1", 1)])
    c.assign(c.committed([TopicPartition("gt1", 1)], timeout=10))
    m = None
    deadline = time.monotonic() + 10
    while m is None and time.monotonic() < deadline:
        m = c.poll(0.2)
    c.close()
    assert m is not None and m.offset() == 2 and m.value() == b"p1-2"

    ok(["groups", "reset-offsets", "cg1", "-t", "gt1", "--to-latest", "--execute"], srv)
    rows = table(ok(["groups", "describe", "cg1"], srv))
    assert [r["LAG"] for r in rows] == ["0", "0"]

    out = ok(["groups", "delete", "cg1"], srv)
    assert "'cg1'" in out and "successful" in out
    assert "cg1" not in ok(["groups", "list"], srv).splitlines()
    rc, _, err = run(["groups", "describe", "cg1"], srv)
    assert rc == 1 and "does not exist" in err and err.count("\n") == 1
    rc, _, err = run(["groups", "delete", "cg1"], srv)
    assert rc == 1 and "does not exist" in err


def test_groups_describe_active_member_and_refused_reset(srv):
    ok(["topics", "create", "gt2"], srv)
    produce_py(srv, "gt2", [b"x"])
    c = Consumer({"bootstrap.servers": brokers(srv), "group.id": "cg2", "client.id": "cli-test",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["gt2"])
    try:
        deadline = time.monotonic() + 20
        m = None
        while m is None and time.monotonic() < deadline:
            m = c.poll(0.2)
        assert m is not None
        c.commit(asynchronous=False)
        out = ok(["groups", "describe", "cg2"], srv)
        assert out.splitlines()[0] == "Consumer group 'cg2' is Stable with 1 member."
        rows = table(out)
        assert rows[0]["CLIENT-ID"] == "cli-test" and rows[0]["LAG"] == "0"
        assert rows[0]["CONSUMER-ID"].startswith("cli-test")
        rows = table(ok(["groups", "describe", "cg2", "--members"], srv))
        assert rows[0]["#PARTITIONS"] == "1"
        rc, _, err = run(["groups", "reset-offsets", "cg2", "-t", "gt2", "--to-earliest",
                          "--execute"], srv)
        assert rc == 1 and "inactive" in err and "Stable" in err and err.count("\n") == 1
        rc, _, err = run(["groups", "delete", "cg2"], srv)
        assert rc == 1 and "not empty" in err
    finally:
        c.close()


# ---- status ---------------------------------------------------------------

def test_status_json_and_text(srv):
    ok(["topics", "create", "st1", "--partitions", "3"], srv)
    produce_py(srv, "st1", [b"v" * 100] * 6, partition=2)
    http = "127.0.0.1:%d" % srv.port("http")
    st = json.loads(ok(["status", "--http", http, "--json"], None))
    assert st["ports"]["http"] == srv.port("http")
    # The bound ports, though the server was configured with port 0.
    assert st["ports"]["kafka"] == srv.port("kafka") and st["ports"]["resp"] == srv.port("resp")
    assert st["ports"]["beanstalk"] == srv.port("beanstalk")
    assert st["data_dir"] == srv.data_dir
    assert st["disk_used_bytes"] > 0 and st["disk_free_bytes"] > 0
    t = [x for x in st["topics"] if x["name"] == "st1"]
    assert len(t) == 1 and t[0]["partitions"] == 3 and t[0]["bytes"] >= 600


# ---- usage, help, failures -----------------------------------------------

HELP = [["--help"], ["help"], ["produce", "--help"], ["consume", "--help"],
        ["topics", "--help"], ["topics", "list", "--help"], ["topics", "create", "--help"],
        ["topics", "describe", "--help"], ["topics", "delete", "--help"],
        ["topics", "alter", "--help"], ["groups", "--help"], ["groups", "list", "--help"],
        ["groups", "describe", "--help"], ["groups", "reset-offsets", "--help"],
        ["groups", "delete", "--help"], ["jobs", "--help"], ["jobs", "put", "--help"],
        ["jobs", "reserve", "--help"], ["jobs", "stats", "--help"], ["jobs", "kick", "--help"],
        ["jobs", "peek", "--help"], ["jobs", "delete", "--help"], ["jobs", "tubes", "--help"],
        ["status", "--help"], ["bench", "--help"], ["bench", "produce", "--help"],
        ["bench", "consume", "--help"], ["bench", "e2e", "--help"], ["help", "topics", "create"],
        ["help", "topics"], ["--version"]]


@pytest.mark.parametrize("args", HELP, ids=lambda a: " ".join(a))
def test_help_exits_0(args):
    rc, out, err = run(args)
    assert rc == 0 and err == ""
    assert out.startswith("usage: sluice") or out.startswith("sluice 0.")


USAGE = [[], ["nosuch"], ["help", "nosuch"], ["topics"], ["topics", "nosuch"], ["topics", "create"],
         ["topics", "create", "a", "b"], ["topics", "create", "x", "--partitions", "zero"],
         ["topics", "create", "x", "--bogus"], ["topics", "alter", "x"],
         ["groups", "reset-offsets", "g", "-t", "t"], ["groups", "reset-offsets", "g", "--to-latest"],
         ["groups", "reset-offsets", "g", "-t", "t", "--to-latest", "--to-earliest"],
         ["produce"], ["consume"], ["consume", "-t", "t", "-g", "g", "--offset", "3"],
         ["topics", "list", "-o", "nokey=1"], ["topics", "list", "-o", "acks=7"],
         ["topics", "list", "--timeout-ms"], ["jobs", "delete"], ["bench", "produce", "-n", "0"]]


@pytest.mark.parametrize("args", USAGE, ids=lambda a: " ".join(a) or "(none)")
def test_usage_errors_exit_2_one_line(args):
    rc, out, err = run(args)
    assert rc == 2, (rc, out, err)
    lines = err.splitlines()
    if args:
        assert len(lines) == 1 and lines[0].startswith("sluice: "), err


@pytest.mark.parametrize("args", [["topics", "list"], ["groups", "list"],
                                  ["topics", "create", "x"], ["groups", "describe", "g"],
                                  ["status", "--http", "127.0.0.1:1"],
                                  ["produce", "-t", "x", "--value", "v"],
                                  ["jobs", "put", "--body", "x", "--beanstalk", "127.0.0.1:1"]])
def test_unreachable_exits_1_quickly(args):
    t0 = time.monotonic()
    rc, out, err = run(args + ["--timeout-ms", "1500"], env={"SLUICE_BROKERS": "127.0.0.1:1"})
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("sluice: "), err
    assert time.monotonic() - t0 < 10


def test_brokers_precedence_and_yaml_config(srv, tmp_path):
    # A wrong SLUICE_BROKERS is overridden by --config, which -b overrides.
    y = tmp_path / "c.yaml"
    y.write_text("Brokers:\n  - %s\n" % brokers(srv))
    env = {"SLUICE_BROKERS": "127.0.0.1:1"}
    rc, out, err = run(["topics", "list", "--config", str(y), "--timeout-ms", "5000"], env=env)
    assert rc == 0, err
    rc, out, err = run(["topics", "list", "--config", str(y), "-b", "127.0.0.1:1",
                        "--timeout-ms", "1000"], env=env)
    assert rc == 1
    y.write_text("Bogus: 1\n")
    rc, out, err = run(["topics", "list", "--config", str(y)])
    assert rc == 2 and err.count("\n") == 1
