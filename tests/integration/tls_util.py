"""Test certificates, made with the openssl command line for each test run
(no private key is ever committed): a CA, a server certificate for
127.0.0.1/localhost, and a client certificate, all signed by the CA."""
import os
import ssl
import subprocess


def _run(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _leaf(d, name, cn, ext):
    _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
         "-subj", "/CN=" + cn, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", name + ".crt", "-extfile", name + ".ext", cwd=d)


def make_certs(d, server_cn="sluice-test-server"):
    """Writes ca.crt, server.crt/.key, client.crt/.key into d; returns a
    dict of their paths."""
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, "ca.crt")):
        _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=sluice-test-ca", cwd=d)
    _leaf(d, "server", server_cn,
          "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    if not os.path.exists(os.path.join(d, "client.crt")):
        _leaf(d, "client", "sluice-test-client", "extendedKeyUsage=clientAuth\n")
    return {k: os.path.join(d, f) for k, f in (
        ("ca", "ca.crt"), ("cert", "server.crt"), ("key", "server.key"),
        ("client_cert", "client.crt"), ("client_key", "client.key"))}


def tls_args(certs, **extra):
    args = ["--tls.cert.file=" + certs["cert"], "--tls.key.file=" + certs["key"]]
    for k, v in extra.items():
        args.append("--%s=%s" % (k.replace("_", "."), v))
    return args


def client_context(certs, with_cert=False):
    ctx = ssl.create_default_context(cafile=certs["ca"])
    if with_cert:
        ctx.load_cert_chain(certs["client_cert"], certs["client_key"])
    return ctx
