"""`trainer=ddp` as one SLURM job of 2 tasks on the local cluster (CPU, gloo): srun starts both processes and
Lightning's SLURM environment gives them their ranks; they end with equal parameters and rank 0 alone writes."""

from __future__ import annotations

import sys

import torch

from tests.conftest import ROOT
from tests.slurm_cluster import local_slurm, run  # noqa: F401 (the fixture `slurm`)

RUN = ["-m", "hydra/launcher=slurm", "trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu", "dataset=ring",
       "model=mlp", "model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]", "dataset.batch_size=32",
       "trainer.max_steps=40", "metrics=toy", "metrics.num_samples=501", "metrics.eval_every=20",
       "callbacks.samples.every_n_steps=20", "~callbacks.progress_bar", "+trainer.enable_progress_bar=false",
       "~callbacks.curves", "logger=wandb", "hydra.sweep.dir=sweep"]


def test_a_two_task_slurm_job_trains_ddp_with_ranks_from_slurm(slurm, tmp_path):
    states = tmp_path / "states"
    result = run(str(ROOT / "train.py"), *RUN, "+callbacks.state._target_=tests.ddp_state.SaveStatePerRank",
                 f"+callbacks.state.dirpath={states}", cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    run_dir = tmp_path / "sweep" / "0"
    (job,) = [p.name for p in (tmp_path / "sweep" / ".submitit").iterdir() if p.is_dir()]
    script = (tmp_path / "sweep" / ".submitit" / job / f"{job}_submission.sh").read_text()
    assert "#SBATCH --ntasks-per-node=2" in script and "gpus" not in script and "gres" not in script
    assert f" {sys.executable} -u -m submitit.core._submit " in script  # the submitting python
    for rank in (0, 1):  # one srun task a rank, each with its own log; Lightning took the ranks from SLURM
        log = "".join((tmp_path / "sweep" / ".submitit" / job / f"{job}_{rank}_log.{kind}").read_text()
                      for kind in ("out", "err"))  # Lightning logs through Hydra's console handler (stdout)
        assert f"Initializing distributed: GLOBAL_RANK: {rank}, MEMBER: {rank + 1}/2" in log, log[-3000:]
    first, second = (torch.load(states / f"rank{r}.pt") for r in (0, 1))
    assert first["state"].keys() == second["state"].keys()
    for key in first["state"]:
        assert torch.equal(first["state"][key], second["state"][key]), key
    assert not torch.equal(first["first_batch"], second["first_batch"])  # each rank trained on its own data
    assert len(list(run_dir.glob("wandb/offline-run-*"))) == 1  # rank 0 alone holds the W&B run ...
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [
        "animation.gif", "final_points.pt", "step_0000020.png", "step_0000040.png"]  # ... and writes the pictures once
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["last.ckpt"]
    assert '"processes": 2' in (run_dir / "metrics.json").read_text()
