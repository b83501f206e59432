"""Real training processes killed mid-run: SIGKILL then `ckpt_path=last`, and SIGTERM (a preemption notice)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gankit.checkpoint_io import load_safely
from tests import wandb_files
from tests.conftest import ROOT

FAST = ["dataset=ring", "model=mlp", "model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]",
        "dataset.batch_size=16", "metrics=none", "~callbacks.progress_bar", "~callbacks.curves",
        "~callbacks.samples.final"]


ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny networks: one thread is faster, and fair on a shared CPU


def start(*args, cwd, env=ONE_THREAD):
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pattern: str, cwd: Path, process, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(cwd.glob(pattern))
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.02)
    raise AssertionError(f"no {pattern} after {timeout} s")


def test_a_run_killed_with_sigkill_resumes_with_ckpt_path_last_and_finishes(tmp_path):
    first = start(*FAST, "trainer.max_steps=100000", "callbacks.checkpoint.every_n_train_steps=20",
                  "callbacks.samples.every_n_steps=0", "logger=wandb", cwd=tmp_path)
    ckpt = wait_for("outputs/*/*/checkpoints/last.ckpt", tmp_path, first)
    time.sleep(0.3)  # into the next steps, past the checkpoint
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    killed_at = load_safely(ckpt)["global_step"]  # whole: written atomically
    assert 0 < killed_at < 100000
    end = killed_at + 100  # the run's own 100000 steps would take minutes here

    resumed = subprocess.run([sys.executable, str(ROOT / "train.py"), "ckpt_path=last", f"trainer.max_steps={end}"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run_dir = ckpt.parent.parent
    assert len(list(tmp_path.glob("outputs/*/*"))) == 1  # the resumed run wrote into the same directory
    assert load_safely(ckpt)["global_step"] == end
    assert f'"step": {end}' in (run_dir / "metrics.json").read_text()
    assert f"Restoring states from the checkpoint path at {ckpt}" in resumed.stdout  # Lightning logs through Hydra
    assert f"Restoring states from the checkpoint path at {ckpt}" in (run_dir / "train.log").read_text()
    assert not list(ckpt.parent.glob(".*.tmp"))  # a save the kill cut short left no temporary file behind
    run_files = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 2  # the killed run and its continuation ...
    assert len({f.stem for f in run_files}) == 1  # ... are one W&B run (run-<id>.wandb)
    assert wandb_files.run_info(run_files[-1]).run_id == run_files[-1].stem.removeprefix("run-")


def test_sigterm_saves_a_checkpoint_and_no_secret_reaches_the_run_directory(tmp_path):
    secret = "fake-api-key-0123456789abcdef0123456789abcdef"
    env = {**ONE_THREAD, "WANDB_API_KEY": secret}
    run = start(*FAST, "trainer.max_steps=100000", "callbacks.samples.every_n_steps=10", "logger=wandb",
                "hydra.run.dir=run", cwd=tmp_path, env=env)
    wait_for("run/samples/step_0000010.png", tmp_path, run)
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 143, err[-3000:]
    checkpoint = load_safely(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert 10 <= checkpoint["global_step"] < 100000
    assert "SIGTERM: saved" in out + err
    assert secret not in out + err
    assert "anonymous setting" not in out + err  # W&B's warning about Lightning's anonymous=None: not passed
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_the_slurm_time_limit_notice_requeues_only_while_requeues_are_left(monkeypatch, caplog):
    """With the allowed requeues spent, the notice is logged and nothing is requeued (no scontrol here to call)."""
    from gankit.resume.preemption import SaveOnPreemption

    monkeypatch.setenv("SLURM_JOB_ID", "41")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "3")
    monkeypatch.setenv("GANKIT_SLURM_MAX_REQUEUES", "3")
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: pytest.fail(f"requeued: {a}"))
    with caplog.at_level("WARNING"):
        SaveOnPreemption()._requeue(signal.SIGUSR2, None)
    assert "job 41 already restarted 3 times (at most 3): not requeued" in caplog.text
