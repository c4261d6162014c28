"""ACL users over RESP, differential against Debian's redis-server 7.0: the
same ACL SETUSER/WHOAMI/USERS/DELUSER sequence, logins as users without
commands, keys or channels, and the NOPERM / WRONGPASS replies byte for byte.
Then what only sluice does: the ACL user's password works over Kafka SASL
(one user database), rules sluice cannot enforce are refused, rule changes
and the users survive a restart."""
import socket

import pytest
from confluent_kafka.admin import AdminClient

import sluice


def raw(port):
    sk = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sk, sk.makefile("rb")


def cmd(conn, *args):
    sk, f = conn
    out = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() if isinstance(x, str) else x
                                                   for x in args))
    sk.sendall(out)
    return read(f)


def read(f):
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        if n < 0:
            return line
        return line + f.read(n + 2)
    if line[:1] == b"*":
        n = int(line[1:])
        return line + b"".join(read(f) for _ in range(max(n, 0)))
    return line


SEQUENCE = [
    ("admin", ["ACL", "SETUSER", "nocmd", "on", ">p1", "~*", "&*", "-@all"]),
    ("admin", ["ACL", "SETUSER", "nokeys", "on", ">p2", "+@all", "resetchannels"]),
    ("admin", ["ACL", "SETUSER", "off1", "off", ">p3", "+@all", "~*"]),
    ("admin", ["ACL", "WHOAMI"]),
    ("admin", ["SET", "k", "v"]),
    ("nocmd", ["AUTH", "nocmd", "p1"]),
    ("nocmd", ["GET", "k"]),
    ("nocmd", ["PING"]),
    ("nocmd", ["CLIENT", "ID"]),
    ("nocmd", ["ACL", "WHOAMI"]),
    ("nokeys", ["AUTH", "nokeys", "p2"]),
    ("nokeys", ["GET", "k"]),
    ("nokeys", ["MSET", "a", "1", "b", "2"]),
    ("nokeys", ["PUBLISH", "news", "x"]),
    ("nokeys", ["PING"]),
    # A script runs its commands under its caller's ACL.
    ("nokeys", ["EVAL", "return redis.call('GET', 'k')", "0"]),
    ("nokeys", ["EVAL", "return redis.pcall('SET', 'k', 'x')", "0"]),
    ("nokeys", ["EVAL", "return redis.call('PUBLISH', 'news', 'x')", "0"]),
    ("nokeys", ["EVAL", "return redis.call('PING')", "0"]),
    ("admin", ["GET", "k"]),
    ("nokeys", ["ACL", "WHOAMI"]),
    ("off1", ["AUTH", "off1", "p3"]),
    ("off1", ["AUTH", "nokeys", "wrong"]),
    ("admin", ["ACL", "DELUSER", "nocmd", "off1", "ghost"]),
    ("admin", ["ACL", "USERS"]),
    ("admin", ["ACL", "DELUSER", "default"]),
    ("admin", ["ACL", "GETUSER", "ghost"]),
    ("admin", ["ACL", "SETUSER", "x", "bogus"]),
]


def run(port, admin_pw):
    conns = {}
    out = []
    for who, args in SEQUENCE:
        if who not in conns:
            conns[who] = raw(port)
            if who == "admin":
                assert cmd(conns[who], "AUTH", "admin", admin_pw) == b"+OK\r\n"
        out.append(cmd(conns[who], *args))
    for sk, _ in conns.values():
        sk.close()
    return out


def test_acl_differential(tmp_path):
    with sluice.redis_ref(["--user", "admin", "on", ">adm", "~*", "&*", "+@all"]) as ref:
        want = run(ref.port, "adm")
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp",),
                       extra=["--auth.admin.password=adm"])
    try:
        got = run(s.port("resp"), "adm")
    finally:
        s.stop()
    for (who, args), w, g in zip(SEQUENCE, want, got):
        assert g == w, (who, args, w, g)
    # Spot checks that the sequence exercised what it should.
    assert b"NOPERM this user has no permissions to run the 'get' command" in want[6]
    assert b"NOPERM" in want[11] and b"keys" in want[11]
    assert b"channels" in want[13]


def test_acl_user_logs_in_over_kafka_and_survives_restart(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp", "kafka"),
                       extra=["--auth.admin.password=adm",
                              "--kafka.security.protocol=SASL_PLAINTEXT"])
    try:
        a = raw(s.port("resp"))
        assert cmd(a, "AUTH", "admin", "adm") == b"+OK\r\n"
        assert cmd(a, "ACL", "SETUSER", "app", "on", ">app-pw", "~*", "&*", "+@all") == b"+OK\r\n"
        # Partial grants are refused, not stored unenforced.
        r = cmd(a, "ACL", "SETUSER", "app", "~app:*")
        assert r.startswith(b"-ERR Error in ACL SETUSER modifier '~app:*'"), r
        admin = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % s.port("kafka"),
                             "security.protocol": "SASL_PLAINTEXT",
                             "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "app",
                             "sasl.password": "app-pw"})
        assert admin.list_topics(timeout=10) is not None
        # A rule change applies at once to a connected client.
        b = raw(s.port("resp"))
        assert cmd(b, "AUTH", "app", "app-pw") == b"+OK\r\n"
        assert cmd(b, "SET", "x", "1") == b"+OK\r\n"
        assert cmd(a, "ACL", "SETUSER", "app", "resetkeys") == b"+OK\r\n"
        assert cmd(b, "GET", "x").startswith(b"-NOPERM")
        s.restart()
        c = raw(s.port("resp"))
        assert cmd(c, "AUTH", "app", "app-pw") == b"+OK\r\n"
        assert cmd(c, "GET", "x").startswith(b"-NOPERM")
        assert cmd(c, "ACL", "WHOAMI") == b"$3\r\napp\r\n"
        # A deleted user's connection is closed.
        d = raw(s.port("resp"))
        assert cmd(d, "AUTH", "admin", "adm") == b"+OK\r\n"
        assert cmd(d, "ACL", "DELUSER", "app") == b":1\r\n"
        assert cmd(c, "PING").startswith(b"-ERR")
        assert c[1].readline() == b""
    finally:
        s.stop()
