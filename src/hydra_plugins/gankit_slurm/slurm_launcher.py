"""hydra/launcher=slurm (gankit.slurm): one SLURM job per run of a multirun, through submitit, asking for what
each run's config needs.

Differs from hydra-submitit-launcher's SlurmLauncher (which it extends) in what a researcher meets:
- each run is its own job (not one array), asking for what that run's trainer needs (gankit.slurm.requests);
- a job SLURM refuses (no such partition, a request no node can satisfy) stops the sweep with one line, exit 2,
  and the jobs already submitted are cancelled;
- every job is waited for; one that fails leaves `error.txt` in its run directory (train.py's own line, or the
  job's state and the last line of its log when it died without a result), and the multirun then lists it
  (gankit.sweeps.failures.ReportFailedRuns) instead of stopping at the first failure.
Jobs run with the submitting python (sys.executable) in its environment (sbatch exports it), from the
launch directory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher
from omegaconf import DictConfig, OmegaConf, open_dict

from gankit.errors import ConfigError
from gankit.slurm import MAX_REQUEUES_ENV, jobs, requests

log = logging.getLogger(__name__)
BASE = set(OmegaConf.structured(BaseQueueConf).keys())  # submitit's names for these have no slurm_ prefix
INIT = {"submitit_folder", "max_num_timeout"}


class SlurmLauncher(BaseSubmititLauncher):
    _EXECUTOR = "slurm"

    def _executor(self):
        import submitit

        return submitit.AutoExecutor(cluster="slurm", folder=self.params["submitit_folder"],
                                     slurm_max_num_timeout=self.params.get("max_num_timeout", 0))

    def _run_config(self, overrides: list[str], idx: int) -> DictConfig:
        assert self.hydra_context is not None and self.config is not None
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        with open_dict(cfg.hydra.job):
            cfg.hydra.job.num = idx
        return cfg

    def _submit(self, executor, cfg: DictConfig, overrides: list[str], idx: int):
        params = requests.resolve({k: v for k, v in self.params.items() if k not in INIT}, cfg)
        executor.update_parameters(**{k if k in BASE else f"slurm_{k}": v for k, v in params.items()})
        shown = {k: params.get(k) for k in ("partition", "tasks_per_node", "gpus_per_node", "cpus_per_task", "mem_gb")}
        try:
            job = executor.submit(self, overrides, "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state())
        except Exception as error:  # submitit's FailedJobError carries sbatch's stderr
            raise ConfigError(f"SLURM refused run {idx} ({_show(shown)}): {_sbatch_reason(error)}") from None
        log.info("\t#%d : %s -> SLURM job %s (%s)", idx, " ".join(filter_overrides(overrides)), job.job_id,
                 _show(shown))
        return job

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        executor = self._executor()
        os.environ[MAX_REQUEUES_ENV] = str(self.params.get("max_num_timeout", 0))  # sbatch exports it to the jobs
        submitted: list[tuple[Any, DictConfig, list[str]]] = []
        try:
            for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
                cfg = self._run_config(list(overrides), idx)
                submitted.append((self._submit(executor, cfg, list(overrides), idx), cfg, list(overrides)))
        except ConfigError as error:
            _cancel([job for job, _, _ in submitted])
            print(f"error: {error}", file=sys.stderr)
            sys.exit(error.exit_status)
        lost = jobs.wait([job for job, _, _ in submitted])
        return [self._outcome(job, cfg, overrides, lost.get(job.job_id)) for job, cfg, overrides in submitted]

    def _outcome(self, job, cfg: DictConfig, overrides: list[str], lost_state: str | None) -> JobReturn:
        """The run's JobReturn; a failed run's reason goes to error.txt and the multirun goes on."""
        run_dir = Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
        if lost_state is None:
            kind, value = _result(job)
            if kind == "success" and isinstance(value, JobReturn) and value.status == JobStatus.COMPLETED:
                return value
            reason = f"{value._return_value!r}" if isinstance(value, JobReturn) else _last_traceback_line(value)
        else:
            line = jobs.last_line(job.paths.stderr, job.paths.stdout)
            reason = f"SLURM job {job.job_id} {lost_state} without a result; last line of its log: {line or '(empty)'}"
        _record_failure(run_dir, overrides, f"{reason} (log: {job.paths.stderr})")
        ret = JobReturn(overrides=overrides, working_dir=str(run_dir), task_name=str(cfg.hydra.job.name))
        ret.status = JobStatus.COMPLETED  # as train.py's own failures in a multirun: error.txt, then the others
        ret.return_value = None
        return ret


def _result(job) -> tuple[str, Any]:
    import pickle

    with open(job.paths.result_pickle, "rb") as f:
        return pickle.load(f)


def _last_traceback_line(text: Any) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed"


def _record_failure(run_dir: Path, overrides: list[str], reason: str) -> None:
    """error.txt (unless train.py wrote its own line) and the run's overrides, so a sweep report finds it."""
    import yaml

    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    if not (run_dir / ".hydra" / "overrides.yaml").is_file():
        (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if not (run_dir / "error.txt").is_file():
        (run_dir / "error.txt").write_text(" ".join(reason.split()) + "\n")
    log.error("run %s failed: %s", run_dir, (run_dir / "error.txt").read_text().strip())


def _sbatch_reason(error: Exception) -> str:
    """sbatch's own complaint ('Invalid partition name specified') from submitit's error text."""
    lines = [line.strip() for line in str(error).splitlines() if "error:" in line]
    reason = lines[-1].split("error:", 1)[1].strip() if lines else _last_traceback_line(error)
    hint = ""
    if "partition" in reason.lower():
        hint = f"; partitions here: {_partitions()} (set hydra.launcher.partition)"
    elif "node configuration" in reason.lower() or "gres" in reason.lower() or "memory" in reason.lower():
        hint = ("; no node has that much: lower hydra.launcher.mem_gb / cpus_per_task / gpus_per_node / "
                "tasks_per_node (sinfo -o '%P %c %m %G' shows the nodes)")
    return reason + hint


def _partitions() -> str:
    try:
        out = subprocess.run(["sinfo", "--noheader", "--format=%P"], capture_output=True, text=True, timeout=60)
        return ", ".join(sorted({p.strip() for p in out.stdout.split()})) or "none"
    except (OSError, subprocess.SubprocessError):
        return "unknown (sinfo failed)"


def _cancel(submitted: list) -> None:
    if submitted:
        subprocess.run(["scancel", *(job.job_id for job in submitted)], capture_output=True, timeout=60)


def _show(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)
