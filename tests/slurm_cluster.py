"""The local SLURM cluster the SLURM tests submit to, started through scripts/slurm-local.

Where it cannot start (not root, no apt-get) the tests skip and say why; with GANKIT_REQUIRE_SLURM=1 (set by
.ci/run) they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "slurm-local"
REQUIRED = os.environ.get("GANKIT_REQUIRE_SLURM") == "1"


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"GANKIT_REQUIRE_SLURM=1 but the local SLURM cluster cannot run: {reason}")
    pytest.skip(f"no local SLURM cluster: {reason}")


@pytest.fixture(scope="session", name="slurm")
def local_slurm():
    """Starts the cluster (idempotent: a running one is left as it is)."""
    if os.geteuid() != 0:
        unavailable("scripts/slurm-local needs root")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        unavailable("neither SLURM nor apt-get to install it")
    started = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=900)
    if started.returncode != 0:
        unavailable(f"scripts/slurm-local start failed: {(started.stderr or started.stdout).strip()[-500:]}")
    return started.stdout


def job_env() -> dict:
    """The environment a test submits from (sbatch hands it to the jobs): quiet, offline, gankit and tests/
    importable, one torch thread a process."""
    path = os.pathsep.join(p for p in [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")] if p)
    return {**os.environ, "PYTHONPATH": path, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
            "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "0"}


def run(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=job_env(), capture_output=True, text=True,
                          timeout=timeout)


def state(job_id: str) -> tuple[str, str]:
    """(JobState, Reason) of a job, from scontrol."""
    shown = subprocess.run(["scontrol", "show", "job", "--oneliner", job_id], capture_output=True, text=True).stdout
    fields = dict(f.split("=", 1) for f in shown.split() if "=" in f)
    return fields.get("JobState", ""), fields.get("Reason", "")


def wait_until(condition, timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"{what}: not after {timeout} s")
