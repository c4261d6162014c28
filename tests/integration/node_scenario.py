"""What the job-queue library scenarios share: for the node ones (bull,
bullmq, bee-queue, rsmq) a node script in a tests/clients/ npm project run
to a JSON answer or started as a process that says it is ready; for them and
kue, polling with a deadline, and a sluiced
with only the RESP listener whose spawned processes are killed at the
end."""
import json
import os
import subprocess
import time

import sluice


class NodeScript:
    def __init__(self, project, script):
        self.dir = os.path.join(sluice.ROOT, "tests", "clients", project)
        self.script = script

    def run(self, *args, timeout=60):
        """Runs the script; returns the JSON object on its last line."""
        p = subprocess.run(["/usr/bin/node", self.script] + [str(a) for a in args], cwd=self.dir,
                           capture_output=True, text=True, timeout=timeout)
        assert p.returncode == 0, p.stdout + p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])

    def spawn(self, *args, ready):
        """Starts the script; returns once its first line is `ready`."""
        p = subprocess.Popen(["/usr/bin/node", self.script] + [str(a) for a in args],
                             cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        line = p.stdout.readline()
        assert json.loads(line) == ready, line + p.stderr.read()
        return p


def wait_for(pred, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)  # polling server state, not a readiness guess
    raise AssertionError("timed out waiting for " + what)


def resp_server(tmp_path):
    """A generator for a fixture: (sluiced, list of processes to kill)."""
    d = tmp_path / "data"
    d.mkdir()
    s = sluice.Sluiced(data_dir=str(d), fsync="always", listeners=("resp",))
    procs = []
    try:
        yield s, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        s.stop()
