"""pytest fixtures shared by every integration suite (see sluice.py)."""
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
