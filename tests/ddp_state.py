"""A callback the DDP tests add from the command line: each process saves what it trained with."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch


class SaveStatePerRank(pl.Callback):
    """At the end of fit: <dirpath>/rank<r>.pt with the module's state_dict and the first real batch it saw."""

    def __init__(self, dirpath: str):
        self.dirpath, self.first_batch = Path(dirpath), None

    def on_train_batch_start(self, trainer, gan, batch, batch_idx) -> None:
        if self.first_batch is None:
            self.first_batch = batch.detach().cpu().clone()

    def on_fit_end(self, trainer, gan) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() if torch.is_tensor(v) else v for k, v in gan.state_dict().items()}
        torch.save({"state": state, "first_batch": self.first_batch, "d_updates": gan.d_updates},
                   self.dirpath / f"rank{trainer.global_rank}.pt")
