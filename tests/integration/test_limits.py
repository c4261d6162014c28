"""Resource limits (issue 13): file descriptors and client memory, against
the real sluiced.

Descriptors: the server is started with a low RLIMIT_NOFILE, soft = hard
(set in the child with preexec_fn), so the raise at start cannot help.
- A CreateTopics that runs out of descriptors part way answers an error and
  leaves nothing: no topic, no directory, no journal record (after a
  restart the topic is still absent); the server keeps serving and the
  same creation works once descriptors are free again.
- Connections beyond the limit are dropped with the listener braking, not
  spinning: the server's CPU time stays small while a client keeps
  connecting, and it accepts again as soon as descriptors free up.
- 10,000 partitions under a limit of 1,024 descriptors (well below the
  ~4 per partition sluice used to hold) produce and consume correctly,
  before and after a crash (SIGKILL) and a clean restart.
- A start under a limit too low to open the data directory says so.

Memory: with max.client.memory set, clients holding huge incomplete RESP
multibulk requests, partial Kafka frames and beanstalkd bodies are closed
(one log line each), a normal client keeps working throughout, and the
server's peak RSS (VmHWM) stays bounded.
"""
import os
import resource
import socket
import struct
import threading
import time

import pytest
import redis
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice
from kafka_util import bootstrap, is_closed, read_response, request


def nofile(n, asan_extra=None):
    """preexec_fn: RLIMIT_NOFILE soft = hard = n in the child (and, for the
    memory tests, ASan options that give freed memory back at once)."""
    def fn():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
        if asan_extra:
            old = os.environ.get("ASAN_OPTIONS", "")
            os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + asan_extra
    return fn


def proc_status(s, key):
    with open("/proc/%d/status" % s.proc.pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no %s in /proc/%d/status" % (key, s.proc.pid))


def cpu_seconds(s):
    with open("/proc/%d/stat" % s.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(s):
    return len(os.listdir("/proc/%d/fd" % s.proc.pid))


def topic_dirs(s, prefix):
    d = os.path.join(s.data_dir, "topics")
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if n.startswith(prefix + "-"))


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)  # polling the server's state from outside
    raise AssertionError("timed out waiting for " + what)


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def create_topics_v1(corr, name, partitions):
    """A raw CreateTopics v1 request: one topic, no assignments or configs
    (raw, so that it goes over a connection opened before the server ran
    out of descriptors; a client library would open new ones)."""
    body = struct.pack(">i", 1) + kstr(name) + struct.pack(">ihii", partitions, 1, 0, 0)
    body += struct.pack(">ib", 30000, 0)
    return request(19, 1, corr, body)


def parse_create_topics_v1(resp):
    """{name: (error code, message)}"""
    corr, n = struct.unpack(">ii", resp[:8])
    off = 8
    out = {}
    for _ in range(n):
        (ln,) = struct.unpack(">h", resp[off:off + 2])
        name = resp[off + 2:off + 2 + ln].decode()
        off += 2 + ln
        err, ml = struct.unpack(">hh", resp[off:off + 4])
        off += 4
        msg = resp[off:off + ml].decode() if ml > 0 else None
        off += max(ml, 0)
        out[name] = (err, msg)
    return out


def metadata_topics(s):
    a = AdminClient({"bootstrap.servers": bootstrap(s)})
    return a.list_topics(timeout=20).topics


def produce(s, topic, partitions, tag):
    """One message per partition, acks=all; every delivery must succeed."""
    p = Producer({"bootstrap.servers": bootstrap(s), "acks": "all", "linger.ms": 20})
    errors = []
    for i in range(partitions):
        p.produce(topic, value=b"%s-%d" % (tag, i), partition=i,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
        if i % 500 == 0:
            p.poll(0)
    left = p.flush(60)
    del p
    assert left == 0
    assert errors == []


def read_all(s, topic, partitions, per_partition=1):
    """Every message of every partition, in order: {partition: [values]}."""
    c = Consumer({"bootstrap.servers": bootstrap(s), "group.id": "limits",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, i, 0) for i in range(partitions)])
    got = {}
    want = partitions * per_partition
    n = 0
    deadline = time.monotonic() + 60
    while n < want and time.monotonic() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                continue
            got.setdefault(m.partition(), []).append(m.value())
            n += 1
    c.close()
    return got


# --- descriptors -------------------------------------------------------------------


def test_create_topics_out_of_descriptors_leaves_nothing(tmp_path):
    """Opens fail with EMFILE from the 120th file of the new topic on (the
    store's fault injection, so the point is exact): CreateTopics answers
    an error, no partition directory or journal record is left, other
    topics keep working, and after the fault the same creation works; a
    restart under the same low limit finds exactly the good topics."""
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"), faults=True, preexec_fn=nofile(256),
                       listeners=("kafka", "http"))
    try:
        a = AdminClient({"bootstrap.servers": bootstrap(s)})
        a.create_topics([NewTopic("ok", 4, 1)])["ok"].result(30)
        produce(s, "ok", 4, b"before")
        s.fault("op=open,path=topics/fail-,skip=120,count=-1,errno=EMFILE")
        fut = a.create_topics([NewTopic("fail", 300, 1)], operation_timeout=30)["fail"]
        with pytest.raises(KafkaException):
            fut.result(60)
        assert s.fault_hits() > 0
        assert topic_dirs(s, "fail") == []
        assert "fail" not in metadata_topics(s)
        assert "too many open files" in s.stderr()
        # The server keeps serving what exists.
        produce(s, "ok", 4, b"after")
        s.clear_faults()
        a.create_topics([NewTopic("fail", 300, 1)])["fail"].result(60)
        assert len(topic_dirs(s, "fail")) == 300
        s.restart()
        topics = metadata_topics(s)
        assert len(topics["fail"].partitions) == 300
        assert len(topics["ok"].partitions) == 4
        got = read_all(s, "ok", 4, per_partition=2)
        assert got == {i: [b"before-%d" % i, b"after-%d" % i] for i in range(4)}
    finally:
        if s.proc is not None:
            s.stop()


def test_connections_beyond_the_limit_brake_not_spin(tmp_path):
    """Idle connections take every descriptor: the listeners drop further
    ones and pause instead of spinning (CPU stays low while a client keeps
    connecting), a CreateTopics on an open connection fails cleanly with
    nothing left behind, and once the connections go everything works."""
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"), preexec_fn=nofile(128),
                       listeners=("kafka", "resp", "http"))
    hogs = []
    try:
        kc = socket.create_connection(("127.0.0.1", s.port("kafka")), timeout=30)
        assert redis.Redis(port=s.port("resp"), socket_timeout=10).ping()
        # Fill the server's descriptor table with idle connections.
        for _ in range(160):
            hogs.append(socket.create_connection(("127.0.0.1", s.port("resp")), timeout=5))
        wait_for(lambda: "cannot accept" in s.stderr(), what="the listener to brake")
        # A client that keeps trying: the server must not spin on it.
        stop = threading.Event()
        tries = [0]

        def knock():
            while not stop.is_set():
                try:
                    socket.create_connection(("127.0.0.1", s.port("resp")), timeout=1).close()
                except OSError:
                    pass
                tries[0] += 1

        t = threading.Thread(target=knock)
        cpu0, t0 = cpu_seconds(s), time.monotonic()
        t.start()
        # Meanwhile: a topic creation that finds no descriptor at all.
        kc.sendall(create_topics_v1(7, "starved", 40))
        res = parse_create_topics_v1(read_response(kc))
        time.sleep(2)  # measuring CPU use over a stretch of wall time
        stop.set()
        t.join()
        cpu = cpu_seconds(s) - cpu0
        wall = time.monotonic() - t0
        assert tries[0] > 20
        assert cpu < 0.5 * wall, "server used %.2fs CPU in %.2fs at the limit" % (cpu, wall)
        assert res["starved"][0] != 0
        assert topic_dirs(s, "starved") == []
        for h in hogs:
            h.close()
        hogs = []
        # Accepting resumes by itself. Until the server has seen the hogs
        # go, a connection may still be accepted and dropped (reset).
        def pings():
            try:
                return redis.Redis(port=s.port("resp"), socket_timeout=5).ping()
            except redis.ConnectionError:
                return False

        wait_for(pings, what="accepting again")
        kc.sendall(create_topics_v1(8, "starved", 40))
        assert parse_create_topics_v1(read_response(kc))["starved"][0] == 0
        kc.close()
        produce(s, "starved", 40, b"x")
        assert read_all(s, "starved", 40) == {i: [b"x-%d" % i] for i in range(40)}
        s.restart()
        assert len(metadata_topics(s)["starved"].partitions) == 40
    finally:
        for h in hogs:
            h.close()
        if s.proc is not None:
            s.stop()


@pytest.mark.timeout(240)
def test_ten_thousand_partitions_under_a_low_limit(tmp_path):
    """10,000 partitions with 1,024 descriptors: create, produce (acks=all,
    fsync=always), consume; the server never holds more than its limit;
    after SIGKILL (unclean recovery of every partition) every message is
    still there and more can be written. On a tmpfs, so that the test
    measures descriptors and not the disk's ten thousand fdatasyncs;
    small segments keep the preallocated space (in RAM there) small."""
    n = 10000
    with sluice.tmpfs("512m") as d:
        s = sluice.Sluiced(data_dir=os.path.join(d, "data"), preexec_fn=nofile(1024),
                           extra=["--log.segment.bytes=16384"], listeners=("kafka", "http"),
                           ready_timeout=120)
        try:
            a = AdminClient({"bootstrap.servers": bootstrap(s)})
            a.create_topics([NewTopic("wide", n, 1)], operation_timeout=120,
                            request_timeout=150)["wide"].result(150)
            produce(s, "wide", n, b"a")
            assert read_all(s, "wide", n) == {i: [b"a-%d" % i] for i in range(n)}
            assert open_fds(s) <= 1024
            s.kill()
            s.start()
            produce(s, "wide", n, b"b")
            want = {i: [b"a-%d" % i, b"b-%d" % i] for i in range(n)}
            assert read_all(s, "wide", n, per_partition=2) == want
            assert open_fds(s) <= 1024
            assert "too many open files" not in s.stderr()
        finally:
            if s.proc is not None:
                s.stop()


def test_start_with_too_few_descriptors_says_so(tmp_path):
    """A limit too low for even the journals and listeners: the start fails
    with one line naming the limit and what to raise, and the data
    directory is intact for the next start."""
    d = str(tmp_path / "data")
    s = sluice.Sluiced(data_dir=d, listeners=("kafka", "http"))
    a = AdminClient({"bootstrap.servers": bootstrap(s)})
    a.create_topics([NewTopic("t", 8, 1)])["t"].result(30)
    s.stop()
    with pytest.raises(RuntimeError) as e:
        sluice.Sluiced(data_dir=d, preexec_fn=nofile(12), listeners=("kafka", "http"))
    msg = str(e.value)
    assert "too many open files: limit 12" in msg
    assert "raise ulimit -n" in msg
    assert "input/output error" not in msg
    s = sluice.Sluiced(data_dir=d, listeners=("kafka", "http"))
    try:
        assert len(metadata_topics(s)["t"].partitions) == 8
    finally:
        s.stop()


# --- memory --------------------------------------------------------------------------

CAP = 48 << 20
# Freed memory goes back to the system at once, so VmRSS means something.
ASAN_GIVE_BACK = "quarantine_size_mb=0:allocator_release_to_os_interval_ms=100"


def flood(port, head, chunk, limit, closed):
    """Sends head, then chunk again and again (up to limit bytes) until the
    server closes the connection; appends the bytes sent to closed if it
    did."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = 0
    try:
        s.sendall(head)
        while sent < limit:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        closed.append(sent)
    finally:
        s.close()


def test_client_memory_cap_closes_the_hogs_only(tmp_path):
    """max.client.memory = 48 MiB: two RESP clients sending `*50000000`
    with empty bulks and one Kafka client sending a 100 MB frame are
    closed, one log line each; a normal Redis client works throughout;
    peak RSS stays far below the 1 GiB such clients used to take."""
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"),
                       extra=["--max.client.memory=%d" % CAP, "--max.request.bytes=1073741824"],
                       preexec_fn=nofile(4096, ASAN_GIVE_BACK),
                       listeners=("kafka", "resp", "http"))
    try:
        r = redis.Redis(port=s.port("resp"), socket_timeout=30)
        r.set("k", "v0")
        base = proc_status(s, "VmRSS")
        closed = []
        resp_hog = (s.port("resp"), b"*50000000\r\n", b"$0\r\n\r\n" * 100000, 400 << 20, closed)
        kafka_hog = (s.port("kafka"), struct.pack(">i", 100_000_000) + b"\0" * 10,
                     b"\1" * 600000, 99_000_000, closed)
        hogs = [threading.Thread(target=flood, args=a) for a in (resp_hog, resp_hog, kafka_hog)]
        for t in hogs:
            t.start()
        i = 0
        while any(t.is_alive() for t in hogs):
            i += 1
            r.set("k", "v%d" % i)
            assert r.get("k") == b"v%d" % i
        for t in hogs:
            t.join()
        assert len(closed) == 3, closed
        assert r.get("k") == b"v%d" % i
        assert s.stderr().count("over max.client.memory") >= 3
        peak = proc_status(s, "VmHWM")
        assert peak - base < CAP + (160 << 20), "peak RSS grew by %d MiB" % ((peak - base) >> 20)
    finally:
        s.stop()


def test_resp_request_bound_per_connection(tmp_path):
    """One client, no global cap: a `*50000000` request of empty bulks is
    refused with a protocol error once its bytes plus its argument table
    pass max.request.bytes, instead of holding 352 MiB."""
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"),
                       extra=["--max.client.memory=0", "--max.request.bytes=8388608"],
                       preexec_fn=nofile(4096, ASAN_GIVE_BACK), listeners=("resp", "http"))
    try:
        base = proc_status(s, "VmRSS")
        c = socket.create_connection(("127.0.0.1", s.port("resp")), timeout=30)
        c.sendall(b"*50000000\r\n")
        try:
            for _ in range(200):
                c.sendall(b"$0\r\n\r\n" * 100000)
        except OSError:
            pass
        reply = b""
        c.settimeout(10)
        try:
            while not reply.endswith(b"\r\n"):
                b = c.recv(4096)
                if not b:
                    break
                reply += b
        except OSError:
            pass
        c.close()
        assert reply.startswith(b"-ERR Protocol error: too big request"), reply
        assert proc_status(s, "VmHWM") - base < 64 << 20
        assert redis.Redis(port=s.port("resp"), socket_timeout=10).ping()
    finally:
        s.stop()


def test_beanstalk_bodies_in_progress_count(tmp_path):
    """Bodies being received count: with max-job-size 40 MB and a 48 MiB
    cap, two half-sent 40 MB jobs pass the cap and one of the two clients
    is closed; a normal client's put and reserve work."""
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"),
                       extra=["--max.client.memory=%d" % CAP, "--max-job-size=40000000"],
                       preexec_fn=nofile(4096), listeners=("beanstalk", "http"))
    try:
        a = socket.create_connection(("127.0.0.1", s.port("beanstalk")), timeout=10)
        a.sendall(b"put 0 0 60 40000000\r\n" + b"a" * 1000)
        b = socket.create_connection(("127.0.0.1", s.port("beanstalk")), timeout=10)
        b.sendall(b"put 0 0 60 40000000\r\n" + b"b" * 2000)
        wait_for(lambda: "over max.client.memory" in s.stderr(), what="a client closed")
        assert [is_closed(a, 2), is_closed(b, 2)].count(True) == 1
        n = socket.create_connection(("127.0.0.1", s.port("beanstalk")), timeout=10)
        n.sendall(b"put 0 0 60 5\r\nhello\r\nreserve-with-timeout 5\r\n")
        buf = b""
        while b"hello\r\n" not in buf:
            chunk = n.recv(4096)
            assert chunk, buf
            buf += chunk
        assert buf.startswith(b"INSERTED ")
        assert b"RESERVED " in buf
        for sock in (a, b, n):
            sock.close()
    finally:
        s.stop()
