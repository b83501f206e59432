"""pyproject.toml's version floors are true: scripts/check-floors installs the lowest allowed release of every direct
dependency and runs a smoke subset of the suite with them. Slow (about 3 GB of downloads the first time, then about
5 minutes): `pytest -m slow tests/test_version_floors.py`; GANKIT_FLOORS_VENV reuses an environment it made."""

import os
import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_lowest_allowed_versions_pass_the_smoke_subset(tmp_path):
    venv = os.environ.get("GANKIT_FLOORS_VENV", str(tmp_path / "venv"))
    result = subprocess.run(["bash", str(ROOT / "scripts" / "check-floors"), venv], cwd=ROOT, capture_output=True,
                            text=True, timeout=3600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
