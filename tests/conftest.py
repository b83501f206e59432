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


def compose_config(output_dir: Path, *overrides: str):
    """The config `python train.py *overrides` would run, writing into output_dir."""
    given = {o.split("=")[0].lstrip("+~") for o in overrides}
    base = [k if v is None else f"{k}={v}" for k, v in QUIET.items() if k.lstrip("+~") not in given]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=[f"paths.output_dir={output_dir}", *base, *overrides])


@pytest.fixture
def make_config(tmp_path):
    return lambda *overrides: compose_config(tmp_path, *overrides)
