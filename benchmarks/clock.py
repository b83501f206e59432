"""A callback for benchmarks/end_to_end.py: writes the wall-clock time (time.time()) at the start of the first
training step to `path`, so the benchmark can report the time from the command to the first step."""

from __future__ import annotations

import time
from pathlib import Path

import lightning.pytorch as pl


class FirstStep(pl.Callback):
    def __init__(self, path: str):
        self.path, self.stamped = Path(path), False

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if not self.stamped:
            self.path.write_text(repr(time.time()))
            self.stamped = True
