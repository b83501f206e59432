"""Resuming a run, in one place: where its checkpoint is, what a checkpoint holds beyond the weights, and how a run
picks it up again.

- `command_line.py`: before Hydra starts, `ckpt_path=last` (or a path inside a run directory) becomes that run's
  directory and overrides;
- `checkpoint.py`: inside the run, which file `ckpt_path` names, reading it, checking it fits the model, the W&B
  run it continues;
- `state.py`: the `ResumeState` callback, the random generator states and the W&B run id saved under `KEY`;
- `preemption.py`: the `SaveOnPreemption` callback, SIGTERM saves `last.ckpt`, SLURM's time-limit notice requeues.

Lightning needs the in-run parts as callbacks (conf/callbacks/default.yaml names them); their paths and keys are
the ones below.
"""

from __future__ import annotations

from pathlib import Path

LAST = "checkpoints/last.ckpt"  # a run directory's latest checkpoint (conf/callbacks: checkpoint.dirpath)
KEY = "gankit"  # checkpoint["gankit"]: what gankit saves beyond Lightning's own (state.py)


def last_checkpoint(trainer) -> Path | None:
    """The trainer's `last.ckpt` (in its ModelCheckpoint's folder, `<run>/checkpoints/`), or None without one."""
    callback = trainer.checkpoint_callback
    if callback is None or callback.dirpath is None:
        return None
    return Path(callback.dirpath) / f"{callback.CHECKPOINT_NAME_LAST}{callback.FILE_EXTENSION}"
