"""The sluiced process itself: READY line, --help, config errors, the data
directory lock, clean shutdown marker, and a disabled listener."""
import os
import signal
import socket
import subprocess

import pytest

import sluice


def run(args, timeout=20):
    return subprocess.run([sluice.SLUICED] + args, capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_setting_with_default():
    r = run(["--help"])
    assert r.returncode == 0
    for key in ("data.dir", "bind", "kafka.port", "resp.port", "beanstalk.port", "http.port",
                "fsync", "ready.fd", "log.segment.bytes", "num.partitions", "max-job-size"):
        assert "--" + key in r.stdout, key
    assert "(default: always)" in r.stdout
    assert "(default: 9092)" in r.stdout


@pytest.mark.parametrize("flag,key", [
    ("--kafka-port=99999", "kafka.port"),
    ("--fsync=sometimes", "fsync"),
    ("--num.partitions=0", "num.partitions"),
    ("--log-level=loud", "log.level"),
    ("--no-such-setting=1", "no-such-setting"),
])
def test_bad_config_value_is_one_line_naming_the_key(tmp_path, flag, key):
    r = run(["--data-dir=%s" % tmp_path, flag])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert key in lines[0]


def test_bad_value_in_config_file(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("# sluice\nkafka.port = 0\nfsync = weekly\n")
    r = run(["--config", str(conf), "--data-dir=%s" % tmp_path])
    assert r.returncode == 2
    assert "fsync" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ready_line_lists_enabled_listeners_and_they_accept(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka", "beanstalk"))
    try:
        assert set(s.ports) == {"kafka", "beanstalk"}
        for name, port in s.ports.items():
            assert 0 < port < 65536
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
    finally:
        s.stop()


def test_config_file_sets_ports(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("kafka.port = off\nresp.port = off\nbeanstalk.port = 0\nhttp.port = off\n")
    rfd, wfd = os.pipe()
    p = subprocess.Popen([sluice.SLUICED, "--config=%s" % conf, "--data-dir=%s" % (tmp_path / "d"),
                          "--ready-fd=%d" % wfd], pass_fds=(wfd,), stderr=subprocess.PIPE)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        line = r.readline()
    assert line.startswith("READY beanstalk=") and len(line.split()) == 2, line
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 0


def test_data_dir_in_use_is_refused(tmp_path):
    d = str(tmp_path / "d")
    s = sluice.Sluiced(data_dir=d)
    try:
        r = run(["--data-dir=" + d, "--kafka-port=0", "--resp-port=0", "--beanstalk-port=0",
                 "--http-port=0"])
        assert r.returncode != 0
        assert "in use" in r.stderr
        # The first server is unaffected.
        with socket.create_connection(("127.0.0.1", s.port("kafka")), timeout=5):
            pass
    finally:
        s.stop()


def test_clean_shutdown_marker(tmp_path):
    d = tmp_path / "d"
    s = sluice.Sluiced(data_dir=str(d))
    assert not (d / "CLEAN").exists()
    s.stop(signal.SIGTERM)
    assert (d / "CLEAN").exists()
    s.start()
    # The marker is consumed at start so that a crash is never taken as clean.
    assert not (d / "CLEAN").exists()
    assert "clean shutdown last time" in s.stderr()
    s.kill()
    assert not (d / "CLEAN").exists()
    s.start()
    assert "recovering" in s.stderr().splitlines()[-1] or "recovering" in s.stderr()
    s.stop(signal.SIGINT)
    assert (d / "CLEAN").exists()


def test_sigkill_leaves_no_stale_lock(tmp_path):
    d = str(tmp_path / "d")
    s = sluice.Sluiced(data_dir=d)
    s.kill()
    s.start()
    s.stop()


def test_http_health_and_metrics(server):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", server.port("http"), timeout=5)
    c.request("GET", "/health")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"ok\n"
    c.request("GET", "/metrics")  # same keep-alive connection
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 200
    assert "sluice_connections 1" in body
    assert "sluice_http_requests_total 2" in body  # counts this request too
    c.request("GET", "/nope")
    assert c.getresponse().status == 404
    c.close()
    with socket.create_connection(("127.0.0.1", server.port("http")), timeout=5) as s:
        s.sendall(b"garbage\r\n\r\n")
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 400")
        assert s.recv(4096) == b""  # closed after a malformed request
