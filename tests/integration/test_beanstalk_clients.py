"""Real beanstalkd clients against sluiced: pheanstalk (PHP), beaneater
(Ruby) and jackd (npm) run put/reserve/delete/release/bury/kick/peek/stats
flows that check every reply. Each flow also runs against Debian's
beanstalkd 1.12, so a flow that only sluice would pass is caught."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402

CLIENTS = os.path.join(sluice.ROOT, "tests", "clients")
FLOWS = {
    "pheanstalk": ["php", os.path.join(CLIENTS, "beanstalk-php", "flow.php")],
    "beaneater": ["ruby", os.path.join(CLIENTS, "beanstalk-ruby", "flow.rb")],
    "jackd": ["node", os.path.join(CLIENTS, "beanstalk-node", "flow.js")],
}


def run_flow(name, port):
    p = subprocess.run(FLOWS[name] + [str(port)], capture_output=True, timeout=60,
                       cwd=os.path.dirname(FLOWS[name][1]))
    out = p.stdout.decode() + p.stderr.decode()
    assert p.returncode == 0, out
    assert out.startswith("OK 17"), out


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_client_flow(name, tmp_path):
    (tmp_path / "d").mkdir()
    with sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("beanstalk",)) as sl:
        run_flow(name, sl.port("beanstalk"))
    with sluice.beanstalkd_ref() as ref:
        run_flow(name, ref.port)
