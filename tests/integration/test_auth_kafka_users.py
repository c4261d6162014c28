"""AlterUserScramCredentials / DescribeUserScramCredentials (raw frames:
the Debian clients predate them) against the real sluiced: an admin adds a
SCRAM-SHA-512 user that confluent-kafka then logs in as, Describe lists it
with its iterations, Kafka's errors for bad requests, deletion locks the
user out, the change survives a restart, and an unauthenticated
connection (PLAINTEXT listener) may not change credentials once users
exist."""
import hashlib
import hmac
import os
import socket
import struct

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

import sluice
from kafka_util import cstr, read_cstr, read_uvarint, uvarint

ADMIN_PW = "adm-pw-1"


class Conn:
    def __init__(self, port):
        self.sk = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.corr = 0

    def call(self, api, ver, body, flex):
        self.corr += 1
        hdr = struct.pack(">hhih", api, ver, self.corr, 1) + b"t" + (b"\0" if flex else b"")
        msg = hdr + body
        self.sk.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", self._read(4))[0]
        resp = self._read(n)
        assert struct.unpack(">i", resp[:4])[0] == self.corr
        return resp[5:] if flex else resp[4:]  # header v1 has a tag section

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.sk.recv(n - len(b))
            if not c:
                raise ConnectionError("closed")
            b += c
        return b

    def login(self, user, pw):
        assert self.call(17, 1, struct.pack(">h", 5) + b"PLAIN", False)[:2] == b"\0\0"
        tok = b"\0" + user.encode() + b"\0" + pw.encode()
        r = self.call(36, 1, struct.pack(">i", len(tok)) + tok, False)
        assert r[:2] == b"\0\0", r

    def alter(self, deletions=(), upsertions=()):
        body = uvarint(len(deletions) + 1)
        for name, mech in deletions:
            body += cstr(name) + struct.pack(">b", mech) + b"\0"
        body += uvarint(len(upsertions) + 1)
        for name, mech, it, salt, salted in upsertions:
            body += cstr(name) + struct.pack(">bi", mech, it) + cstr(salt) + cstr(salted) + b"\0"
        body += b"\0"
        r = self.call(51, 0, body, True)
        n, off = read_uvarint(r, 4)
        out = {}
        for _ in range(n - 1):
            user, off = read_cstr(r, off)
            err = struct.unpack(">h", r[off:off + 2])[0]
            msg, off = read_cstr(r, off + 2)
            off += 1
            out[user] = (err, msg)
        return out

    def describe(self, names=None):
        body = (uvarint(0) if names is None else
                uvarint(len(names) + 1) + b"".join(cstr(n) + b"\0" for n in names)) + b"\0"
        r = self.call(50, 0, body, True)
        err = struct.unpack(">h", r[4:6])[0]
        _, off = read_cstr(r, 6)
        n, off = read_uvarint(r, off)
        out = {}
        for _ in range(n - 1):
            user, off = read_cstr(r, off)
            uerr = struct.unpack(">h", r[off:off + 2])[0]
            msg, off = read_cstr(r, off + 2)
            k, off = read_uvarint(r, off)
            creds = []
            for _ in range(k - 1):
                creds.append(struct.unpack(">bi", r[off:off + 5]))
                off += 6
            off += 1
            out[user] = (uerr, msg, creds)
        return err, out


def scram512(pw, it=8192):
    salt = os.urandom(32)
    return salt, hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, it)


def can_login(s, user, pw, mech="SCRAM-SHA-512"):
    a = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % s.port("kafka"),
                     "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mech,
                     "sasl.username": user, "sasl.password": pw})
    try:
        a.list_topics(timeout=8)
        return True
    except KafkaException:
        return False


@pytest.fixture
def srv(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",),
                       extra=["--kafka.security.protocol=SASL_PLAINTEXT",
                              "--auth.admin.password=" + ADMIN_PW])
    yield s
    s.stop()


def test_add_describe_delete_user(srv):
    c = Conn(srv.port("kafka"))
    c.login("admin", ADMIN_PW)
    salt, salted = scram512("bob-pw")
    assert c.alter(upsertions=[("bob", 2, 8192, salt, salted)]) == {"bob": (0, None)}
    assert can_login(srv, "bob", "bob-pw")
    assert not can_login(srv, "bob", "bob-pw", "SCRAM-SHA-256")  # no such credential
    err, users = c.describe()
    assert err == 0
    assert users["bob"] == (0, None, [(2, 8192)])
    assert users["admin"] == (0, None, [(1, 4096), (2, 4096)])
    err, users = c.describe(["bob", "nobody"])
    assert users["nobody"] == (91, "Attempt to describe a user credential that does not exist", [])
    # Kafka's errors.
    r = c.alter(upsertions=[("eve", 2, 100, salt, salted)])
    assert r == {"eve": (93, "Too few iterations")}
    r = c.alter(upsertions=[("eve", 3, 8192, salt, salted)])
    assert r == {"eve": (33, "Unknown SCRAM mechanism")}
    r = c.alter(deletions=[("eve", 1)])
    assert r == {"eve": (91, "Attempt to delete a user credential that does not exist")}
    assert c.alter(deletions=[("bob", 2)]) == {"bob": (0, None)}
    assert not can_login(srv, "bob", "bob-pw")
    err, users = c.describe(["bob"])
    assert users["bob"][0] == 91


def test_user_survives_restart(srv):
    c = Conn(srv.port("kafka"))
    c.login("admin", ADMIN_PW)
    salt, salted = scram512("carol-pw", 4096)
    assert c.alter(upsertions=[("carol", 2, 4096, salt, salted)]) == {"carol": (0, None)}
    srv.restart()
    assert can_login(srv, "carol", "carol-pw")


def test_unauthenticated_may_not_alter(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",),
                       extra=["--auth.admin.password=" + ADMIN_PW])
    try:
        c = Conn(s.port("kafka"))  # PLAINTEXT listener: no login
        salt, salted = scram512("x")
        assert c.alter(upsertions=[("mallory", 2, 4096, salt, salted)]) == {"mallory": (31, None)}
        assert c.describe()[0] == 31
    finally:
        s.stop()


def test_first_user_on_empty_database(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",))
    try:
        c = Conn(s.port("kafka"))
        salt, salted = scram512("first")
        assert c.alter(upsertions=[("first", 2, 4096, salt, salted)]) == {"first": (0, None)}
        # Now a user exists: the open listener may not add another.
        assert c.alter(upsertions=[("second", 2, 4096, salt, salted)]) == {"second": (31, None)}
    finally:
        s.stop()
