"""SIGTERM (a cluster's preemption notice, or SLURM requeueing the job): finish the batch, save last.ckpt, exit 143.

Lightning's own SIGTERM handler only sets a flag and raises SIGTERMException at the end of the current batch;
this callback saves the checkpoint then (the batch is complete, so the checkpoint resumes at the next one).

Under SLURM it also answers the time-limit notice (`sbatch --signal=USR2@120`, which hydra/launcher=slurm asks
for) by requeueing the job with `scontrol requeue`: SLURM then sends SIGTERM, and the path above saves. The
requeued job resumes from last.ckpt (gankit.resume.checkpoint.checkpoint_path). This is gankit's one requeue mechanism:
Lightning's SLURM auto-requeue (hpc_ckpt_N.ckpt files, its own SIGUSR1 handler) is switched off in train.py.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

from gankit import arguments
from gankit.errors import BadArgument
from gankit.resume import last_checkpoint
from gankit.slurm import MAX_REQUEUES_ENV  # set by the SLURM launcher from hydra.launcher.max_num_timeout

log = logging.getLogger(__name__)


class SaveOnPreemption(pl.Callback):
    """On SIGTERM during fit: last.ckpt in the checkpoint callback's folder, then exit 128 + SIGTERM.

    `time_limit_signal`: the signal SLURM sends before the time limit (submitit's USR2); in a SLURM job rank 0
    requeues the job on it, unless the job was restarted `GANKIT_SLURM_MAX_REQUEUES` (default 0) times already."""

    def __init__(self, time_limit_signal: str = "USR2"):
        super().__init__()
        name = f"SIG{str(time_limit_signal).upper().removeprefix('SIG')}"
        if not isinstance(getattr(signal, name, None), signal.Signals):
            raise BadArgument("time_limit_signal", f"must be a signal name (USR2, TERM, ...), "
                                                   f"got {time_limit_signal!r}")
        self.time_limit_signal = getattr(signal, name)
        self.allowed_requeues = arguments.environment_integer(MAX_REQUEUES_ENV)  # read when built: bad -> one line
        self._previous = None

    def setup(self, trainer: pl.Trainer, gan, stage: str) -> None:
        if stage == "fit" and "SLURM_JOB_ID" in os.environ and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(self.time_limit_signal, self._requeue)  # submitit's would exit mid-step

    def teardown(self, trainer: pl.Trainer, gan, stage: str) -> None:
        if self._previous is not None:
            signal.signal(self.time_limit_signal, self._previous)
            self._previous = None

    def _requeue(self, signum, frame) -> None:
        if os.environ.get("SLURM_PROCID", "0") != "0":
            return  # rank 0 asks; SLURM's SIGTERM then reaches every task
        job = os.environ["SLURM_JOB_ID"]
        restarts, allowed = arguments.environment_integer("SLURM_RESTART_COUNT"), self.allowed_requeues
        if restarts >= allowed:
            log.warning("SLURM time-limit notice: job %s already restarted %d times (at most %d): not requeued; "
                        "its last periodic checkpoint remains", job, restarts, allowed)
            return
        log.warning("SLURM time-limit notice: requeueing job %s (restart %d of at most %d)", job, restarts + 1,
                    allowed)
        subprocess.Popen(["scontrol", "requeue", job])  # SLURM answers with SIGTERM: see on_exception

    def on_exception(self, trainer: pl.Trainer, gan, exception: BaseException) -> None:
        path = last_checkpoint(trainer)
        if not isinstance(exception, SIGTERMException) or path is None:
            return
        trainer.save_checkpoint(path, weights_only=False)
        exception.code = 128 + signal.SIGTERM  # the shell's convention for "killed by SIGTERM"
        if trainer.is_global_zero:
            log.warning("SIGTERM: saved %s at step %d; resume with ckpt_path=last (or ckpt_path=%s)",
                        path, trainer.global_step, path)
