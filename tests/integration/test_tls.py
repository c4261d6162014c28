"""TLS on every listener (issue 14): real clients over TLS against
listeners configured per listener — redis-cli --tls and redis-py,
confluent-kafka with security.protocol=SSL next to a PLAINTEXT listener,
beanstalkd commands over Python's ssl (and a listener that requires a
client certificate), HTTPS. A failed or stalled handshake closes only that
connection, logged at info with the peer; SIGHUP reloads the
certificates for new connections."""
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest
import redis
from confluent_kafka import Consumer, Producer

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402
import tls_util  # noqa: E402


@pytest.fixture
def certs(tmp_path):
    return tls_util.make_certs(str(tmp_path / "certs"))


def wait_log(sl, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in sl.stderr():
            return True
        time.sleep(0.02)
    return False


def tls_server(tmp_path, certs, listeners=("kafka", "resp", "beanstalk", "http"), extra=()):
    args = tls_util.tls_args(certs)
    for name in ("resp", "beanstalk", "http"):
        if name in listeners:
            args.append("--%s.tls.port=0" % name)
    return sluice.Sluiced(data_dir=str(tmp_path / "data"), listeners=listeners,
                          extra=args + list(extra))


def bstk_cmd(sock, line, body=None):
    data = line.encode() + b"\r\n"
    if body is not None:
        data += body + b"\r\n"
    sock.sendall(data)
    buf = b""
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n")
    if head.startswith(b"RESERVED"):
        n = int(head.split()[2])
        while len(rest) < n + 2:
            rest += sock.recv(4096)
        return head, rest[:n]
    return head, None


def test_redis_cli_and_redis_py_over_tls(tmp_path, certs):
    with tls_server(tmp_path, certs, listeners=("resp",)) as sl:
        port = sl.port("resp.tls")
        out = subprocess.run(["redis-cli", "--tls", "--cacert", certs["ca"], "-h", "127.0.0.1",
                              "-p", str(port), "SET", "tlskey", "v1"],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "OK", out
        r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs["ca"])
        assert r.get("tlskey") == b"v1"
        # A pipeline big enough for many TLS records each way.
        p = r.pipeline(transaction=False)
        big = os.urandom(300_000)
        for i in range(20):
            p.set("big%d" % i, big)
        p.execute()
        p = r.pipeline(transaction=False)
        for i in range(20):
            p.get("big%d" % i)
        assert all(v == big for v in p.execute())
        # The plaintext listener still serves the same data.
        assert redis.Redis(port=sl.port("resp")).get("tlskey") == b"v1"
        # A plaintext client on the TLS port gets nothing and is logged.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"PING\r\n")
            got = b""
            try:
                while True:
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
            assert b"PONG" not in got  # at most a TLS alert, then closed
        assert wait_log(sl, "TLS handshake failed (tls listener)")
        assert r.ping()


def test_kafka_ssl_and_plaintext_listeners(tmp_path, certs):
    extra = ["--kafka.listeners=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0"]
    with tls_server(tmp_path, certs, listeners=("kafka",), extra=extra) as sl:
        ssl_port, plain_port = sl.port("kafka.SSL"), sl.port("kafka")
        assert ssl_port != plain_port
        conf = {"bootstrap.servers": "127.0.0.1:%d" % ssl_port, "security.protocol": "SSL",
                "ssl.ca.location": certs["ca"]}
        p = Producer(dict(conf, **{"linger.ms": 5}))
        value = os.urandom(1024)
        for i in range(2000):
            p.produce("tls-topic", value=value, key=b"%d" % i)
        assert p.flush(30) == 0
        got = 0
        c = Consumer(dict(conf, **{"group.id": "g-tls", "auto.offset.reset": "earliest",
                                   "fetch.max.bytes": 4 << 20}))
        c.subscribe(["tls-topic"])
        deadline = time.monotonic() + 60
        while got < 2000 and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            assert m.value() == value
            got += 1
        c.close()
        assert got == 2000
        # The same records through the PLAINTEXT listener.
        c = Consumer({"bootstrap.servers": "127.0.0.1:%d" % plain_port, "group.id": "g-plain",
                      "auto.offset.reset": "earliest"})
        c.subscribe(["tls-topic"])
        deadline = time.monotonic() + 30
        m = None
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is not None and not m.error():
                break
        c.close()
        assert m is not None and m.value() == value


def test_beanstalk_over_tls_and_client_cert_required(tmp_path, certs):
    extra = ["--beanstalk.tls.client.auth=required", "--tls.ca.file=" + certs["ca"]]
    with tls_server(tmp_path, certs, listeners=("beanstalk",), extra=extra) as sl:
        port = sl.port("beanstalk.tls")
        ctx = tls_util.client_context(certs, with_cert=True)
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="127.0.0.1") as s:
            head, _ = bstk_cmd(s, "put 0 0 60 5", b"hello")
            assert head.startswith(b"INSERTED")
            head, body = bstk_cmd(s, "reserve-with-timeout 5")
            assert head.startswith(b"RESERVED") and body == b"hello"
        # No client certificate: refused (TLS 1.3 reports it on the first
        # read), logged with the peer; other clients are not affected.
        ctx = tls_util.client_context(certs)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                 server_hostname="127.0.0.1") as s:
                bstk_cmd(s, "put 0 0 60 1", b"x")
        assert wait_log(sl, "TLS handshake failed (tls listener)")
        with socket.create_connection(("127.0.0.1", sl.port("beanstalk")), timeout=10) as s:
            assert bstk_cmd(s, "stats-tube default")[0].startswith(b"OK")


def test_https_and_tls_versions(tmp_path, certs):
    with tls_server(tmp_path, certs, listeners=("http",)) as sl:
        port = sl.port("http.tls")
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                           context=tls_util.client_context(certs))
        conn.request("GET", "/health")
        resp = conn.getresponse()
        assert resp.status == 200
        resp.read()
        conn.close()
        # TLS 1.1 is refused; 1.2 and 1.3 work.
        for version, ok in ((ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_3, True)):
            ctx = tls_util.client_context(certs)
            ctx.minimum_version = ctx.maximum_version = version
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                 server_hostname="127.0.0.1") as s:
                assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                                       ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                              "-tls1_1"], input="", capture_output=True, text=True, timeout=30)
        assert "Cipher is (NONE)" in out.stdout or out.returncode != 0


def test_stalled_handshake_times_out_others_unaffected(tmp_path, certs):
    with tls_server(tmp_path, certs, listeners=("resp",),
                    extra=["--tls.handshake.timeout.ms=2000"]) as sl:
        port = sl.port("resp.tls")
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs["ca"])
        assert r.set("k", "v")
        t0 = time.monotonic()
        assert idle.recv(10) == b""  # closed by the server
        assert time.monotonic() - t0 < 15
        idle.close()
        assert wait_log(sl, "TLS handshake failed (tls listener): not finished in time")
        assert r.get("k") == b"v"


def test_sighup_reloads_certificates(tmp_path, certs):
    with tls_server(tmp_path, certs, listeners=("resp",)) as sl:
        port = sl.port("resp.tls")

        def server_cn():
            ctx = tls_util.client_context(certs)
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                 server_hostname="127.0.0.1") as s:
                subject = dict(x[0] for x in s.getpeercert()["subject"])
                return subject["commonName"]

        assert server_cn() == "sluice-test-server"
        old = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs["ca"])
        assert old.set("a", "1")
        tls_util.make_certs(os.path.dirname(certs["ca"]), server_cn="sluice-rotated")
        sl.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while server_cn() != "sluice-rotated":
            assert time.monotonic() < deadline, "certificate not reloaded"
            time.sleep(0.05)
        assert old.get("a") == b"1"  # the open connection keeps working
        # A broken file on reload keeps the working certificate.
        with open(certs["cert"], "w") as f:
            f.write("not a certificate\n")
        sl.proc.send_signal(signal.SIGHUP)
        assert wait_log(sl, "TLS reload failed, keeping the previous certificates")
        assert server_cn() == "sluice-rotated"


def test_bad_tls_config_is_one_line(tmp_path, certs):
    args = [sluice.SLUICED, "--data-dir=" + str(tmp_path / "d"), "--kafka-port=off",
            "--beanstalk-port=off", "--http-port=off", "--resp-port=0", "--resp.tls.port=0",
            "--tls.cert.file=" + str(tmp_path / "missing.crt"), "--tls.key.file=" + certs["key"]]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "resp tls listener: certificate" in out.stderr and "missing.crt" in out.stderr
    args[-2:] = ["--kafka.listeners=TLS://127.0.0.1:0"]
    args[2] = "--kafka-port=0"
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "unknown security protocol 'TLS'" in out.stderr
    args[-1] = "--kafka.listeners=SSL://127.0.0.1:0,SSL://127.0.0.1:0"
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "SSL is listed twice" in out.stderr
