"""`make install` and the examples: the library, headers, pkg-config file
and tool are installed under a temporary prefix, examples/ is built against
that installation with pkg-config alone, and the login-log pipeline runs
against a real sluiced (a producer pushing keyed JSON events, two workers
of one consumer group sharing them)."""
import os
import shutil
import signal
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient

import sluice

SAN = "-fsanitize=address,undefined"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Installs the sanitizer build (the one the tests run) under a fresh
    prefix, then builds a copy of examples/ against it."""
    prefix = tmp_path_factory.mktemp("prefix")
    r = subprocess.run(["make", "-s", "--no-print-directory", "install", "MODE=asan",
                        "PREFIX=%s" % prefix], cwd=sluice.ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    ex = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(os.path.join(sluice.ROOT, "examples"), ex)
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    r = subprocess.run(["make", "-s", "CFLAGS=-g -O1 -Wall -Wextra -Werror " + SAN, "LDFLAGS=" + SAN],
                       cwd=ex, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return prefix, ex


def test_install_layout(installed):
    prefix, _ = installed
    for f in ("bin/sluice", "bin/sluiced", "lib/libsluice.a", "lib/libsluice.so",
              "lib/libsluice.so.0", "lib/pkgconfig/sluice.pc", "include/sluice/sluice.h",
              "include/sluice/pusher.h", "include/sluice/queue.h", "include/sluice/delay.h"):
        assert (prefix / f).exists(), f
    pc = (prefix / "lib/pkgconfig/sluice.pc").read_text()
    assert "prefix=%s\n" % prefix in pc
    # Only the public API is exported from the shared library.
    nm = subprocess.run(["nm", "-D", "--defined-only", str(prefix / "lib/libsluice.so")],
                        capture_output=True, text=True, check=True).stdout
    names = [l.split()[-1] for l in nm.splitlines() if " T " in l]
    assert "sl_pusher_new" in names and "sl_conf_load_yaml" in names
    assert all(n.startswith("sl_") for n in names), [n for n in names if not n.startswith("sl_")]
    out = subprocess.run([str(prefix / "bin/sluice"), "--version"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.startswith("sluice ")


def write_conf(path, text, server):
    path.write_text(text.replace("localhost:9092", "127.0.0.1:%d" % server.port("kafka")))
    return str(path)


def group_members(server, group):
    a = KafkaAdminClient(bootstrap_servers="127.0.0.1:%d" % server.port("kafka"))
    try:
        d = a.describe_consumer_groups([group])[0]
        return d.state, len(d.members)
    finally:
        a.close()


def test_login_log_pipeline(installed, tmp_path):
    _, ex = installed
    srv = sluice.Sluiced(data_dir=str(tmp_path / "data"),
                         extra=["--group.initial.rebalance.delay.ms=0"])
    try:
        AdminClient({"bootstrap.servers": "127.0.0.1:%d" % srv.port("kafka")}).create_topics(
            [NewTopic("login-events", 4, 1)])["login-events"].result(30)
        wconf = write_conf(tmp_path / "worker.yaml", (ex / "login-log/worker.yaml").read_text(), srv)
        pconf = write_conf(tmp_path / "pusher.yaml", (ex / "login-log/pusher.yaml").read_text(), srv)
        workers = []
        for i in range(2):
            out = open(tmp_path / ("w%d.out" % i), "w+")
            err = open(tmp_path / ("w%d.err" % i), "w+")
            workers.append((subprocess.Popen([str(ex / "login-log/worker"), wconf],
                                             stdout=out, stderr=err), out, err))
        deadline = time.monotonic() + 30
        while group_members(srv, "login-log") != ("Stable", 2):
            assert time.monotonic() < deadline, "workers never formed a stable group of 2"
            time.sleep(0.1)
        n = 400
        r = subprocess.run([str(ex / "login-log/producer"), pconf, str(n)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("pushed %d events" % n), r.stdout
        assert r.stderr == ""

        def handled():
            seen = {}
            for _, out, _ in workers:
                out.seek(0)
                for line in out.read().splitlines():
                    f = dict(kv.split("=", 1) for kv in line.split(" ")[1:4])
                    seen.setdefault(int(f["partition"]), []).append(
                        (int(f["offset"]), f["key"], line))
            return seen

        deadline = time.monotonic() + 30
        while sum(len(v) for v in handled().values()) < n:
            assert time.monotonic() < deadline, "not every event was handled"
            time.sleep(0.1)
        for p, _, _ in workers:
            p.send_signal(signal.SIGTERM)
        for p, out, err in workers:
            assert p.wait(timeout=30) == 0
            err.seek(0)
            e = err.read()
            assert "handled" in e and "ERROR" not in e and "runtime error" not in e, e
        seen = handled()
        # Every event exactly once (no rebalance happened after the producer
        # started), and each user on one partition.
        lines = [l for v in seen.values() for _, _, l in v]
        seqs = sorted(int(l.split('"seq":')[1].split(",")[0]) for l in lines)
        assert seqs == list(range(n))
        key_part = {}
        for p, v in seen.items():
            for _, key, _ in v:
                assert key_part.setdefault(key, p) == p, key
        # Both members of the group did work.
        for _, out, _ in workers:
            out.seek(0)
            assert out.read().count("\n") > 0
    finally:
        srv.stop()


def test_reminder_service(installed, tmp_path):
    """examples/reminder on two sluiced nodes, de-duplicated through the
    first node's RESP port: every reminder runs once, the revoked one never."""
    _, ex = installed
    a = sluice.Sluiced(data_dir=str(tmp_path / "a"))
    b = sluice.Sluiced(data_dir=str(tmp_path / "b"), listeners=("beanstalk",))
    try:
        nodes = "127.0.0.1:%d/reminders,127.0.0.1:%d/reminders" % (
            a.port("beanstalk"), b.port("beanstalk"))
        r = subprocess.run([str(ex / "reminder/reminder"), nodes,
                            "127.0.0.1:%d" % a.port("resp"), "6"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
        ran = [l for l in r.stdout.splitlines() if l.startswith("reminder ")]
        assert len(ran) == 6, r.stdout
        nums = sorted(int(l.split("#")[1].split(",")[0]) for l in ran)
        assert nums == list(range(1, 7)), r.stdout
        assert "scheduled and cancelled" in r.stdout
    finally:
        a.stop()
        b.stop()
