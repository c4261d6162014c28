"""libsluice's beanstalkd and Redis paths over TLS with an ACL user (issue
14): the delay queue (go-zero dq) against sluiced's beanstalkd and RESP TLS
listeners, configured as a go-zero service would (CaFile, BeanstalkTls,
RedisTls, RedisUser, RedisPass); the sluice jobs commands with --tls-ca.
Certificates are made by the test (tls_util)."""
import os
import subprocess
import sys

import redis

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402
import tls_util  # noqa: E402

CHECK = os.path.join(sluice.LIBTESTS, "delay_check")


def check(*args, conf=""):
    env = dict(os.environ, DELAY_CHECK_CONF=conf)
    p = subprocess.run([CHECK] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60, env=env)
    for m in sluice.SANITIZER_MARKERS:
        assert m not in p.stderr, p.stderr
    return p


def cli(args, stdin=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    p = subprocess.run([sluice.SLUICE_CLI] + args, capture_output=True, text=True, timeout=60,
                       env=e, input=stdin)
    return p.returncode, p.stdout, p.stderr


def test_delay_queue_and_jobs_over_tls_with_acl_user(tmp_path):
    certs = tls_util.make_certs(str(tmp_path / "certs"))
    extra = tls_util.tls_args(certs) + ["--resp.tls.port=0", "--beanstalk.tls.port=0",
                                        "--auth.admin.password=adm"]
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp", "beanstalk"),
                        extra=extra) as sl:
        r = redis.Redis(port=sl.port("resp"), username="admin", password="adm")
        # The de-duplication user may only SET NX EX its own keys.
        assert r.execute_command("ACL", "SETUSER", "dq", "on", ">dq-pw", "~*", "-@all",
                                 "+set") == b"OK"
        r.close()
        node = "127.0.0.1:%d/remind" % sl.port("beanstalk.tls")
        rds = "dq-pw@127.0.0.1:%d" % sl.port("resp.tls")
        tls = "ca.file=%s;beanstalks.tls=true;redis.tls=true;redis.user=dq" % certs["ca"]
        p = check("schedule", node, rds, conf=tls)
        assert p.returncode == 0, p.stdout + p.stderr
        # The Redis path really authenticated as dq over TLS: its SETs ran.
        r = redis.Redis(port=sl.port("resp"), username="admin", password="adm")
        assert r.dbsize() > 0
        r.close()
        # Without TLS against the TLS port, the producer fails (no hang).
        p = check("produce", node, 0, "x", conf="")
        assert p.returncode != 0
        # A wrong Redis user: the consumer reports it (jobs skipped, not run).
        p = check("produce", node, 0, "dedupe-me", conf=tls)
        assert p.returncode == 0, p.stderr
        p = check("consume", node, rds, 1,
                  conf=tls.replace("redis.user=dq", "redis.user=nobody"))
        assert "WRONGPASS" in p.stdout and "job dedupe-me" not in p.stdout, p.stdout
        # The tool's jobs commands with --tls-ca.
        b = "127.0.0.1:%d" % sl.port("beanstalk.tls")
        rc, out, err = cli(["jobs", "put", "--beanstalk", b, "--tls-ca", certs["ca"],
                            "--tube", "t", "--body", "over-tls"])
        assert rc == 0, err
        rc, out, err = cli(["jobs", "reserve", "--beanstalk", b, "--tls-ca", certs["ca"],
                            "--tube", "t", "--delete"])
        assert rc == 0 and "over-tls" in out, (out, err)
