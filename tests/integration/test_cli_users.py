"""`sluice users add|list|delete|passwd` (issue 14): the one user database
managed with the tool over sluiced's RESP port (ACL SETUSER/DELUSER as the
admin), the password read without echo from a terminal, and the result
checked with real clients: redis-py AUTH and confluent-kafka over SASL
SCRAM-SHA-512 with the same user. Over TLS with --tls-ca."""
import os
import pty
import select
import subprocess
import sys
import time

import redis
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402
import tls_util  # noqa: E402

ADMIN = ["--user", "admin", "--password", "adm"]


def run(args, stdin=None, timeout=60):
    e = dict(os.environ)
    for k in ("SLUICE_REDIS", "SLUICE_BROKERS"):
        e.pop(k, None)
    p = subprocess.run([sluice.SLUICE_CLI] + args, capture_output=True, text=True,
                       timeout=timeout, env=e, input=stdin)
    for m in sluice.SANITIZER_MARKERS:
        assert m not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr


def can_auth(port, user, pw):
    r = redis.Redis(port=port, username=user, password=pw, socket_timeout=10)
    try:
        return r.ping()
    except (redis.AuthenticationError, redis.exceptions.ResponseError) as e:
        assert "WRONGPASS" in str(e) or isinstance(e, redis.AuthenticationError), e
        return False
    finally:
        r.close()


def kafka_ok(port, user, pw):
    a = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % port,
                     "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                     "sasl.username": user, "sasl.password": pw})
    try:
        a.list_topics(timeout=8)
        return True
    except Exception:
        return False


def test_users_add_list_passwd_delete(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp", "kafka"),
                       extra=["--auth.admin.password=adm",
                              "--kafka.security.protocol=SASL_PLAINTEXT"])
    try:
        rp, kp = s.port("resp"), s.port("kafka")
        R = ["--redis", "127.0.0.1:%d" % rp] + ADMIN
        rc, out, err = run(["users", "add", "app", "--new-password", "pw-1"] + R)
        assert rc == 0, err
        assert can_auth(rp, "app", "pw-1") and kafka_ok(kp, "app", "pw-1")
        rc, out, err = run(["users", "list"] + R)
        assert rc == 0 and out.split() == ["admin", "app", "default"], (out, err)
        rc, out, err = run(["users", "list", "--long"] + R)
        assert rc == 0 and "user app on #" in out and "~* &* +@all" in out, out
        # Adding twice is refused; rules can be given.
        rc, out, err = run(["users", "add", "app", "--new-password", "x"] + R)
        assert rc == 1 and "user 'app' exists" in err
        rc, out, err = run(["users", "add", "ro", "--rules", "~pub:* -@all +get"] + R,
                           stdin="ro-pw\n")
        assert rc == 0, err
        r = redis.Redis(port=rp, username="ro", password="ro-pw", socket_timeout=10)
        assert r.get("pub:1") is None
        try:
            r.set("pub:1", "x")
            raise AssertionError("SET allowed")
        except redis.exceptions.NoPermissionError:
            pass
        r.close()
        # passwd from stdin replaces the password, over Kafka too.
        rc, out, err = run(["users", "passwd", "app"] + R, stdin="pw-2\n")
        assert rc == 0, err
        assert not can_auth(rp, "app", "pw-1") and can_auth(rp, "app", "pw-2")
        assert kafka_ok(kp, "app", "pw-2") and not kafka_ok(kp, "app", "pw-1")
        rc, out, err = run(["users", "passwd", "ghost", "--new-password", "x"] + R)
        assert rc == 1 and "no user 'ghost'" in err
        # The admin's credentials are checked; no password is ever printed.
        rc, out, err = run(["users", "list", "--redis", "127.0.0.1:%d" % rp, "--user", "admin",
                            "--password", "bad"])
        assert rc == 1 and "WRONGPASS" in err
        rc, out, err = run(["users", "delete", "app"] + R)
        assert rc == 0, err
        assert not can_auth(rp, "app", "pw-2")
        rc, out, err = run(["users", "delete", "app"] + R)
        assert rc == 1 and "no user 'app'" in err
        assert "pw-1" not in s.stderr() and "pw-2" not in s.stderr()
    finally:
        s.stop()


def test_passwd_prompts_without_echo(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp",),
                       extra=["--auth.admin.password=adm"])
    try:
        rp = s.port("resp")
        R = ["--redis", "127.0.0.1:%d" % rp] + ADMIN
        assert run(["users", "add", "tty", "--new-password", "old"] + R)[0] == 0
        master, slave = pty.openpty()
        p = subprocess.Popen([sluice.SLUICE_CLI, "users", "passwd", "tty"] + R, stdin=slave,
                             stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        seen = b""

        def read_until(text, deadline):
            nonlocal seen
            while text not in seen:
                assert time.monotonic() < deadline, seen
                if select.select([master], [], [], 0.5)[0]:
                    try:
                        seen += os.read(master, 1024)
                    except OSError:
                        break
            return seen

        deadline = time.monotonic() + 30
        read_until(b"New password for tty: ", deadline)
        os.write(master, b"s3cret-typed\n")
        read_until(b"Retype the password: ", deadline)
        os.write(master, b"s3cret-typed\n")
        assert p.wait(timeout=30) == 0, seen
        try:
            while select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 1024)
        except OSError:
            pass
        os.close(master)
        assert b"s3cret-typed" not in seen, seen  # echo was off
        assert can_auth(rp, "tty", "s3cret-typed") and not can_auth(rp, "tty", "old")
    finally:
        s.stop()


def test_users_over_tls(tmp_path):
    certs = tls_util.make_certs(str(tmp_path / "certs"))
    extra = tls_util.tls_args(certs) + ["--resp.tls.port=0", "--auth.admin.password=adm"]
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp",), extra=extra) as sl:
        addr = "127.0.0.1:%d" % sl.port("resp.tls")
        rc, out, err = run(["users", "add", "t", "--new-password", "tp", "--redis", addr,
                            "--tls-ca", certs["ca"]] + ADMIN)
        assert rc == 0, err
        rc, out, err = run(["users", "list", "--redis", addr, "--tls-ca", certs["ca"]] + ADMIN)
        assert rc == 0 and "t" in out.split(), (out, err)
        # Plaintext against the TLS port fails instead of hanging, and a
        # CA that did not sign the server is refused.
        rc, out, err = run(["users", "list", "--redis", addr, "--timeout-ms", "3000"] + ADMIN)
        assert rc == 1
        other = tls_util.make_certs(str(tmp_path / "other"), server_cn="x")
        rc, out, err = run(["users", "list", "--redis", addr, "--tls-ca", other["ca"]] + ADMIN)
        assert rc == 1 and "certificate verification failed" in err, err
