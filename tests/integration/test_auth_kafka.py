"""Kafka SASL against the real sluiced (kafka.security.protocol=SASL_PLAINTEXT,
a bootstrap admin and a second user): confluent-kafka-python (librdkafka
2.0.2), kafka-python 2.0.2 (SaslHandshake v0, bare tokens), kcat, kafkajs
2.2.4 and Sarama 1.22.1 with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 produce
and consume; a wrong
password gives each client its normal authentication error; a client
that skips SASL is disconnected; users survive a restart (the journal)."""
import json
import os
import socket
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

import sluice

ADMIN, ADMIN_PW = "admin", "s3cret-admin"


def start(d):
    return sluice.Sluiced(data_dir=str(d), listeners=("kafka",),
                          extra=["--kafka.security.protocol=SASL_PLAINTEXT",
                                 "--auth.admin.user=" + ADMIN,
                                 "--auth.admin.password=" + ADMIN_PW])


@pytest.fixture(scope="module")
def sasl_server(tmp_path_factory):
    s = start(tmp_path_factory.mktemp("auth") / "data")
    yield s
    s.stop()


# Repeated failures lock the user out from that host for a few seconds:
# tests of wrong passwords get a server of their own.
@pytest.fixture
def fail_server(tmp_path):
    s = start(tmp_path / "data")
    yield s
    s.stop()


def boot(s):
    return "127.0.0.1:%d" % s.port("kafka")


def conf(s, mech, user=ADMIN, pw=ADMIN_PW):
    return {"bootstrap.servers": boot(s), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mech, "sasl.username": user, "sasl.password": pw}


def roundtrip_confluent(s, mech, topic, user=ADMIN, pw=ADMIN_PW):
    p = Producer(dict(conf(s, mech, user, pw), **{"acks": "all"}))
    for i in range(5):
        p.produce(topic, value=b"v%d" % i)
    assert p.flush(30) == 0
    c = Consumer(dict(conf(s, mech, user, pw), **{"group.id": "g-" + topic,
                                                  "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < 5 and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert got == [b"v%d" % i for i in range(5)]


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_confluent_roundtrip(sasl_server, mech):
    roundtrip_confluent(sasl_server, mech, "t-" + mech.lower())


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-512"])
def test_confluent_wrong_password(fail_server, mech):
    sasl_server = fail_server
    a = AdminClient(conf(sasl_server, mech, pw="Xq9-bad-pw"))
    with pytest.raises(KafkaException) as e:
        a.list_topics(timeout=10)
    # librdkafka reports the broker's authentication failure as such.
    assert "Authentication" in str(e.value) or "_AUTHENTICATION" in str(e.value) \
        or "_TRANSPORT" in str(e.value)
    assert "failed login of user 'admin'" in sasl_server.stderr()
    assert "Xq9-bad-pw" not in sasl_server.stderr()


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python(sasl_server, mech):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.errors import AuthenticationFailedError, NoBrokersAvailable
    kw = dict(bootstrap_servers=boot(sasl_server), security_protocol="SASL_PLAINTEXT",
              sasl_mechanism=mech, sasl_plain_username=ADMIN, sasl_plain_password=ADMIN_PW,
              api_version=(2, 5, 0))
    topic = "kp-" + mech.lower()
    p = KafkaProducer(acks="all", **kw)
    for i in range(3):
        p.send(topic, b"m%d" % i).get(timeout=30)
    p.close()
    c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=10000, **kw)
    assert [m.value for m in c][:3] == [b"m0", b"m1", b"m2"]
    c.close()


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-512"])
def test_kafka_python_wrong_password(fail_server, mech, caplog):
    # kafka-python 2.0.2 authenticates with SaslHandshake v0 (bare tokens);
    # on a failure Kafka closes the connection, which kafka-python reports
    # as an error receiving the server's reply and stays disconnected.
    import logging
    from kafka.conn import BrokerConnection
    caplog.set_level(logging.ERROR, logger="kafka.conn")
    c = BrokerConnection("127.0.0.1", fail_server.port("kafka"), socket.AF_INET,
                         security_protocol="SASL_PLAINTEXT", sasl_mechanism=mech,
                         sasl_plain_username=ADMIN, sasl_plain_password="nope",
                         api_version=(2, 5, 0))
    assert not c.connect_blocking(timeout=20)
    assert "Connection reset during recv" in caplog.text or "Authentication" in caplog.text
    assert "failed login of user 'admin'" in fail_server.stderr()


def test_kcat_scram(sasl_server):
    base = ["kcat", "-b", boot(sasl_server), "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=" + ADMIN]
    r = subprocess.run(base + ["-X", "sasl.password=" + ADMIN_PW, "-P", "-t", "kc"],
                       input=b"a\nb\n", capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["-X", "sasl.password=" + ADMIN_PW, "-C", "-t", "kc", "-o",
                               "beginning", "-e"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"a", b"b"]


def test_kcat_wrong_password(fail_server):
    base = ["kcat", "-b", boot(fail_server), "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=" + ADMIN]
    r = subprocess.run(base + ["-X", "sasl.password=bad", "-L", "-m", "5"],
                       capture_output=True, timeout=60)
    assert r.returncode != 0
    assert b"Authentication failed" in r.stderr or b"SASL" in r.stderr, r.stderr


def frame(api, ver, corr, body):
    hdr = struct.pack(">hhih", api, ver, corr, 4) + b"test"
    msg = hdr + body
    return struct.pack(">i", len(msg)) + msg


def read_frame(sock):
    buf = b""
    while len(buf) < 4:
        chunk = sock.recv(4 - len(buf))
        if not chunk:
            return None
        buf += chunk
    n = struct.unpack(">i", buf)[0]
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def test_unauthenticated_request_closes(sasl_server):
    with socket.create_connection(("127.0.0.1", sasl_server.port("kafka")), timeout=10) as sk:
        # ApiVersions is allowed and lists the SASL APIs.
        sk.sendall(frame(18, 0, 1, b""))
        body = read_frame(sk)
        assert body is not None
        n = struct.unpack(">i", body[6:10])[0]
        keys = {struct.unpack(">h", body[10 + 6 * i:12 + 6 * i])[0] for i in range(n)}
        assert {17, 36} <= keys
        # Metadata before SASL: the connection is closed, as Kafka does.
        sk.sendall(frame(3, 1, 2, struct.pack(">i", -1)))
        assert read_frame(sk) is None


def test_handshake_unknown_mechanism(sasl_server):
    with socket.create_connection(("127.0.0.1", sasl_server.port("kafka")), timeout=10) as sk:
        mech = b"GSSAPI"
        sk.sendall(frame(17, 1, 7, struct.pack(">h", len(mech)) + mech))
        body = read_frame(sk)
        corr, err, n = struct.unpack(">ihi", body[:10])
        assert (corr, err) == (7, 33)  # UNSUPPORTED_SASL_MECHANISM
        names, off = [], 10
        for _ in range(n):
            ln = struct.unpack(">h", body[off:off + 2])[0]
            names.append(body[off + 2:off + 2 + ln].decode())
            off += 2 + ln
        assert names == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def test_plain_failure_message_v1(fail_server):
    with socket.create_connection(("127.0.0.1", fail_server.port("kafka")), timeout=10) as sk:
        sk.sendall(frame(17, 1, 1, struct.pack(">h", 5) + b"PLAIN"))
        assert struct.unpack(">ih", read_frame(sk)[:6]) == (1, 0)
        tok = b"\0admin\0bad"
        sk.sendall(frame(36, 1, 2, struct.pack(">i", len(tok)) + tok))
        body = read_frame(sk)
        corr, err, ln = struct.unpack(">ihh", body[:8])
        assert (corr, err) == (2, 58)  # SASL_AUTHENTICATION_FAILED
        assert body[8:8 + ln] == b"Authentication failed: Invalid username or password"
        assert read_frame(sk) is None  # then closed


def test_users_survive_restart(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",),
                       extra=["--kafka.security.protocol=SASL_PLAINTEXT",
                              "--auth.admin.password=first"])
    try:
        roundtrip_confluent(s, "SCRAM-SHA-256", "r1", pw="first")
        s.stop()
        # The admin is created once: a different configured password later
        # does not replace the stored credential.
        s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",),
                           extra=["--kafka.security.protocol=SASL_PLAINTEXT",
                                  "--auth.admin.password=second"])
        roundtrip_confluent(s, "PLAIN", "r2", pw="first")
        raw = open(str(tmp_path / "d" / "users" / "users.journal"), "rb").read()
        assert b"first" not in raw and b"admin" in raw
    finally:
        s.stop()


KJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "kafka-node",
                   "kafkajs_sasl.js")


def kafkajs(s, mech, pw, topic):
    r = subprocess.run(["node", KJS, boot(s), mech, ADMIN, pw, topic], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return json.loads(r.stdout)


@pytest.mark.parametrize("mech", ["plain", "scram-sha-512"])
def test_kafkajs(sasl_server, mech):
    assert kafkajs(sasl_server, mech, ADMIN_PW, "kjs-" + mech) == {"got": ["one", "two"]}


def test_kafkajs_wrong_password(fail_server):
    out = kafkajs(fail_server, "scram-sha-512", "nope", "kjs-bad")
    assert out["error"] == "KafkaJSSASLAuthenticationError", out
    assert "SASL SCRAM SHA512 authentication failed" in out["message"], out


GOSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "kafka-go")


@pytest.fixture(scope="module")
def saramasasl(tmp_path_factory):
    d = tmp_path_factory.mktemp("saramasasl")
    exe = str(d / "saramasasl")
    env = dict(os.environ, GO111MODULE="off", GOPATH=os.path.abspath(GOSRC) + ":/usr/share/gocode",
               GOCACHE=str(d / "cache"), GOFLAGS="")
    r = subprocess.run(["go", "build", "-o", exe, "saramasasl"], cwd=GOSRC, env=env,
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return exe


def sarama(exe, s, mech, pw, topic):
    r = subprocess.run([exe, boot(s), mech, ADMIN, pw, topic], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return json.loads(r.stdout)


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-512"])
def test_sarama(sasl_server, saramasasl, mech):
    assert sarama(saramasasl, sasl_server, mech, ADMIN_PW, "sar-" + mech.lower()) == \
        {"got": ["one", "two"]}


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-512"])
def test_sarama_wrong_password(fail_server, saramasasl, mech):
    out = sarama(saramasasl, fail_server, mech, "nope", "sar-bad")
    # Sarama's ErrSASLAuthenticationFailed, from the broker's error code.
    assert out == {"error": "kafka server: SASL Authentication failed."}


def test_sluice_tool_user_password(sasl_server):
    # The tool (libsluice's librdkafka settings) over SASL_PLAINTEXT.
    env = dict(os.environ)
    env.pop("SLUICE_BROKERS", None)
    base = [sluice.SLUICE_CLI, "produce", "-b", boot(sasl_server), "--user", ADMIN,
            "--sasl-mechanism", "SCRAM-SHA-512", "-t", "tool-t"]
    r = subprocess.run(base + ["--password", ADMIN_PW], input=b"x1\nx2\n", capture_output=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    got = consume_all(sasl_server, "tool-t", 2)
    assert got == [b"x1", b"x2"]
    r = subprocess.run(base + ["--password", "bad-pw", "--timeout-ms", "5000"], input=b"y\n",
                       capture_output=True, timeout=60, env=env)
    assert r.returncode != 0


def consume_all(s, topic, n):
    c = Consumer(dict(conf(s, "PLAIN"), **{"group.id": "tool-" + topic,
                                           "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    return got
