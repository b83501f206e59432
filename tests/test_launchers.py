"""Hydra launchers and sweepers: joblib runs jobs in parallel for real, SLURM composes, Optuna optimises."""

import json
import subprocess
import sys

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.conftest import CONF_DIR, ROOT

TINY = ["dataset=ring", "model=mlp", "trainer.max_steps=6", "~callbacks.progress_bar",
        "+trainer.enable_progress_bar=false", "callbacks.samples.final={}",
        "metrics.num_samples=300", "metrics.num_samples_periodic=300"]


def train_cli(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_joblib_launcher_runs_the_jobs_in_parallel_processes(tmp_path):
    result = train_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=0,1", "logger=csv",
                       "hydra.sweep.dir=sweep", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in result.stdout + result.stderr
    for job in ("0", "1"):
        assert (tmp_path / "sweep" / job / "metrics.json").is_file()


def test_a_failed_run_does_not_stop_the_others_and_the_multirun_exits_1_with_one_line(tmp_path):
    result = train_cli("-m", "gan.d_steps=0,1", "logger=none", "hydra.sweep.dir=sweep", *TINY,
                       cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: 1 run(s) of the multirun failed: 0: ConfigError: gan.d_steps must be >= 1, got 0")
    assert (tmp_path / "sweep" / "1" / "metrics.json").is_file()


def slurm_requests(*overrides):
    """What hydra/launcher=slurm asks SLURM for, for the run `overrides` compose (gankit.slurm.requests)."""
    from gankit.slurm.requests import resolve

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("train", overrides=["hydra/launcher=slurm", *overrides], return_hydra_config=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"] == "hydra_plugins.gankit_slurm.slurm_launcher.SlurmLauncher"
    return resolve(launcher, cfg)


def test_the_slurm_launcher_asks_for_one_task_a_device_and_gpus_only_for_gpu_runs():
    cpu = slurm_requests("trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu", "dataset=ring")
    assert (cpu["tasks_per_node"], cpu["gpus_per_node"], cpu["cpus_per_task"], cpu["mem_gb"]) == (2, None, 1, 8)
    gpu = slurm_requests("trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2", "trainer.accelerator=gpu",
                         "dataset=folder", "dataset.num_workers=3")
    assert (gpu["nodes"], gpu["tasks_per_node"], gpu["gpus_per_node"], gpu["cpus_per_task"], gpu["mem_gb"]) == (
        2, 4, 4, 4, 4 * (4 + 3))
    given = slurm_requests("trainer.accelerator=gpu", "hydra.launcher.gpus_per_node=2", "hydra.launcher.mem_gb=32",
                           "hydra.launcher.cpus_per_task=6", "hydra.launcher.partition=a100")
    assert (given["gpus_per_node"], given["mem_gb"], given["cpus_per_task"], given["partition"]) == (2, 32, 6, "a100")
    assert given["signal_delay_s"] > 0 and given["max_num_timeout"] > 0 and given["timeout_min"] > 0


def test_optuna_searches_learning_rates_and_d_steps_on_the_main_metric(tmp_path):
    result = train_cli("hparams_search=lr_dsteps", "experiment=ring_mode_collapse", "hydra.sweeper.n_trials=2",
                       "logger=none", "hydra.sweep.dir=search", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    found = yaml.safe_load((tmp_path / "search" / "optimization_results.yaml").read_text())
    assert set(found["best_params"]) == {"gan.optimizer_g.lr", "gan.optimizer_d.lr", "gan.d_steps"}
    values = [json.loads((tmp_path / "search" / j / "metrics.json").read_text())["eval/reverse_kl"] for j in "01"]
    assert found["best_value"] == min(values)  # metrics.goal of the toy metrics: minimize reverse KL
    printed = result.stdout + result.stderr
    assert "\x1b[" not in printed and "setup plugin" not in printed  # Optuna's lines in Hydra's format
    assert "A new study created" in printed
    assert printed.count("GPU available") == 2  # Lightning's line once a run (not again by its own handler)
    assert (tmp_path / "search" / "0" / "train.log").read_text().count("GPU available") == 1
