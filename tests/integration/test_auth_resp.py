"""Redis AUTH against the broker's one user database: the bootstrap admin
(the same user Kafka SASL checks) logs in with AUTH user pass, HELLO 3 AUTH
and redis-cli --user/--pass; without AUTH commands get NOAUTH; a wrong
password gets Redis's WRONGPASS and is logged without the password; with
users and no requirepass the "default" user is disabled; requirepass stays
the default user's password."""
import socket
import subprocess

import pytest
import redis

import sluice

PW = "adm1n-pw"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sluice.Sluiced(data_dir=str(tmp_path_factory.mktemp("ra") / "d"), listeners=("resp",),
                       extra=["--auth.admin.password=" + PW])
    yield s
    s.stop()


def test_noauth_then_auth_user_pass(srv):
    r = redis.Redis(port=srv.port("resp"))
    with pytest.raises(redis.exceptions.AuthenticationError) as e:
        r.set("k", "v")
    assert str(e.value) == "Authentication required."
    a = redis.Redis(port=srv.port("resp"), username="admin", password=PW)
    assert a.set("k", "v") and a.get("k") == b"v"


def test_hello3_auth(srv):
    # redis-py 4.3 cannot parse RESP3: a raw connection checks the replies.
    with socket.create_connection(("127.0.0.1", srv.port("resp")), timeout=10) as sk:
        f = sk.makefile("rb")
        sk.sendall(b"HELLO 3 AUTH admin nope\r\n")
        assert f.readline() == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        sk.sendall(b"HELLO 3 AUTH admin " + PW.encode() + b"\r\n")
        assert f.readline() == b"%7\r\n"
        got = [f.readline() for _ in range(12)]
        assert got[:2] == [b"$6\r\n", b"server\r\n"]
        assert got[8:12] == [b"$5\r\n", b"proto\r\n", b":3\r\n", b"$2\r\n"]


def test_wrong_password_and_default_disabled(srv):
    r = redis.Redis(port=srv.port("resp"), username="admin", password="Zz-bad-77")
    with pytest.raises(redis.exceptions.ResponseError) as e:
        r.ping()
    assert "invalid username-password pair or user is disabled" in str(e.value)
    # The default user has no password to give while users exist.
    d = redis.Redis(port=srv.port("resp"), password="anything")
    with pytest.raises(redis.exceptions.ResponseError):
        d.ping()
    err = srv.stderr()
    assert "failed login of user 'admin'" in err and "Zz-bad-77" not in err


def test_redis_cli_user_pass(srv):
    out = subprocess.run(["redis-cli", "-p", str(srv.port("resp")), "--user", "admin", "--pass",
                          PW, "--no-auth-warning", "SET", "c", "1"], capture_output=True,
                         timeout=30)
    assert out.stdout.strip() == b"OK", out
    out = subprocess.run(["redis-cli", "-p", str(srv.port("resp")), "GET", "c"],
                         capture_output=True, timeout=30)
    assert out.stdout.startswith(b"NOAUTH"), out


def test_requirepass_is_default_password_with_users(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp",),
                       extra=["--auth.admin.password=" + PW, "--requirepass=rp"])
    try:
        assert redis.Redis(port=s.port("resp"), password="rp").ping()
        assert redis.Redis(port=s.port("resp"), username="admin", password=PW).ping()
        with pytest.raises(redis.exceptions.ResponseError, match="WRONGPASS"):
            redis.Redis(port=s.port("resp"), password="nope").ping()
    finally:
        s.stop()


def test_no_users_no_auth(tmp_path):
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("resp",))
    try:
        assert redis.Redis(port=s.port("resp")).set("x", 1)
    finally:
        s.stop()
