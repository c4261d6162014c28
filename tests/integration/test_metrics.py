"""GET /metrics (issue 16): the Prometheus text format, parsed with the
Prometheus client's own parser (Debian's python3-prometheus-client), and
every value checked against traffic the test made through the three
protocols: records and offsets per partition, committed offsets and lag
per group, requests, errors and latency histograms per command, fsync
latency, tube job counts by state, stream lengths and pending entries,
connections per listener."""
import http.client
import os
import socket
import sys
import time

import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


def scrape(sl):
    c = http.client.HTTPConnection("127.0.0.1", sl.port("http"), timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    text = r.read().decode()
    c.close()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    return fams, text


def value(fams, family, sample=None, **labels):
    """The value of the one sample of `family` (sample name defaults to the
    family's) whose labels include `labels`; None when there is none."""
    f = fams.get(family)
    if f is None:
        return None
    name = sample or family
    for s in f.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def wait_for(fn, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def check_histograms(fams):
    """Every histogram: cumulative buckets, +Inf equal to _count."""
    n = 0
    for f in fams.values():
        if f.type != "histogram":
            continue
        series = {}
        for s in f.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            series.setdefault(key, {"buckets": []})
            if s.name.endswith("_bucket"):
                series[key]["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                series[key]["count"] = s.value
        for key, d in series.items():
            b = sorted(d["buckets"])
            assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), (f.name, key)
            assert b[-1][0] == float("inf") and b[-1][1] == d["count"], (f.name, key)
            n += 1
    return n


def test_metrics_follow_known_traffic(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "data")) as sl:
        boot = "127.0.0.1:%d" % sl.port("kafka")
        admin = AdminClient({"bootstrap.servers": boot})
        for f in admin.create_topics([NewTopic("m", num_partitions=2, replication_factor=1)]).values():
            f.result(timeout=30)
        p = Producer({"bootstrap.servers": boot, "acks": "all", "linger.ms": 0})
        for i in range(20):
            p.produce("m", value=b"v%02d" % i, partition=0)
            p.flush(30)  # one batch per record: 20 Produce requests
        for i in range(3):
            p.produce("m", value=b"w%d" % i, partition=1)
        assert p.flush(30) == 0
        c = Consumer({"bootstrap.servers": boot, "group.id": "mg", "enable.auto.commit": False})
        c.assign([TopicPartition("m", 0, 0)])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 20 and time.monotonic() < deadline:
            msg = c.poll(1)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
        assert len(got) == 20
        c.commit(offsets=[TopicPartition("m", 0, 15)], asynchronous=False)
        c.close()

        r = redis.Redis(port=sl.port("resp"))
        for i in range(7):
            r.set("k%d" % i, "x")
        for _ in range(2):
            try:
                r.execute_command("INCR", "k0")
            except redis.ResponseError:
                pass
            else:
                raise AssertionError("INCR on a non-integer must fail")
        for i in range(4):
            r.xadd("s", {"i": str(i)})
        r.xgroup_create("s", "g", id="0")
        r.xreadgroup("g", "c1", {"s": ">"}, count=2)
        r.connection_pool.disconnect()

        b = bstk.Client(sl.port("beanstalk"))
        assert b.cmd(b"use bt\r\n") == b"USING bt\r\n"
        for i in range(5):
            assert b.cmd(b"put 1 0 60 1\r\nx\r\n").startswith(b"INSERTED")
        b.cmd(b"watch bt\r\n")
        job = int(b.cmd(b"reserve-with-timeout 5\r\n").split()[1])
        assert b.cmd(b"bury %d 1\r\n" % job) == b"BURIED\r\n"
        assert b.cmd(b"delete 999999\r\n") == b"NOT_FOUND\r\n"
        b.close()

        # Three idle RESP connections, held open while we scrape.
        held = [socket.create_connection(("127.0.0.1", sl.port("resp"))) for _ in range(3)]
        try:
            fams = wait_for(lambda: (lambda f: f if value(f[0], "sluice_listener_connections",
                                                          listener="resp") == 3 and
                                     value(f[0], "sluice_listener_connections", listener="beanstalk") == 0
                                     else None)(scrape(sl)), "three RESP connections")[0]
        finally:
            for s in held:
                s.close()

        # Kafka partitions.
        assert value(fams, "sluice_partition_messages_in", "sluice_partition_messages_in_total",
                     topic="m", partition="0") == 20
        assert value(fams, "sluice_partition_messages_in", "sluice_partition_messages_in_total",
                     topic="m", partition="1") == 3
        assert value(fams, "sluice_partition_log_end_offset", topic="m", partition="0") == 20
        assert value(fams, "sluice_partition_high_watermark", topic="m", partition="0") == 20
        assert value(fams, "sluice_partition_log_start_offset", topic="m", partition="0") == 0
        bytes_in = value(fams, "sluice_partition_bytes_in", "sluice_partition_bytes_in_total",
                         topic="m", partition="0")
        assert bytes_in == value(fams, "sluice_partition_log_bytes", topic="m", partition="0") > 20 * 61
        assert value(fams, "sluice_partition_bytes_out", "sluice_partition_bytes_out_total",
                     topic="m", partition="0") >= bytes_in
        assert value(fams, "sluice_partition_bytes_out", "sluice_partition_bytes_out_total",
                     topic="m", partition="1") == 0
        assert value(fams, "sluice_partition_segments", topic="m", partition="0") == 1

        # Consumer group: committed 15 of 20.
        assert value(fams, "sluice_group_committed_offset", group="mg", topic="m", partition="0") == 15
        assert value(fams, "sluice_group_lag", group="mg", topic="m", partition="0") == 5
        assert value(fams, "sluice_group_members", group="mg") == 0

        # Requests per command, errors, latency histograms.
        def req(proto, cmd):
            return value(fams, "sluice_requests", "sluice_requests_total", protocol=proto, command=cmd)

        def err(proto, cmd):
            return value(fams, "sluice_request_errors", "sluice_request_errors_total", protocol=proto,
                         command=cmd)
        assert req("kafka", "Produce") >= 21  # 20 single-record batches and partition 1's
        assert req("kafka", "Fetch") >= 1 and req("kafka", "OffsetCommit") == 1
        assert err("kafka", "Produce") == 0
        assert req("resp", "set") == 7 and err("resp", "set") == 0
        assert req("resp", "incr") == 2 and err("resp", "incr") == 2
        assert req("resp", "xadd") == 4
        assert req("beanstalk", "put") == 5 and err("beanstalk", "put") == 0
        assert req("beanstalk", "delete") == 1 and err("beanstalk", "delete") == 1
        assert req("beanstalk", "bury") == 1
        # Kafka requests are each timed; RESP and beanstalkd one in 8 (the first, the 9th...).
        lat = "sluice_request_duration_seconds"
        assert value(fams, lat, lat + "_count", protocol="kafka", command="Produce") == req("kafka", "Produce")
        assert value(fams, lat, lat + "_count", protocol="resp", command="set") == 1
        assert value(fams, lat, lat + "_count", protocol="beanstalk", command="put") == 1
        assert value(fams, lat, lat + "_sum", protocol="kafka", command="Produce") > 0

        # fsync: under fsync=always every acknowledged write was synced.
        syncs = value(fams, "sluice_fsyncs", "sluice_fsyncs_total")
        assert syncs >= 20
        assert 1 <= value(fams, "sluice_fsync_duration_seconds", "sluice_fsync_duration_seconds_count") <= syncs
        assert value(fams, "sluice_fsync_bytes", "sluice_fsync_bytes_sum") >= bytes_in
        assert value(fams, "sluice_fsync_failures", "sluice_fsync_failures_total") == 0
        assert check_histograms(fams) >= 8

        # beanstalkd tubes, Redis streams and keys, journals.
        assert value(fams, "sluice_tube_jobs", tube="bt", state="ready") == 4
        assert value(fams, "sluice_tube_jobs", tube="bt", state="buried") == 1
        assert value(fams, "sluice_tube_jobs", tube="bt", state="reserved") == 0
        assert value(fams, "sluice_jobs", state="ready") == 4
        assert value(fams, "sluice_tube_paused", tube="bt") == 0
        assert value(fams, "sluice_stream_length", key="s") == 4
        assert value(fams, "sluice_stream_pending", key="s", group="g") == 2
        assert value(fams, "sluice_redis_keys") == 8
        assert value(fams, "sluice_redis_streams_skipped") == 0
        for j in ("kafka", "groups", "jobs", "keys", "streams"):
            assert value(fams, "sluice_journal_bytes", journal=j) > 0, j
        assert value(fams, "sluice_uptime_seconds") > 0
        assert value(fams, "sluice_buffer_bytes", buffer="input") > 0
        assert value(fams, "sluice_http_requests", "sluice_http_requests_total") >= 1


def test_metrics_label_values_are_escaped(tmp_path):
    """A stream key with quotes, a backslash and a newline still gives a
    document the Prometheus parser reads back to the same key."""
    with sluice.Sluiced(data_dir=str(tmp_path / "data"), listeners=("resp", "http")) as sl:
        key = 'we"ird\\key\nname'
        r = redis.Redis(port=sl.port("resp"))
        r.xadd(key, {"a": "1"})
        r.close()
        fams, text = scrape(sl)
        assert value(fams, "sluice_stream_length", key=key) == 1
        # The listeners that are off are not reported.
        assert value(fams, "sluice_listener_connections", listener="kafka") is None


def test_grafana_dashboard_uses_only_metrics_sluiced_serves(tmp_path):
    """Every sluice_* series docs/grafana-dashboard.json queries is one
    /metrics serves (a renamed metric must not leave the dashboard blank)."""
    import json
    import re
    with open(os.path.join(sluice.ROOT, "docs", "grafana-dashboard.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    used = set()
    for e in exprs:
        used.update(re.findall(r"\b(sluice_[a-z_]+)", e))
    assert len(used) >= 15, used
    with sluice.Sluiced(data_dir=str(tmp_path / "data")) as sl:
        fams, text = scrape(sl)
    served = set()
    for f in fams.values():
        served.update(s.name for s in f.samples)
        served.add(f.name)
    # Families without samples yet (no topic, no group) still announce themselves.
    served.update(re.findall(r"^# TYPE (\S+)", text, re.M))
    for name in used:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in served or base in served, name
