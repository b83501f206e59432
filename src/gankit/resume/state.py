"""What a checkpoint needs beyond the modules, optimisers and loops for an exact resume: the random generator
states and the W&B run id.

Saved under `checkpoint[KEY]` (`checkpoint["gankit"]`) as tensors, ints, tuples and strings only (weights_only
loads them). The generators are restored when training starts, after everything that runs at start-up (model
construction, evaluator setup) has drawn from them, so the resumed run continues the random stream of the saved one.
"""

from __future__ import annotations

import logging
import random

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.loggers import WandbLogger

from gankit.resume import KEY

log = logging.getLogger(__name__)


def rng_state() -> dict:
    """torch CPU (and every CUDA device's, when CUDA is initialised), Python and NumPy generator states."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            log.warning("the checkpoint holds the CUDA generator states of %d devices, this machine has %d: CUDA "
                        "random numbers will differ from the interrupted run", len(cuda), torch.cuda.device_count())


def every_rank(trainer: pl.Trainer, state: dict) -> list[dict]:
    """`state` of every process, by rank (under DDP each draws its own noise); a collective call: checkpoints
    are assembled on every rank, then rank 0 writes them."""
    if trainer.world_size == 1 or not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return [state]
    states: list = [None] * trainer.world_size
    torch.distributed.all_gather_object(states, state)
    return states


def wandb_run_id(trainer: pl.Trainer) -> str | None:
    """The id of the run's W&B run (what a checkpoint saves), or None without a W&B logger."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and logger.version:
            return str(logger.version)
    return None


def saved_wandb_run_id(checkpoint: dict | None) -> str | None:
    """The W&B run id a checkpoint saved (None: none saved, or no checkpoint)."""
    return ((checkpoint or {}).get(KEY) or {}).get("wandb_run_id")


class ResumeState(pl.Callback):
    """Checkpoints the generator states and the W&B run id; restores the generators on resume."""

    def __init__(self):
        super().__init__()
        self._to_restore: dict | None = None

    def on_save_checkpoint(self, trainer: pl.Trainer, gan, checkpoint: dict) -> None:
        checkpoint[KEY] = {"rng": every_rank(trainer, rng_state()), "wandb_run_id": wandb_run_id(trainer)}

    def on_load_checkpoint(self, trainer: pl.Trainer, gan, checkpoint: dict) -> None:
        states = checkpoint.get(KEY, {}).get("rng") or []
        if len(states) not in (0, trainer.world_size):
            log.warning("the checkpoint holds the generator states of %d processes, this run has %d: random "
                        "numbers will differ from the interrupted run", len(states), trainer.world_size)
        self._to_restore = states[trainer.global_rank] if trainer.global_rank < len(states) else None

    def on_train_start(self, trainer: pl.Trainer, gan) -> None:
        if self._to_restore is not None:
            set_rng_state(self._to_restore)
            self._to_restore = None
