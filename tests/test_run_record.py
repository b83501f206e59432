"""A run's record is kept: a resume never overwrites, truncates or deletes what a run wrote; logs continue across a
resume on one step axis; what a run observes (figures, evaluations, logging) does not change what it learns."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.checkpoint_io import load_safely
from gankit.run import train
from tests import wandb_files
from tests.conftest import ROOT, compose_config
from tests.interrupt import stop_at

pytestmark = pytest.mark.usefixtures("one_thread")

RING = ["dataset=ring", "model=mlp", "model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]",
        "dataset.batch_size=32", "metrics.num_samples=200", "metrics.num_samples_periodic=200"]


def command(*args, cwd):
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "MPLBACKEND": "Agg", "HOME": str(cwd)}
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def checksums(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, one_thread):
    """A finished ring run of 40 steps, written by the command line (CSV logger)."""
    cwd = tmp_path_factory.mktemp("finished")
    result = command(*RING, "trainer.max_steps=40", "metrics.eval_every=20", "callbacks.samples.every_n_steps=20",
                     "logger=csv", "trainer.log_every_n_steps=5", "~callbacks.progress_bar", "hydra.run.dir=run",
                     cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd


@pytest.mark.parametrize("args,message", [
    (["ckpt_path=run/checkpoints/last.ckpt"], "error: the run in run finished at step 40 (trainer.max_steps=40)"),
    (["hydra.run.dir=run", "ckpt_path=last"], "error: the run in run finished at step 40"),
    (["ckpt_path=last"], "error: the run in run finished at step 40"),
    (["hydra.run.dir=run"], "error: hydra.run.dir=run already holds a run; continue it with ckpt_path=last"),
    (["ckpt_path=run/checkpoints"], "error: ckpt_path=run/checkpoints is a folder; give the file "
                                    "ckpt_path=run/checkpoints/last.ckpt"),
])
def test_a_finished_run_is_refused_in_one_line_and_left_as_it_was(finished, args, message):
    before = checksums(finished / "run")
    assert one_line(command(*args, "hydra.run.dir=run" if args == ["ckpt_path=last"] else "seed=0",
                            cwd=finished)).startswith(message)
    assert checksums(finished / "run") == before


def test_continuing_a_finished_run_only_appends_and_keeps_its_end(finished, tmp_path):
    import shutil

    shutil.copytree(finished / "run", tmp_path / "run")
    before = checksums(tmp_path / "run")
    result = command("hydra.run.dir=run", "ckpt_path=last", "trainer.max_steps=60", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    after = checksums(run)
    assert (run / ".hydra" / "resume_1" / "overrides.yaml").is_file()
    assert "- dataset=ring" in (run / ".hydra" / "resume_1" / "overrides.yaml").read_text()  # the run's own config
    for name, content in before.items():
        kept = after.get(f"continued_from_step_40/{name}")
        assert after.get(name) == content or (name in after and after[name].startswith(content)) \
            or kept == content, name
    assert before["metrics.json"] == after["continued_from_step_40/metrics.json"]
    assert load_safely(run / "checkpoints" / "last.ckpt")["global_step"] == 60
    assert load_safely(run / "continued_from_step_40" / "checkpoints" / "last.ckpt")["global_step"] == 40
    steps = [int(row["step"]) for row in csv.DictReader(open(run / "csv" / "metrics.csv")) if row["train/d_loss"]]
    assert steps == list(range(10, 61, 10))  # every 5th batch, 2 optimizer steps a batch: once each


def rows(run_dir: Path) -> list[dict]:
    """csv/metrics.csv without the evaluation's wall time."""
    return [{k: v for k, v in row.items() if k != "eval/seconds"} for row in
            csv.DictReader(open(run_dir / "csv" / "metrics.csv"))]


LOGGED = [*RING, "trainer.max_steps=40", "metrics.eval_every=10", "trainer.log_every_n_steps=2",
          "callbacks.samples.every_n_steps=0", "~callbacks.samples.final", "~callbacks.curves",
          "+trainer.deterministic=true"]


@pytest.mark.parametrize("how,at,every", [("sigterm", 20, 1000), ("crash", 26, 10)])
def test_csv_rows_of_an_interrupted_and_resumed_run_equal_an_uninterrupted_ones(tmp_path, how, at, every):
    train(compose_config(tmp_path / "whole", *LOGGED, "logger=csv"))
    parts = [*LOGGED, "logger=csv", f"callbacks.checkpoint.every_n_train_steps={every}"]
    with pytest.raises(RuntimeError if how == "crash" else SystemExit):
        train(compose_config(tmp_path / "parts", *parts, stop_at(at, how)))
    assert len(rows(tmp_path / "parts")) > 0
    train(compose_config(tmp_path / "parts", *parts, f"ckpt_path={tmp_path / 'parts/checkpoints/last.ckpt'}"))
    assert rows(tmp_path / "parts") == rows(tmp_path / "whole")
    steps = [int(r["step"]) for r in rows(tmp_path / "whole") if r["train/d_loss"]]
    assert steps == list(range(4, 41, 4))  # optimizer steps (trainer/global_step), not batches


def history(run_dir: Path) -> list[dict]:
    """Every W&B row of the run (its offline files in order), without times and the evaluation's wall time."""
    files = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"), key=lambda p: p.parent.name)
    ignored = {"_runtime", "_timestamp", "_step", "eval/seconds", "_wandb"}
    return [{k: media_name(v) for k, v in row.items() if k not in ignored} for f in files for row in
            wandb_files.history(wandb_files.run_file(f.parent.parent.parent, only=f))]


def media_name(value):
    """An image's file name without W&B's own row counter (samples_<_step>_<hash>.png): the hash names the picture."""
    return [re.sub(r"_\d+_", "_", name) for name in value] if isinstance(value, list) else value


def test_wandb_history_of_an_interrupted_and_resumed_run_equals_an_uninterrupted_ones(tmp_path):
    train(compose_config(tmp_path / "whole", *LOGGED, "logger=wandb"))
    with pytest.raises(SystemExit):
        train(compose_config(tmp_path / "parts", *LOGGED, "logger=wandb", stop_at(20, "sigterm")))
    train(compose_config(tmp_path / "parts", *LOGGED, "logger=wandb",
                         f"ckpt_path={tmp_path / 'parts/checkpoints/last.ckpt'}"))
    whole = history(tmp_path / "whole")
    assert history(tmp_path / "parts") == whole
    assert [r["trainer/global_step"] for r in whole if "train/d_loss" in r] == list(range(4, 41, 4))


def test_what_a_run_observes_does_not_change_what_it_learns(tmp_path):
    often = ["callbacks.samples.every_n_steps=6", "metrics.eval_every=4", "trainer.log_every_n_steps=1"]
    seldom = ["callbacks.samples.every_n_steps=0", "metrics.eval_every=0", "trainer.log_every_n_steps=7",
              "~callbacks.curves", "~callbacks.samples.final"]
    weights = []
    for name, rhythm in (("often", often), ("seldom", seldom)):
        train(compose_config(tmp_path / name, *RING, "trainer.max_steps=30", *rhythm))
        weights.append(load_safely(tmp_path / name / "checkpoints" / "last.ckpt")["state_dict"])
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


def test_a_resume_refused_inside_the_run_leaves_the_run_as_it_was(finished, tmp_path):
    import shutil

    shutil.copytree(finished / "run", tmp_path / "run")
    before = checksums(tmp_path / "run")
    result = command("hydra.run.dir=run", "ckpt_path=last", "trainer.max_steps=80", "model.generator.hidden=[16,16]",
                     cwd=tmp_path)  # another G: refused when the checkpoint is checked against the model
    assert one_line(result).startswith("error: ckpt_path=") and "was saved by another model" in result.stderr
    assert checksums(tmp_path / "run") == before  # no resume record, no error.txt, train.log as it was
