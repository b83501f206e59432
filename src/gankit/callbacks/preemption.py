"""SIGTERM (a cluster's preemption notice): finish the batch, save last.ckpt, exit with status 143.

Lightning's own SIGTERM handler only sets a flag and raises SIGTERMException at the end of the current batch;
this callback saves the checkpoint then (the batch is complete, so the checkpoint resumes at the next one).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)


class SaveOnPreemption(pl.Callback):
    """On SIGTERM during fit: last.ckpt in the checkpoint callback's folder, then exit 128 + SIGTERM."""

    def on_exception(self, trainer: pl.Trainer, gan, exception: BaseException) -> None:
        callback = trainer.checkpoint_callback
        if not isinstance(exception, SIGTERMException) or callback is None or callback.dirpath is None:
            return
        path = Path(callback.dirpath) / f"{callback.CHECKPOINT_NAME_LAST}.ckpt"
        trainer.save_checkpoint(path, weights_only=False)
        exception.code = 128 + signal.SIGTERM  # the shell's convention for "killed by SIGTERM"
        if trainer.is_global_zero:
            log.warning("SIGTERM: saved %s at step %d; resume with ckpt_path=last (or ckpt_path=%s)",
                        path, trainer.global_step, path)
