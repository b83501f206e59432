"""A sweep on a real (local, one-node) SLURM cluster: one job per run, two of them interrupted mid-training.

`sweep.py study=cluster_smoke hydra/launcher=slurm` submits three twin runs. While they train, run 0 is requeued
with `scontrol requeue` (what a preemption does) and run 1 gets SIGUSR2, the notice `sbatch --signal` sends
before the time limit. Each must save last.ckpt, be requeued, restart in the same run directory from that
checkpoint with the same W&B run, and end with exactly the weights of run 2, which ran uninterrupted.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import torch
import yaml

from gankit.checkpoint_io import load_safely
from tests import wandb_files
from tests.conftest import ROOT
from tests.slurm_cluster import job_env, local_slurm, state, wait_until  # noqa: F401 (the fixture `slurm`)

STEPS = 1200  # conf/sweep/cluster_smoke.yaml
INTERRUPTED = ("0", "1")


def job_id(run_dir) -> str:
    """The SLURM job of a run: Hydra records submitit's job id as hydra.job.id."""
    return str(yaml.safe_load((run_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["id"])


def interrupt(sweep_dir, launched) -> dict[str, str]:
    """Requeue run 0 and send run 1 the time-limit notice once both train (their first checkpoint, step 100);
    then let both restart at once. {run: job id}."""
    jobs = {}
    for run in INTERRUPTED:  # each as soon as it has its first checkpoint (the runs may not start together)
        wait_until(lambda run=run: (sweep_dir / run / "checkpoints" / "last.ckpt").is_file()
                   or launched.poll() is not None, timeout=300, what=f"run {run}'s first checkpoint")
        assert launched.poll() is None, launched.communicate()[0][-3000:]
        jobs[run] = job_id(sweep_dir / run)
        if run == "0":
            subprocess.run(["scontrol", "requeue", jobs[run]], check=True)
        else:  # to the job's tasks, as --signal does
            subprocess.run(["scancel", "--signal=USR2", jobs[run]], check=True)
    for job in jobs.values():  # SLURM holds a requeued job back about two minutes (BeginTime): start it now
        wait_until(lambda job=job: state(job) == ("PENDING", "BeginTime"), timeout=120, what=f"job {job} requeued")
        subprocess.run(["scontrol", "update", f"jobid={job}", "StartTime=now"], check=True)
    return jobs


@pytest.fixture(scope="module")
def sweep(slurm, tmp_path_factory):
    """(sweep directory, {run: job id} of the interrupted runs) after the study finished."""
    cwd = tmp_path_factory.mktemp("slurm_sweep")
    launched = subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), "study=cluster_smoke", "hydra/launcher=slurm",
                                 "hydra.sweep.dir=sweep"], cwd=cwd, env=job_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    try:
        jobs = interrupt(cwd / "sweep", launched)
        output, _ = launched.communicate(timeout=420)
    finally:
        if launched.poll() is None:  # the test failed on the way: stop the sweep and its jobs
            launched.send_signal(signal.SIGINT)
            launched.communicate(timeout=60)
            submitted = [p.name for p in (cwd / "sweep" / ".submitit").glob("[0-9]*")]
            subprocess.run(["scancel", *submitted], check=False)
    assert launched.returncode == 0, output[-4000:]
    return cwd / "sweep", jobs


def test_every_run_finishes_and_the_aggregate_lists_all_as_ok(sweep):
    sweep_dir, _ = sweep
    runs = (sweep_dir / "runs.csv").read_text()
    assert runs.count(",ok,") == 3, runs
    assert "| twin_a |" in (sweep_dir / "results.md").read_text()
    for run in ("0", "1", "2"):
        assert load_safely(sweep_dir / run / "checkpoints" / "last.ckpt")["global_step"] == STEPS


@pytest.mark.parametrize("run, notice", [("0", None), ("1", "SLURM time-limit notice: requeueing job")])
def test_an_interrupted_run_saved_on_sigterm_and_resumed_from_its_checkpoint(sweep, run, notice):
    sweep_dir, jobs = sweep
    job, logs = jobs[run], sweep_dir / ".submitit" / jobs[run]
    log = "".join((logs / f"{job}_0_log.{kind}").read_text() for kind in ("out", "err"))  # both attempts: appended
    if notice:
        assert f"{notice} {job} (restart 1 of at most 3)" in log, log[-3000:]
    ckpt = sweep_dir.resolve() / run / "checkpoints" / "last.ckpt"
    assert f"SIGTERM: saved {ckpt} at step " in log, log[-3000:]
    saved_at = int(log.split("SIGTERM: saved")[1].split(" at step ")[1].split(";")[0])
    assert 100 <= saved_at < STEPS  # mid-training
    assert f"SLURM job {job} restarted (1): resuming from {ckpt}" in log
    assert f"Restoring states from the checkpoint path at {ckpt}" in log
    assert not list(sweep_dir.rglob("hpc_ckpt_*.ckpt"))  # Lightning's own auto-requeue stayed off


@pytest.mark.parametrize("run", INTERRUPTED)
def test_an_interrupted_run_ends_with_the_weights_of_its_uninterrupted_twin(sweep, run):
    sweep_dir, _ = sweep
    resumed, twin = (load_safely(sweep_dir / r / "checkpoints" / "last.ckpt") for r in (run, "2"))
    assert resumed["state_dict"].keys() == twin["state_dict"].keys()
    for key, value in twin["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), key
    for a, b in zip(twin["optimizer_states"], resumed["optimizer_states"], strict=True):
        for state_a, state_b in zip(a["state"].values(), b["state"].values(), strict=True):
            assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_each_run_is_one_wandb_run(sweep):
    sweep_dir, _ = sweep
    files = {run: sorted((sweep_dir / run).glob("wandb/offline-run-*/run-*.wandb")) for run in ("0", "1", "2")}
    assert [len(files[run]) for run in ("0", "1", "2")] == [2, 2, 1]  # an interrupted attempt and its continuation
    for run in INTERRUPTED:
        assert len({f.stem for f in files[run]}) == 1  # ... are one W&B run
        assert wandb_files.run_info(files[run][-1]).run_id == files[run][-1].stem.removeprefix("run-")
    assert len({f.stem for fs in files.values() for f in fs}) == 3  # and the three runs three W&B runs
