"""Shared helpers for integration tests: start the real sluiced and the
reference servers (redis-server, beanstalkd) on loopback ports.

sluiced is started with every listener on port 0 and --ready-fd; the READY
line tells the ports, so no test sleeps or races. On stop the server must
exit 0 after SIGTERM with no sanitizer report in its stderr.
"""
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SLUICE_BUILD", os.path.join(ROOT, "build", "asan"))
SLUICED = os.path.join(BUILD, "sluiced")
# libsluice test programs (tests/lib/*.c) and the sluice tool.
LIBTESTS = os.path.join(BUILD, "libtests")
SLUICE_CLI = os.path.join(BUILD, "sluice")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Sluiced:
    """One sluiced process. Use as a context manager or call stop()."""

    def __init__(self, data_dir=None, fsync="always", extra=None, listeners=("kafka", "resp", "beanstalk", "http"), ready_timeout=30, faults=False, preexec_fn=None):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="sluiced-")
        self.fsync = fsync
        self.extra = list(extra or [])
        if faults:
            # Storage failures are injected through the HTTP debug endpoint.
            self.extra.append("--debug.faults=true")
        self.listeners = listeners
        self.ready_timeout = ready_timeout
        # Runs in the child before exec (e.g. resource.setrlimit).
        self.preexec_fn = preexec_fn
        self.proc = None
        self.ports = {}
        self.stderr_path = None
        self.start()

    def start(self):
        rfd, wfd = os.pipe()
        args = [SLUICED, "--data-dir=" + self.data_dir, "--bind=127.0.0.1",
                "--fsync=" + self.fsync, "--ready-fd=%d" % wfd]
        for name in ("kafka", "resp", "beanstalk", "http"):
            args.append("--%s-port=%s" % (name, "0" if name in self.listeners else "off"))
        args += self.extra
        d = os.path.abspath(self.data_dir)
        self.stderr_path = os.path.join(os.path.dirname(d), os.path.basename(d) + ".stderr")
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(args, pass_fds=(wfd,), stdin=subprocess.DEVNULL,
                                     stdout=self.stderr_file, stderr=self.stderr_file,
                                     preexec_fn=self.preexec_fn)
        os.close(wfd)
        line = b""
        deadline = time.monotonic() + self.ready_timeout
        with os.fdopen(rfd, "rb") as r:
            while not line.endswith(b"\n"):
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise RuntimeError("sluiced did not become ready: " + self.stderr())
                chunk = r.read(1)
                if not chunk:
                    self.proc.wait()
                    raise RuntimeError("sluiced exited before READY (rc=%s): %s" % (self.proc.returncode, self.stderr()))
                line += chunk
        parts = line.decode().split()
        assert parts[0] == "READY", line
        self.ports = {k: int(v) for k, v in (p.split("=") for p in parts[1:])}
        return self

    def port(self, name):
        return self.ports[name]

    def _http(self, method, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port("http"), timeout=10)
        try:
            c.request(method, path)
            r = c.getresponse()
            body = r.read().decode()
            assert r.status == 200, "%s %s: %s %s" % (method, path, r.status, body)
            return body
        finally:
            c.close()

    def fault(self, spec):
        """Arms a storage failure (store/sio.h rule syntax), e.g.
        "op=fdatasync,path=jobs.journal,count=1,errno=EIO"."""
        self._http("PUT", "/debug/faults?" + spec)

    def clear_faults(self):
        self._http("DELETE", "/debug/faults")

    def fault_hits(self):
        """How many file calls the armed rules failed so far."""
        import json
        return json.loads(self._http("GET", "/debug/faults"))["hits"]

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30, check=True):
        """Stops the server. With SIGTERM (check=True) asserts a clean exit:
        status 0 and no sanitizer report."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sluiced did not exit within %ss after %s" % (timeout, sig))
        self.proc = None
        self.stderr_file.close()
        err = self.stderr()
        if check and sig in (signal.SIGTERM, signal.SIGINT):
            assert rc == 0, "sluiced exited %s:\n%s" % (rc, err[-4000:])
        for m in SANITIZER_MARKERS:
            assert m not in err, "sanitizer report in sluiced stderr:\n" + err[-8000:]
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL, check=False)

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.stop(check=exc[0] is None)


@contextlib.contextmanager
def tmpfs(size="4m"):
    """A real small filesystem: a tmpfs of `size` mounted on a fresh
    directory (needs root, as CI runs), unmounted afterwards."""
    d = tempfile.mkdtemp(prefix="sluice-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", d], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d], check=False)
        os.rmdir(d)


def free_port():
    """A port that was free a moment ago (for reference servers that cannot
    bind port 0 and report it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("reference server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)  # polling a foreign server's startup; it has no ready fd
    raise RuntimeError("port %d never opened" % port)


class RefServer:
    """A reference server process (redis-server or beanstalkd) on loopback."""

    def __init__(self, argv_fn, tries=5):
        last = None
        for _ in range(tries):
            self.port = free_port()
            self.proc = subprocess.Popen(argv_fn(self.port), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_port(self.port, self.proc)
                return
            except RuntimeError as e:
                last = e
                self.proc.kill()
                self.proc.wait()
        raise last

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def redis_ref(extra=()):
    d = tempfile.mkdtemp(prefix="redis-ref-")
    return RefServer(lambda p: ["redis-server", "--port", str(p), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", d,
                                "--daemonize", "no"] + list(extra))


def beanstalkd_ref(extra=()):
    return RefServer(lambda p: ["beanstalkd", "-l", "127.0.0.1", "-p", str(p)] + list(extra))
