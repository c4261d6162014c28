"""The JSON admin API under /api/v1/ (issue 16, docs/http-api.md): every
endpoint, its effect checked through the protocol it belongs to, and its
errors as JSON with HTTP status codes; the request limits of the HTTP
front (body size, head size, chunked uploads, bad request lines); a change
whose write fails is a 503, and the broker is left as it was."""
import base64
import http.client
import json
import os
import socket
import sys
import time

import pytest
import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

sys.path.insert(0, os.path.dirname(__file__))
import bstk  # noqa: E402
import sluice  # noqa: E402


class Api:
    def __init__(self, sl):
        self.port = sl.port("http")

    def call(self, method, path, body=None, raw=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        payload = r.read()
        c.close()
        assert r.getheader("Content-Type", "").startswith("application/json"), (path, r.status, payload)
        return r.status, json.loads(payload)

    def ok(self, method, path, body=None, status=200):
        s, d = self.call(method, path, body)
        assert s == status, (method, path, s, d)
        return d

    def err(self, method, path, body=None, status=400, raw=None):
        s, d = self.call(method, path, body, raw=raw)
        assert s == status, (method, path, s, d)
        assert d["error"]["status"] == status and d["error"]["message"], d
        return d["error"]["message"]


@pytest.fixture
def sl(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"), faults=True)
    yield s
    if s.proc is not None:
        s.stop()


def boot(sl):
    return "127.0.0.1:%d" % sl.port("kafka")


def test_overview(sl):
    api = Api(sl)
    o = api.ok("GET", "/api/v1/overview")
    assert o["fsync"] == "always" and o["bind"] == "127.0.0.1"
    assert {l["name"]: l["port"] for l in o["listeners"]} == {
        n: sl.port(n) for n in ("kafka", "resp", "beanstalk", "http")}
    assert o["disk"]["free_bytes"] > 0 and o["disk"]["used_bytes"] > 0
    assert o["kafka"]["topics"] == 0 and o["redis"]["keys"] == 0 and o["beanstalk"]["tubes"] == 1
    r = redis.Redis(port=sl.port("resp"))
    r.set("a", 1)
    o = api.ok("GET", "/api/v1/overview")
    assert o["redis"]["keys"] == 1 and o["requests"]["resp"] >= 1


def test_topics(sl):
    api = Api(sl)
    assert api.ok("GET", "/api/v1/topics") == {"topics": []}
    t = api.ok("POST", "/api/v1/topics", {"name": "t1", "partitions": 2,
                                          "configs": {"retention.ms": "3600000"}}, status=201)
    assert t["name"] == "t1" and len(t["partitions"]) == 2
    cfg = {c["name"]: c for c in t["configs"]}
    assert cfg["retention.ms"] == {"name": "retention.ms", "value": "3600000", "default": False}
    assert "already exists" in api.err("POST", "/api/v1/topics", {"name": "t1"}, status=409)
    api.err("POST", "/api/v1/topics", {"name": "bad/name"})
    api.err("POST", "/api/v1/topics", {"name": "x", "partitions": 0})
    api.err("POST", "/api/v1/topics", {"name": "x", "configs": {"no.such": "1"}})
    api.err("POST", "/api/v1/topics", {"name": "x", "configs": {"retention.ms": "soon"}})
    assert "not valid JSON" in api.err("POST", "/api/v1/topics", raw=b'{"name": ')
    api.err("POST", "/api/v1/topics", raw=b"[1, 2]")
    assert api.ok("GET", "/api/v1/topics")["topics"][0]["partitions"] == 2

    # Through Kafka: the topic exists with its config.
    admin = AdminClient({"bootstrap.servers": boot(sl)})
    md = admin.list_topics(timeout=20)
    assert len(md.topics["t1"].partitions) == 2
    res = ConfigResource(ConfigResource.Type.TOPIC, "t1")
    got = admin.describe_configs([res])[res].result(timeout=20)
    assert got["retention.ms"].value == "3600000"

    d = api.ok("PATCH", "/api/v1/topics/t1/configs", {"configs": {"retention.ms": None,
                                                                  "cleanup.policy": "delete",
                                                                  "max.message.bytes": 2000000}})
    cfg = {c["name"]: c for c in d["configs"]}
    assert cfg["retention.ms"]["default"] and cfg["max.message.bytes"]["value"] == "2000000"
    got = admin.describe_configs([res])[res].result(timeout=20)
    assert got["max.message.bytes"].value == "2000000"
    api.err("PATCH", "/api/v1/topics/t1/configs", {"configs": {"nope": "1"}})
    api.err("PATCH", "/api/v1/topics/t1/configs", {})

    d = api.ok("POST", "/api/v1/topics/t1/partitions", {"count": 4})
    assert len(d["partitions"]) == 4
    assert len(admin.list_topics(timeout=20).topics["t1"].partitions) == 4
    api.err("POST", "/api/v1/topics/t1/partitions", {"count": 3})
    api.err("POST", "/api/v1/topics/nope/partitions", {"count": 3}, status=404)

    t = api.ok("GET", "/api/v1/topics/t1")
    assert [p["partition"] for p in t["partitions"]] == [0, 1, 2, 3]
    api.err("GET", "/api/v1/topics/nope", status=404)
    assert api.ok("DELETE", "/api/v1/topics/t1") == {"deleted": "t1"}
    api.err("DELETE", "/api/v1/topics/t1", status=404)
    assert "t1" not in admin.list_topics(timeout=20).topics


def test_messages_produce_and_browse(sl):
    api = Api(sl)
    api.ok("POST", "/api/v1/topics", {"name": "msgs", "partitions": 2}, status=201)
    p = api.ok("POST", "/api/v1/topics/msgs/messages",
               {"partition": 1, "key": "k1", "value": "hello", "headers": {"h1": "v1", "h2": None}}, status=201)
    assert p["partition"] == 1 and p["offset"] == 0
    binary = bytes(range(256))
    p = api.ok("POST", "/api/v1/topics/msgs/messages",
               {"partition": 1, "value_b64": base64.b64encode(binary).decode()}, status=201)
    assert p["offset"] == 1
    api.err("POST", "/api/v1/topics/msgs/messages", {"partition": 2, "value": "x"})
    api.err("POST", "/api/v1/topics/msgs/messages", {"value_b64": "***"})
    api.err("POST", "/api/v1/topics/msgs/messages", {"headers": ["x"]})
    api.err("POST", "/api/v1/topics/nope/messages", {"value": "x"}, status=404)

    # Read through Kafka.
    c = Consumer({"bootstrap.servers": boot(sl), "group.id": "r", "enable.auto.commit": False})
    c.assign([TopicPartition("msgs", 1, 0)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 2 and time.monotonic() < deadline:
        m = c.poll(1)
        if m is not None and m.error() is None:
            got.append(m)
    c.close()
    assert got[0].key() == b"k1" and got[0].value() == b"hello"
    assert got[0].headers() == [("h1", b"v1"), ("h2", None)]
    assert got[1].key() is None and got[1].value() == binary

    # Produced through Kafka, read through the API: pages, offsets, time.
    pr = Producer({"bootstrap.servers": boot(sl), "acks": "all", "linger.ms": 0})
    t0 = int(time.time() * 1000)
    for i in range(30):
        pr.produce("msgs", value=json.dumps({"i": i}).encode(), key=b"key%d" % i, partition=0,
                   timestamp=t0 + i * 1000)
    assert pr.flush(30) == 0
    d = api.ok("GET", "/api/v1/topics/msgs/messages?partition=0&offset=5&limit=10")
    assert [r["offset"] for r in d["records"]] == list(range(5, 15))
    assert d["next_offset"] == 15 and d["high_watermark"] == 30 and d["start_offset"] == 0
    assert json.loads(d["records"][0]["value"]) == {"i": 5} and d["records"][0]["key"] == "key5"
    assert base64.b64decode(d["records"][0]["value_b64"]) == b'{"i": 5}'
    assert d["records"][0]["timestamp"] == t0 + 5000 and d["records"][0]["codec"] == "none"
    d = api.ok("GET", "/api/v1/topics/msgs/messages?partition=0&timestamp=%d&limit=3" % (t0 + 20500))
    assert [r["offset"] for r in d["records"]] == [21, 22, 23]
    d = api.ok("GET", "/api/v1/topics/msgs/messages?partition=0&limit=4")  # the newest page
    assert [r["offset"] for r in d["records"]] == [26, 27, 28, 29]
    d = api.ok("GET", "/api/v1/topics/msgs/messages?partition=1")
    assert d["records"][0]["headers"] == [
        {"key": "h1", "key_b64": "aDE=", "value": "v1", "value_b64": "djE="},
        {"key": "h2", "key_b64": "aDI=", "value": None, "value_b64": None}]
    assert d["records"][1]["value"] is None and base64.b64decode(d["records"][1]["value_b64"]) == binary
    api.err("GET", "/api/v1/topics/msgs/messages?partition=9")
    api.err("GET", "/api/v1/topics/msgs/messages?offset=abc")
    api.err("GET", "/api/v1/topics/msgs/messages?limit=100000")


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_messages_compressed_batches_are_decoded(sl, codec):
    api = Api(sl)
    pr = Producer({"bootstrap.servers": boot(sl), "acks": "all", "linger.ms": 50,
                   "compression.type": codec, "batch.num.messages": 100})
    values = [("record %d " % i + "x" * 200).encode() for i in range(50)]
    for v in values:
        pr.produce("c-" + codec, value=v, partition=0)
    assert pr.flush(30) == 0
    d = api.ok("GET", "/api/v1/topics/c-%s/messages?offset=0&limit=50" % codec)
    assert [r["value"].encode() for r in d["records"]] == values
    assert {r["codec"] for r in d["records"]} == {codec}
    assert "warning" not in d


def test_groups(sl):
    api = Api(sl)
    api.ok("POST", "/api/v1/topics", {"name": "gt", "partitions": 2}, status=201)
    pr = Producer({"bootstrap.servers": boot(sl), "acks": "all"})
    for i in range(10):
        pr.produce("gt", value=b"%d" % i, partition=i % 2, timestamp=1_700_000_000_000 + i * 1000)
    assert pr.flush(30) == 0
    assert api.ok("GET", "/api/v1/groups") == {"groups": []}
    api.err("GET", "/api/v1/groups/nope", status=404)

    c = Consumer({"bootstrap.servers": boot(sl), "group.id": "gg", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe(["gt"])
    deadline = time.monotonic() + 60
    n = 0
    while n < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            n += 1
    assert n == 10
    c.commit(offsets=[TopicPartition("gt", 0, 3), TopicPartition("gt", 1, 5)], asynchronous=False)
    g = api.ok("GET", "/api/v1/groups/gg")
    assert g["state"] == "Stable" and g["protocol_type"] == "consumer" and len(g["members"]) == 1
    assert g["members"][0]["assignment"] == [{"topic": "gt", "partitions": [0, 1]}]
    assert {(o["partition"], o["offset"], o["lag"]) for o in g["offsets"]} == {(0, 3, 2), (1, 5, 0)}
    assert g["lag"] == 2
    lst = api.ok("GET", "/api/v1/groups")["groups"]
    assert lst == [{"group": "gg", "protocol_type": "consumer", "state": "Stable", "members": 1,
                    "partitions": 2, "lag": 2}]
    assert "active members" in api.err("POST", "/api/v1/groups/gg/reset",
                                       {"topic": "gt", "to": "earliest"}, status=409)
    api.err("DELETE", "/api/v1/groups/gg", status=409)
    c.close()

    wait = time.monotonic() + 30
    while api.ok("GET", "/api/v1/groups/gg")["state"] != "Empty":
        assert time.monotonic() < wait
        time.sleep(0.05)
    api.err("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "sideways"})
    api.err("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "offset"})
    api.err("POST", "/api/v1/groups/gg/reset", {"topic": "nope", "to": "earliest"}, status=404)
    api.err("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "earliest", "partitions": [7]},
            status=404)
    d = api.ok("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "offset", "offset": 2,
                                                   "partitions": [0]})
    assert d["offsets"] == [{"topic": "gt", "partition": 0, "offset": 2}]
    chk = Consumer({"bootstrap.servers": boot(sl), "group.id": "gg", "enable.auto.commit": False})
    tps = [TopicPartition("gt", 0), TopicPartition("gt", 1)]
    assert [tp.offset for tp in chk.committed(tps, timeout=20)] == [2, 5]
    api.ok("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "latest"})
    assert [tp.offset for tp in chk.committed(tps, timeout=20)] == [5, 5]
    # Partition 0 holds records 0, 2, 4, 6, 8 at seconds 0, 2, 4...: second 5 is offset 3.
    api.ok("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "timestamp",
                                               "timestamp": 1_700_000_005_000})
    assert [tp.offset for tp in chk.committed(tps, timeout=20)] == [3, 2]
    api.ok("POST", "/api/v1/groups/gg/reset", {"topic": "gt", "to": "earliest"})
    assert [tp.offset for tp in chk.committed(tps, timeout=20)] == [0, 0]
    chk.close()

    assert api.ok("DELETE", "/api/v1/groups/gg") == {"deleted": "gg"}
    api.err("DELETE", "/api/v1/groups/gg", status=404)
    admin = AdminClient({"bootstrap.servers": boot(sl)})
    assert "gg" not in [g.id for g in admin.list_groups(timeout=20)]


def test_redis(sl):
    api = Api(sl)
    r = redis.Redis(port=sl.port("resp"))
    r.set("user:1", "alice", ex=100)
    r.set("user:2", b"\xff\xfe")
    r.rpush("jobs", "a", "b", "c")
    for i in range(6):
        r.xadd("ev", {"n": str(i)})
    r.xgroup_create("ev", "grp", id="0")
    r.xreadgroup("grp", "c1", {"ev": ">"}, count=4)
    r.xreadgroup("grp", "c2", {"ev": ">"}, count=1)

    d = api.ok("GET", "/api/v1/redis/keys?pattern=user:*")
    keys = {k["key"]: k for k in d["keys"]}
    assert set(keys) == {"user:1", "user:2"} and d["cursor"] == 0 and d["total"] == 4
    assert keys["user:1"]["type"] == "string" and keys["user:1"]["value"] == "alice"
    assert 0 < keys["user:1"]["ttl_ms"] <= 100_000 and keys["user:2"]["ttl_ms"] == -1
    assert keys["user:2"]["value"] is None and base64.b64decode(keys["user:2"]["value_b64"]) == b"\xff\xfe"
    d = api.ok("GET", "/api/v1/redis/keys?type=list")
    assert d["keys"] == [{"key": "jobs", "type": "list", "length": 3, "ttl_ms": -1}]
    # Paging with the cursor covers every key once.
    seen, cur = [], 0
    while True:
        d = api.ok("GET", "/api/v1/redis/keys?limit=1&cursor=%d" % cur)
        seen += [k["key"] for k in d["keys"]]
        cur = d["cursor"]
        if not cur:
            break
    assert sorted(seen) == ["ev", "jobs", "user:1", "user:2"]
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.sadd("s", "x")
    r.zadd("z", {"m": 1.5})
    for t, k, n in (("hash", "h", 2), ("set", "s", 1), ("zset", "z", 1)):
        d = api.ok("GET", "/api/v1/redis/keys?type=" + t)
        assert d["keys"] == [{"key": k, "type": t, "length": n, "ttl_ms": -1}], d
    r.delete("h", "s", "z")
    api.err("GET", "/api/v1/redis/keys?type=bitmap")
    api.err("GET", "/api/v1/redis/keys?limit=0")

    s = api.ok("GET", "/api/v1/redis/streams")["streams"]
    assert s == [{"key": "ev", "length": 6, "first_id": s[0]["first_id"], "last_id": s[0]["last_id"],
                  "groups": 1, "pending": 5}]
    st = api.ok("GET", "/api/v1/redis/streams/ev")
    g = st["groups_detail"][0]
    assert g["name"] == "grp" and g["pending"] == 5 and g["lag"] == 1
    assert [(c["name"], c["pending"]) for c in g["consumers"]] == [("c1", 4), ("c2", 1)]
    assert [p["consumer"] for p in g["pending_entries"]] == ["c1"] * 4 + ["c2"]
    assert all(p["deliveries"] == 1 for p in g["pending_entries"])
    assert st["entries"][0]["fields"] == [["n", "5"]] and len(st["entries"]) == 6
    api.err("GET", "/api/v1/redis/streams/nope", status=404)
    api.err("GET", "/api/v1/redis/streams/jobs", status=409)

    assert api.ok("DELETE", "/api/v1/redis/keys/jobs") == {"deleted": "jobs"}
    assert r.exists("jobs") == 0
    api.err("DELETE", "/api/v1/redis/keys/jobs", status=404)
    # A key with a slash and a space, percent-encoded in the path.
    r.set("a/b c", "1")
    assert api.ok("DELETE", "/api/v1/redis/keys/a%2Fb%20c") == {"deleted": "a/b c"}
    assert r.exists("a/b c") == 0


def test_tubes_and_jobs(sl):
    api = Api(sl)
    b = bstk.Client(sl.port("beanstalk"))
    b.cmd(b"use work\r\n")
    ids = [int(b.cmd(b"put 10 0 60 2\r\nj%d\r\n" % i).split()[1]) for i in range(4)]
    delayed = int(b.cmd(b"put 5 3600 60 1\r\nd\r\n").split()[1])
    b.cmd(b"watch work\r\n")
    res = b.cmd(b"reserve-with-timeout 5\r\n")
    first = int(res.split()[1])
    assert b.cmd(b"bury %d 1\r\n" % first) == b"BURIED\r\n"
    res = b.cmd(b"reserve-with-timeout 5\r\n")
    reserved = int(res.split()[1])

    tubes = {t["name"]: t for t in api.ok("GET", "/api/v1/tubes")["tubes"]}
    w = tubes["work"]
    assert (w["ready"], w["reserved"], w["delayed"], w["buried"], w["total_jobs"]) == (2, 1, 1, 1, 5)
    t = api.ok("GET", "/api/v1/tubes/work")
    assert t["peek"]["buried"]["id"] == first and t["peek"]["buried"]["body"] == "j0"
    assert t["peek"]["delayed"]["id"] == delayed and t["peek"]["delayed"]["time_left_s"] > 3500
    assert t["peek"]["ready"]["state"] == "ready"
    api.err("GET", "/api/v1/tubes/nope", status=404)

    j = api.ok("GET", "/api/v1/jobs/%d" % reserved)
    assert j["state"] == "reserved" and j["tube"] == "work" and j["reserves"] == 1
    api.err("GET", "/api/v1/jobs/999999", status=404)
    api.err("GET", "/api/v1/jobs/abc")
    api.err("DELETE", "/api/v1/jobs/%d" % reserved, status=409)
    api.err("POST", "/api/v1/jobs/%d/kick" % ids[3], status=409)  # ready: nothing to kick

    j = api.ok("POST", "/api/v1/jobs/%d/kick" % first)
    assert j["state"] == "ready" and j["kicks"] == 1
    assert b"state: ready" in b.cmd(b"stats-job %d\r\n" % first)
    assert api.ok("POST", "/api/v1/tubes/work/kick", {"bound": 5}) == {"kicked": 1}  # the delayed one
    assert b"state: ready" in b.cmd(b"stats-job %d\r\n" % delayed)
    api.err("POST", "/api/v1/tubes/work/kick", {"bound": 0})

    assert api.ok("DELETE", "/api/v1/jobs/%d" % ids[3]) == {"deleted": ids[3]}
    assert b.cmd(b"peek %d\r\n" % ids[3]) == b"NOT_FOUND\r\n"

    p = api.ok("POST", "/api/v1/tubes/work/pause", {"seconds": 300})
    assert p["paused"] and p["pause_s"] == 300
    assert b"pause: 300" in b.cmd(b"stats-tube work\r\n")
    p = api.ok("POST", "/api/v1/tubes/work/pause", {"seconds": 0})
    assert not p["paused"]
    api.err("POST", "/api/v1/tubes/work/pause", {})
    api.err("POST", "/api/v1/tubes/work/pause", {"seconds": -1})
    b.close()


def test_http_errors_and_limits(sl):
    api = Api(sl)
    assert "no such resource" in api.err("GET", "/api/v1/nothing", status=404)
    assert "not allowed" in api.err("PUT", "/api/v1/topics", status=405)
    api.err("GET", "/nope.js", status=404)
    def raw(req):
        s = socket.create_connection(("127.0.0.1", sl.port("http")), timeout=10)
        s.sendall(req)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        return out
    # A body past the limit is refused when its length is announced, before
    # a byte of it is read, and the connection closes.
    out = raw(b"POST /api/v1/topics HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (1024 * 1024 + 1))
    assert out.startswith(b"HTTP/1.1 413 ") and b'"status":413' in out
    assert raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(b"GET / HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505 ")
    assert raw(b"POST /api/v1/topics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").startswith(b"HTTP/1.1 411 ")
    assert raw(b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431 ")
    assert raw(b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 414 ")
    assert raw(b"GET /api/v1/topics/%zz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # Keep-alive: two requests on one connection, the second one's body split.
    s = socket.create_connection(("127.0.0.1", sl.port("http")), timeout=10)
    body = json.dumps({"name": "ka"}).encode()
    s.sendall(b"GET /health HTTP/1.1\r\n\r\nPOST /api/v1/topics HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body[:5]))
    time.sleep(0)
    s.sendall(body[5:] + b"GET /api/v1/topics HTTP/1.0\r\n\r\n")
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    assert out.count(b"HTTP/1.1 200 OK") == 2 and out.count(b"HTTP/1.1 201 Created") == 1
    assert out.endswith(b'"overrides":0}]}\n')

    # The console itself.
    c = http.client.HTTPConnection("127.0.0.1", sl.port("http"), timeout=10)
    for path, ctype in (("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css"),
                        ("/favicon.svg", "image/svg+xml")):
        c.request("GET", path)
        r = c.getresponse()
        assert r.status == 200 and r.getheader("Content-Type").startswith(ctype) and r.read(), path
    c.request("HEAD", "/")
    r = c.getresponse()
    assert r.status == 200 and int(r.getheader("Content-Length")) > 0 and r.read() == b""
    c.close()


def test_storage_failure_is_a_503_and_changes_nothing(sl):
    api = Api(sl)
    b = bstk.Client(sl.port("beanstalk"))
    b.cmd(b"use f\r\n")
    job = int(b.cmd(b"put 1 0 60 1\r\nx\r\n").split()[1])
    b.cmd(b"watch f\r\n")
    assert b.cmd(b"reserve-with-timeout 5\r\n").startswith(b"RESERVED")
    assert b.cmd(b"bury %d 1\r\n" % job) == b"BURIED\r\n"
    # The kick is applied, its sync fails: the reply becomes a 503 and the
    # jobs are rebuilt from the journal (the job is buried again).
    sl.fault("op=fsync,path=jobs.journal,count=1,errno=EIO")
    msg = api.err("POST", "/api/v1/jobs/%d/kick" % job, status=503)
    assert "storage failure" in msg
    sl.clear_faults()
    deadline = time.monotonic() + 30
    while b"state: buried" not in b.cmd(b"stats-job %d\r\n" % job):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # A full disk refuses the change before it is applied.
    sl.fault("op=all,path=kafka.journal,count=-1,errno=ENOSPC")
    api.err("POST", "/api/v1/topics", {"name": "nospace"}, status=503)
    sl.clear_faults()
    assert api.ok("GET", "/api/v1/topics") == {"topics": []}
    b.close()
