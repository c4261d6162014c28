"""SASL per Kafka listener: with kafka.listeners naming SASL_SSL,
SASL_PLAINTEXT and PLAINTEXT listeners at once, confluent-kafka
(librdkafka 2.0.2) authenticates with SCRAM-SHA-512 over TLS and with PLAIN
over TCP, a wrong password fails on both, a SASL listener closes a client
that skips SASL, and the PLAINTEXT listener serves without credentials (as
in Kafka: the listener, not the user database, decides who must log in)."""
import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

import sluice
import tls_util

ADMIN, ADMIN_PW = "admin", "listener-s3cret"


@pytest.fixture
def server(tmp_path):
    certs = tls_util.make_certs(str(tmp_path / "certs"))
    s = sluice.Sluiced(
        data_dir=str(tmp_path / "data"), listeners=("kafka",),
        extra=tls_util.tls_args(certs) + [
            "--kafka.listeners=SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
            "PLAINTEXT://127.0.0.1:0",
            "--auth.admin.user=" + ADMIN, "--auth.admin.password=" + ADMIN_PW,
            # The PLAINTEXT listener's clients are User:ANONYMOUS: with no
            # ACLs, Kafka's switch lets them in (docs/security.md, ACLs).
            "--allow.everyone.if.no.acl.found=true"])
    yield s, certs
    s.stop()


def conf(port, proto, mech, pw, certs):
    c = {"bootstrap.servers": "127.0.0.1:%d" % port, "security.protocol": proto,
         "sasl.mechanism": mech, "sasl.username": ADMIN, "sasl.password": pw}
    if proto == "SASL_SSL":
        c["ssl.ca.location"] = certs["ca"]
    return c


def roundtrip(c, topic):
    p = Producer(dict(c, **{"acks": "all"}))
    for i in range(5):
        p.produce(topic, value=b"%s-%d" % (topic.encode(), i))
    assert p.flush(30) == 0
    cons = Consumer(dict(c, **{"group.id": "g-" + topic, "auto.offset.reset": "earliest"}))
    cons.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < 5 and time.monotonic() < deadline:
        m = cons.poll(1.0)
        if m is not None and not m.error():
            got.append(m.value())
    cons.close()
    return got


def test_sasl_on_the_listeners_that_name_it(server):
    s, certs = server
    ssl_port, sasl_port = s.port("kafka.SASL_SSL"), s.port("kafka.SASL_PLAINTEXT")
    plain_port = s.port("kafka")
    assert roundtrip(conf(ssl_port, "SASL_SSL", "SCRAM-SHA-512", ADMIN_PW, certs), "over-tls") == \
        [b"over-tls-%d" % i for i in range(5)]
    assert roundtrip(conf(sasl_port, "SASL_PLAINTEXT", "PLAIN", ADMIN_PW, certs), "over-tcp") == \
        [b"over-tcp-%d" % i for i in range(5)]
    # The PLAINTEXT listener asks nothing and sees the same topics
    # (allowed by allow.everyone.if.no.acl.found: no ACL names them).
    got = roundtrip({"bootstrap.servers": "127.0.0.1:%d" % plain_port}, "over-tls")
    assert got[:5] == [b"over-tls-%d" % i for i in range(5)]
    # A client that skips SASL on a SASL listener is disconnected: a
    # Metadata v1 request before SaslHandshake gets no answer.
    with socket.create_connection(("127.0.0.1", sasl_port), timeout=10) as sk:
        body = struct.pack(">hhih", 3, 1, 7, 1) + b"x" + struct.pack(">i", -1)
        sk.sendall(struct.pack(">i", len(body)) + body)
        assert sk.recv(100) == b""


@pytest.mark.parametrize("proto", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_wrong_password_fails_on_each_sasl_listener(server, proto):
    s, certs = server
    port = s.port("kafka." + proto)
    bad = "not-the-Passw0rd"
    a = AdminClient(conf(port, proto, "SCRAM-SHA-512", bad, certs))
    with pytest.raises(KafkaException):
        a.list_topics(timeout=10)
    deadline = time.monotonic() + 10
    while "failed login of user 'admin'" not in s.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the server's log
    assert "failed login of user 'admin'" in s.stderr()
    assert bad not in s.stderr()
