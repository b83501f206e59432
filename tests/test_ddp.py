"""Real multi-process DDP on the CPU: `python train.py trainer=ddp` with 2 gloo processes, a few steps.

After training every process holds the same parameters and buffers (including the techniques' state:
VBN's reference noise, historical averages), each process trained on its own data, the losses are
finite, the evaluation counted each sample once, and rank 0 alone wrote the W&B run and the pictures.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT

COMMON = ["trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu", "dataset=ring", "model=mlp",
          "dataset.batch_size=32", "trainer.max_steps=8", "trainer.log_every_n_steps=1",
          "callbacks.samples.every_n_steps=4", "~callbacks.progress_bar", "+trainer.enable_progress_bar=false"]

ENV = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "MPLBACKEND": "Agg",
       "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


def run_ddp(tmp_path, *overrides: str) -> tuple[dict, list[dict]]:
    """metrics.json and each rank's saved state of `python train.py trainer=ddp ...`."""
    states = tmp_path / "states"
    args = [*COMMON, f"paths.output_dir={tmp_path}", f"hydra.run.dir={tmp_path}",
            "+callbacks.state._target_=tests.ddp_state.SaveStatePerRank", f"+callbacks.state.dirpath={states}",
            *overrides]
    result = subprocess.run([sys.executable, "train.py", *args], cwd=ROOT, env=ENV, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    return metrics, [torch.load(states / f"rank{r}.pt") for r in (0, 1)]


def assert_same_state(ranks: list[dict]) -> None:
    first, second = ranks[0]["state"], ranks[1]["state"]
    assert first.keys() == second.keys()
    for key in first:
        same = torch.equal(first[key], second[key]) if torch.is_tensor(first[key]) else first[key] == second[key]
        assert same, key
    assert ranks[0]["d_updates"] == ranks[1]["d_updates"] == 4
    assert not torch.equal(ranks[0]["first_batch"], ranks[1]["first_batch"])  # each process its own data


def assert_finite_losses(metrics: dict) -> None:
    for key in ("train/d_loss", "train/g_loss", "train/grad_norm_d", "train/grad_norm_g"):
        assert math.isfinite(metrics[key]), key


def test_plain_gan_under_ddp_stays_in_sync_and_logs_once(tmp_path):
    metrics, ranks = run_ddp(tmp_path, "logger=wandb", "metrics.num_samples=501", "metrics.num_samples_periodic=200",
                             "metrics.eval_every=4")
    assert_same_state(ranks)
    assert_finite_losses(metrics)
    assert metrics["protocol"]["processes"] == 2
    assert metrics["protocol"]["samples_counted"] == 501  # 251 + 250, each sample once
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1  # one W&B run for the training, not one per process
    pictures = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert pictures == ["animation.gif", "final_points.pt", "step_0000004.png", "step_0000008.png"]  # rank 0 alone
    evaluated = evaluate_checkpoint(tmp_path)  # on the run's two processes, as its end evaluated
    assert evaluated["protocol"]["processes"] == 2 and evaluated["protocol"]["samples_counted"] == 501
    for key in (k for k in evaluated if k.startswith("eval/") and not k.endswith("/seconds")):
        assert evaluated[key] == pytest.approx(metrics[key], abs=1e-6), key


def evaluate_checkpoint(run_dir) -> dict:
    """`python evaluate.py` on the run's last checkpoint: one line on stdout, one evaluation.json."""
    result = subprocess.run([sys.executable, "evaluate.py", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"],
                            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.splitlines()) == 1, result.stdout  # the first process alone reports
    (written,) = (run_dir / "checkpoints").glob("evaluation*.json")
    return json.loads(written.read_text())


def test_every_technique_under_ddp_keeps_parameters_and_buffers_identical(tmp_path):
    metrics, ranks = run_ddp(tmp_path, "trick=improved_gan", "logger=none", "metrics=none")
    assert_same_state(ranks)
    assert_finite_losses(metrics)
    state = ranks[0]["state"]
    assert "tricks.virtual_batch_norm.noise" in state
    assert any(k.startswith("tricks.historical_averaging.history.generator.") and k.endswith("weight")
               for k in state)
    assert int(state["tricks.historical_averaging.history.generator.count"]) == 5  # the start and 4 G steps


def test_packing_an_ema_and_spectral_norm_stay_in_sync_under_ddp(tmp_path):
    metrics, ranks = run_ddp(tmp_path, "trick=[pacgan,ema_generator,spectral_norm]", "logger=none", "metrics=none")
    assert_same_state(ranks)
    assert_finite_losses(metrics)
    state = ranks[0]["state"]
    assert state["tricks.ema_generator._extra_state"] == {"updates": 4}
    assert any(k.endswith("parametrizations.weight.original") for k in state)  # spectral norm's weights
    assert any(k.endswith("_u") for k in state)  # and its power-iteration vectors, equal on both ranks
