"""pytest fixtures shared by every integration suite (see sluice.py), and
the grouping that lets the suites run in parallel under pytest-xdist
(tests/run.sh runs `pytest -n N --dist loadgroup`).

Every test starts its own sluiced on ephemeral ports with its own data
directory, so tests run on any worker in any order, with one exception:
the tests of a module that share a module-scoped fixture (one server, one
reference server, one compiled client) may rely on running in the file's
order against that one instance, and building it once is the point. Such a
module's tests get one xdist group, so one worker runs them in order.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import sluice  # noqa: E402


@pytest.fixture
def server(tmp_path):
    """A fresh sluiced with every listener on an ephemeral port."""
    s = sluice.Sluiced(data_dir=str(tmp_path / "data"))
    yield s
    if s.proc is not None:
        s.stop()


def _uses_module_fixture(item):
    info = getattr(item, "_fixtureinfo", None)
    for defs in getattr(info, "name2fixturedefs", {}).values():
        for d in defs:
            if getattr(d, "scope", "function") in ("module", "package", "session") \
                    and d.baseid not in ("", None) and not d.argname.startswith("tmp_path"):
                return True
    return False


# tryfirst: xdist's worker reads the marks in its own modifyitems hook.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(os.path.basename(str(item.fspath))))
