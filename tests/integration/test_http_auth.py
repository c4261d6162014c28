"""HTTP authentication (issue 14): with an admin token or a password
configured, everything but the health check, a minimal /status and (by
default) /metrics asks for credentials — the console, /api/v1, /debug; a
wrong token is refused and logged with the peer but never with what was
sent. Without credentials configured nothing changes."""
import base64
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402

TOKEN = "t0k-" + "x" * 40


def get(port, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


def test_token_and_basic_protect_everything_but_health(tmp_path):
    extra = ["--http.auth.token=" + TOKEN, "--http.auth.user=ops", "--http.auth.password=pw:with:colons"]
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("http",), extra=extra) as sl:
        port = sl.port("http")
        assert get(port, "/health")[0] == 200
        st, _, body = get(port, "/status")
        assert st == 200
        doc = json.loads(body)
        assert doc["status"] == "ok" and "data_dir" not in doc and "topics" not in doc
        assert sl.data_dir.encode() not in body
        assert get(port, "/metrics")[0] == 200  # open by default, as scrape targets
        for path in ("/", "/api/v1/overview", "/api/v1/topics", "/index.html"):
            st, hdrs, _ = get(port, path)
            assert st == 401, path
            assert hdrs.get("WWW-Authenticate", "").startswith("Basic realm=\"sluice\"")
        st, _, _ = get(port, "/api/v1/topics", method="POST")
        assert st == 401
        ok = {"Authorization": "Bearer " + TOKEN}
        assert get(port, "/api/v1/overview", ok)[0] == 200
        st, _, body = get(port, "/status", ok)
        assert st == 200 and json.loads(body)["data_dir"] == sl.data_dir
        assert get(port, "/api/v1/overview", basic("ops", "pw:with:colons"))[0] == 200
        # Wrong or truncated credentials.
        for bad in ({"Authorization": "Bearer " + TOKEN[:-1]},
                    {"Authorization": "Bearer " + TOKEN + "y"},
                    {"Authorization": "Bearer"},
                    basic("ops", "wrong"), basic("root", "pw:with:colons"),
                    {"Authorization": "Basic !!!!"}):
            assert get(port, "/api/v1/overview", bad)[0] == 401, bad
        deadline = time.monotonic() + 10
        while "failed login of user 'ops'" not in sl.stderr():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        log = sl.stderr()
        assert "127.0.0.1:" in log and TOKEN[:-1] not in log and "wrong" not in log


def test_failed_logins_are_rate_limited_per_user_and_peer(tmp_path):
    """As Kafka SASL and Redis AUTH (users.c): after a few free failures the
    user is locked out from that host for a growing while (up to 5 s), even
    with the right password; logged with the user and the peer, never the
    password; the lock ends by itself and another user is not affected."""
    extra = ["--http.auth.token=" + TOKEN, "--http.auth.user=ops", "--http.auth.password=right-pw"]
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("http",), extra=extra) as sl:
        port = sl.port("http")
        assert get(port, "/api/v1/overview", basic("ops", "right-pw"))[0] == 200
        for _ in range(12):  # 5 free, then locks of 0.1 s doubling up to 5 s
            assert get(port, "/api/v1/overview", basic("ops", "guess-pw"))[0] == 401
        # Locked: the right password is refused too (the lock is 5 s now).
        assert get(port, "/api/v1/overview", basic("ops", "right-pw"))[0] == 401
        # The token is another identity: not locked.
        assert get(port, "/api/v1/overview", {"Authorization": "Bearer " + TOKEN})[0] == 200
        # Every try while locked counts as a failure (as users.c does for
        # every protocol), so wait out the longest lock before each try.
        deadline = time.monotonic() + 40
        while True:
            time.sleep(5.5)
            if get(port, "/api/v1/overview", basic("ops", "right-pw"))[0] == 200:
                break
            assert time.monotonic() < deadline, "the lock never ended"
        log = sl.stderr()
        assert "failed login of user 'ops' from 127.0.0.1" in log
        assert "(locked," in log and "(http-basic," in log
        assert "guess-pw" not in log and "right-pw" not in log


def test_metrics_auth_and_no_auth_configured(tmp_path):
    with sluice.Sluiced(data_dir=str(tmp_path / "a"), listeners=("http",),
                        extra=["--http.auth.token=" + TOKEN, "--http.metrics.auth=true"]) as sl:
        port = sl.port("http")
        assert get(port, "/metrics")[0] == 401
        assert get(port, "/metrics", {"Authorization": "Bearer " + TOKEN})[0] == 200
    with sluice.Sluiced(data_dir=str(tmp_path / "b"), listeners=("http",)) as sl:
        port = sl.port("http")
        assert get(port, "/api/v1/overview")[0] == 200
        assert json.loads(get(port, "/status")[2])["data_dir"] == sl.data_dir
