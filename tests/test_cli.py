"""`python train.py` as a user runs it: the job runs, bad input prints one line and exits 2."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args,message", [
    (["model=foo"], "error: unknown option model=foo; choose one of: dcgan, mlp"),
    (["trainer.max_steps=abc"], "error: trainer.max_steps must be an integer, got 'abc'"),
    (["dataset.image_size=24"], "error: model=dcgan builds square images of size 16, 32, 64, 128"),
    (["dataset=ring", "model=pacgan_mlp", "dataset.batch_size=1"],
     "error: dataset.batch_size=1 must be at least 2 with this model: the generator's BatchNorm1d layers"),
])
def test_bad_input_gives_one_line_and_exit_status_2(tmp_path, args, message):
    result = run(*args, "logger=none", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr[-2000:]


def test_a_short_run_from_the_command_line_writes_the_run_directory(tmp_path):
    result = run("dataset=ring", "model=mlp", "trainer.max_steps=4", "trainer.log_every_n_steps=1", "logger=csv",
                 "hydra.run.dir=run",
                 "~callbacks.progress_bar", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "run"
    for path in (".hydra/config.yaml", "checkpoints/last.ckpt", "metrics.json",
                 "samples/step_0000004.png", "csv/metrics.csv"):
        assert (run_dir / path).is_file(), path


def test_a_multirun_launches_each_job_as_its_own_run_and_wandb_run(tmp_path):
    from tests import wandb_files

    result = run("-m", "dataset=ring", "model=mlp", "seed=0,1", "trainer.max_steps=4", "logger=wandb",
                 "~callbacks.progress_bar", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_ids, seeds = set(), set()
    for job in ("0", "1"):
        job_dir = tmp_path / "sweep" / job
        assert (job_dir / "metrics.json").is_file()
        run_file = wandb_files.run_file(job_dir)
        info = wandb_files.run_info(run_file)
        run_ids.add(info.run_id)
        seeds.add(wandb_files.config(run_file)["seed"])
        assert info.run_group == "sweep"  # one group per multirun: its sweep directory
        assert list(info.tags) == ["dataset=ring", "model=mlp", f"seed={job}", "trainer.max_steps=4", "logger=wandb"]
    assert len(run_ids) == 2 and seeds == {0, 1}


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["trainer.max_steps=abc"], ["model=foo"],
                                  ["trick=[feature_matching,feature_matching]"], ["paths.output_dir=/proc/x"],
                                  ["dataset.batch_size=0"], ["gan.d_steps=0"], ["model.generator.width=-1"]])
def test_answers_and_command_line_errors_come_before_torch_is_imported(tmp_path, args):
    """--help, --cfg and the command line's errors need only Hydra: torch and Lightning are imported after."""
    result = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "train.py"), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert imported and not {"torch", "lightning", "wandb"} & imported, sorted(imported)[:5]
    if args[0].startswith("-"):
        assert result.returncode == 0, result.stderr[-2000:]
    else:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert result.returncode == 2 and len(errors) == 1, result.stderr[-2000:]


def test_the_command_lines_bounds_are_the_constructors_own():
    """Every gankit constructor that checks an argument named in checks.GANKIT_BOUNDS checks the same bounds, so the
    fast command-line check and the constructor refuse the same values with the same message."""
    import re

    from gankit.checks import GANKIT_BOUNDS

    call = re.compile(r'arguments\.(?:optional\(arguments\.)?integer,? ?\(?"(\w+)", [\w.]+((?:, \w+=[^,)]+)*)\)')
    checked = 0
    for path in (ROOT / "src" / "gankit").rglob("*.py"):
        if path.name == "run.py":  # the run's own seed (cfg.seed), not a constructor's
            continue
        for name, bounds in call.findall(path.read_text()):
            if name in GANKIT_BOUNDS:
                found = dict(b.strip().split("=") for b in bounds.split(",") if b.strip())
                assert {k: int(v) for k, v in found.items()} == GANKIT_BOUNDS[name], f"{path.name}: {name}{bounds}"
                checked += 1
    assert checked >= 15
