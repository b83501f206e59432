"""Shared fixtures: compose the real Hydra config with small, quiet settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
# pyproject's addopts run the suite on two pytest-xdist workers (`-n 2`), one a core of a 2-core CPU, a test file
# to a worker (`--dist loadfile`: a module-scoped fixture such as a sweep or trained runs is built once). Each
# worker, and the runs it starts as subprocesses, uses one torch thread (two would wait on the other worker's).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
sys.path.insert(0, str(ROOT))  # train.py lives at the root, next to conf/

# Settings every test run starts from; a test's own overrides win over them.
QUIET = {
    "logger": "none",
    "~callbacks.progress_bar": None,
    "trainer.max_steps": "6",
    "trainer.log_every_n_steps": "1",
    "trainer.enable_model_summary": "false",
    "+trainer.enable_progress_bar": "false",
}
# Smaller evaluations, applied where the composed config evaluates at all (metrics is not none);
# evaluation itself is tested in test_metrics_*.
QUIET_METRICS = {"metrics.num_samples": "500", "metrics.num_samples_periodic": "500"}


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def _given(key: str, given: set[str]) -> bool:
    """True if the test set `key` or a group above it (metrics=none overrides metrics.num_samples)."""
    key = key.lstrip("+~")
    return any(key == g or key.startswith(g + ".") for g in given)


def compose_config(output_dir: Path, *overrides: str):
    """The config `python train.py *overrides` would run, writing into output_dir."""
    given = {o.split("=")[0].lstrip("+~") for o in overrides}
    base = [k if v is None else f"{k}={v}" for k, v in QUIET.items() if k.lstrip("+~") not in given]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("train", overrides=[f"paths.output_dir={output_dir}", *base, *overrides])
        if not (cfg.get("metrics") or {}).get("num_samples"):
            return cfg
        smaller = [f"{k}={v}" for k, v in QUIET_METRICS.items() if not _given(k, given)]
        return compose("train", overrides=[f"paths.output_dir={output_dir}", *base, *smaller, *overrides])


@pytest.fixture
def make_config(tmp_path):
    return lambda *overrides: compose_config(tmp_path, *overrides)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a test module: tiny networks and Inception run faster with one thread than with two that
    wait on each other on a shared 2-core CPU. Use with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
