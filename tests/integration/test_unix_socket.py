"""sluiced's listeners as a new user meets them: RESP and beanstalkd on unix
sockets (--resp-unixsocket, --beanstalk-unixsocket and their permission
settings, as redis-server and beanstalkd offer) driven by real clients, a
socket file left behind by a killed server, a path already served; a TCP
port already in use said once with the listener and the port; and the first
start on an empty data directory saying so."""
import os
import signal
import socket
import stat
import subprocess

import pytest
import redis

import sluice


def run(args, timeout=30):
    return subprocess.run([sluice.SLUICED] + args, capture_output=True, text=True,
                          timeout=timeout)


def error_lines(text):
    return [l for l in text.splitlines() if " error " in l or l.startswith("sluiced:")]


def bstk(path_or_port, *cmds):
    """Sends beanstalkd commands one at a time; returns the reply lines."""
    if isinstance(path_or_port, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path_or_port)
    else:
        s = socket.create_connection(("127.0.0.1", path_or_port))
    s.settimeout(10)
    f = s.makefile("rb")
    out = []
    try:
        for c in cmds:
            s.sendall(c)
            line = f.readline().decode().rstrip("\r\n")
            out.append(line)
            if line.startswith(("RESERVED", "FOUND", "OK ")):
                n = int(line.split()[-1])
                out.append(f.read(n + 2)[:-2].decode())
    finally:
        f.close()
        s.close()
    return out


@pytest.fixture
def sockdir(tmp_path):
    # sun_path holds 107 bytes; pytest's tmp_path can be long.
    d = os.path.join("/tmp", "sluice-sock-%d-%s" % (os.getpid(), tmp_path.name[-20:]))
    os.makedirs(d, exist_ok=True)
    yield d
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))
    os.rmdir(d)


def test_resp_and_beanstalk_on_unix_sockets_share_the_broker(tmp_path, sockdir):
    rsock, bsock = os.path.join(sockdir, "redis.sock"), os.path.join(sockdir, "bstk.sock")
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), extra=[
        "--resp-unixsocket=" + rsock, "--resp-unixsocketperm=770",
        "--beanstalk-unixsocket=" + bsock])
    try:
        assert stat.S_ISSOCK(os.lstat(rsock).st_mode)
        assert stat.S_IMODE(os.lstat(rsock).st_mode) == 0o770
        assert stat.S_IMODE(os.lstat(bsock).st_mode) == 0o700  # the default
        # redis-py over the unix socket, read back over TCP and vice versa.
        ru = redis.Redis(unix_socket_path=rsock)
        rt = redis.Redis(port=s.port("resp"))
        assert ru.set("k", "via-unix")
        assert rt.get("k") == b"via-unix"
        rt.rpush("l", "a", "b")
        assert ru.lrange("l", 0, -1) == [b"a", b"b"]
        xid = ru.xadd("st", {"f": "v"})
        assert rt.xrange("st") == [(xid, {b"f": b"v"})]
        # The client list names the socket the connection came through.
        assert any(c.get("addr", "").startswith("unix:") for c in ru.client_list())
        ru.close()
        rt.close()
        # beanstalkd: put over the socket, reserve over TCP.
        put = bstk(bsock, b"use socktube\r\n", b"put 0 0 60 5\r\nhello\r\n")
        assert put[0] == "USING socktube" and put[1].startswith("INSERTED ")
        jid = put[1].split()[1]
        got = bstk(s.port("beanstalk"), b"watch socktube\r\n", b"reserve-with-timeout 5\r\n",
                   b"delete %s\r\n" % jid.encode())
        assert got[1] == "RESERVED %s 5" % jid and got[2] == "hello" and got[3] == "DELETED"
        assert "listening on unix:%s (mode 770)" % rsock in s.stderr()
    finally:
        s.stop()
    # A clean stop removes the socket files.
    assert not os.path.exists(rsock) and not os.path.exists(bsock)


def test_unix_socket_only_with_the_tcp_port_off(tmp_path, sockdir):
    rsock = os.path.join(sockdir, "r.sock")
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("http",),
                       extra=["--resp-unixsocket=" + rsock])
    try:
        assert "resp" not in s.ports
        r = redis.Redis(unix_socket_path=rsock)
        assert r.ping() and r.incr("n") == 1
        r.close()
    finally:
        s.stop()


def test_socket_left_by_a_killed_server_is_replaced_and_a_live_one_refused(tmp_path, sockdir):
    rsock = os.path.join(sockdir, "r.sock")
    s = sluice.Sluiced(data_dir=str(tmp_path / "a"), extra=["--resp-unixsocket=" + rsock])
    redis.Redis(unix_socket_path=rsock).set("survives", "1")
    s.kill()
    assert stat.S_ISSOCK(os.lstat(rsock).st_mode)  # left behind
    s.start()
    try:
        r = redis.Redis(unix_socket_path=rsock)
        assert r.get("survives") == b"1"
        r.close()
        # A second server on the same path (another data dir) is refused
        # in one line, and the first keeps serving.
        res = run(["--data-dir=" + str(tmp_path / "b"), "--bind=127.0.0.1", "--kafka-port=0",
                   "--resp-port=0", "--beanstalk-port=0", "--http-port=0",
                   "--resp-unixsocket=" + rsock])
        assert res.returncode == 1
        errs = error_lines(res.stderr)
        assert len(errs) == 1, res.stderr
        assert "resp listener: cannot listen: unix socket %s is already in use" % rsock in errs[0]
        assert redis.Redis(unix_socket_path=rsock).ping()
    finally:
        s.stop()


def test_unix_socket_settings_are_checked(tmp_path, sockdir):
    res = run(["--data-dir=" + str(tmp_path / "d"), "--resp-unixsocketperm=999"])
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "sluiced: config: bad value '999' for resp.unixsocketperm: expected octal permission "
        "bits such as 700 or 770"]
    # A regular file at the path is never replaced.
    plain = os.path.join(sockdir, "plain")
    open(plain, "w").close()
    res = run(["--data-dir=" + str(tmp_path / "d"), "--bind=127.0.0.1", "--kafka-port=0",
               "--resp-port=0", "--beanstalk-port=0", "--http-port=0",
               "--beanstalk-unixsocket=" + plain])
    assert res.returncode == 1
    assert "beanstalk listener: cannot listen: %s exists and is not a socket" % plain \
        in res.stderr
    assert stat.S_ISREG(os.lstat(plain).st_mode)
    help_ = run(["--help"]).stdout
    for key in ("resp.unixsocket", "resp.unixsocketperm", "beanstalk.unixsocket",
                "beanstalk.unixsocketperm"):
        assert key in help_


@pytest.mark.parametrize("name", ["kafka", "resp", "beanstalk", "http"])
def test_port_in_use_is_one_line_naming_listener_and_port(tmp_path, name):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = ["--data-dir=" + str(tmp_path / "d"), "--bind=127.0.0.1"]
        for n in ("kafka", "resp", "beanstalk", "http"):
            args.append("--%s-port=%s" % (n, port if n == name else 0))
        res = run(args)
    assert res.returncode == 1
    errs = error_lines(res.stderr)
    assert len(errs) == 1, res.stderr
    assert ("%s listener: cannot listen: port %d on 127.0.0.1 is already in use "
            "(choose another with --%s-port)" % (name, port, name)) in errs[0]
    assert "input/output error" not in res.stderr


def test_first_start_says_new_data_directory(tmp_path):
    d = tmp_path / "fresh"
    s = sluice.Sluiced(data_dir=str(d))
    s.stop()
    first = s.stderr()
    assert "(new data directory)" in first and "recovering" not in first
    s.start()
    s.kill()
    s.start()
    s.stop()
    log = s.stderr()[len(first):]
    lines = [l for l in log.splitlines() if "data directory %s" % d in l]
    assert len(lines) == 2, log
    assert "clean shutdown last time" in lines[0]
    assert "recovering: no clean-shutdown marker" in lines[1]
    # An existing, empty directory is new too.
    e = tmp_path / "empty"
    e.mkdir()
    s2 = sluice.Sluiced(data_dir=str(e))
    s2.stop()
    assert "(new data directory)" in s2.stderr()
