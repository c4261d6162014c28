"""libsluice and the sluice tool against a TLS-only Kafka listener
(issue 14): --tls-ca on the command line and CaFile in a go-zero KqConf
YAML file; without the CA the tool fails instead of hanging."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402
import tls_util  # noqa: E402


def run(args, timeout=60):
    e = dict(os.environ)
    for k in ("SLUICE_BROKERS", "SLUICE_BEANSTALK", "SLUICE_HTTP"):
        e.pop(k, None)
    p = subprocess.run([sluice.SLUICE_CLI] + args, capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


def test_tool_over_ssl_listener(tmp_path):
    certs = tls_util.make_certs(str(tmp_path / "certs"))
    extra = tls_util.tls_args(certs) + ["--kafka.listeners=SSL://127.0.0.1:0"]
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",), extra=extra) as sl:
        b = "127.0.0.1:%d" % sl.port("kafka.SSL")
        rc, out, err = run(["produce", "-b", b, "--tls-ca", certs["ca"], "-t", "secure",
                            "--value", "over-tls"])
        assert rc == 0, err
        rc, out, err = run(["consume", "-b", b, "--tls-ca", certs["ca"], "-t", "secure",
                            "--from-beginning", "-n", "1"])
        assert rc == 0 and "over-tls" in out, (out, err)
        yaml = tmp_path / "kq.yaml"
        yaml.write_text("Brokers:\n  - %s\nTopic: secure\nCaFile: %s\n" % (b, certs["ca"]))
        rc, out, err = run(["consume", "--config", str(yaml), "-t", "secure",
                            "--from-beginning", "-n", "1"])
        assert rc == 0 and "over-tls" in out, (out, err)
        # Plaintext against the TLS port: a failure, not a hang.
        rc, out, err = run(["produce", "-b", b, "-t", "secure", "--value", "x",
                            "--timeout-ms", "3000"])
        assert rc != 0
