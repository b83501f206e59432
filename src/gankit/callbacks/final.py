"""The end of a run that finished: the last batch's training values, `last.ckpt` at the final step, `metrics.json`.

A run directory with `metrics.json` finished (sweeps count it so), so the file is written after the final
checkpoint was saved, and a run that stops earlier (diverged, interrupted, failed) has none.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as pl

from gankit.checkpoint_io import writing
from gankit.resume import last_checkpoint


class FinalRecord(pl.Callback):
    """Writes `path` (metrics.json): the run's latest values (`gan.values`: the last batch's training values and
    the evaluation's), the step, and the evaluation's final record (`gan.values.final`: final `eval/...` values and
    their `protocol`). `metrics` holds the same dict on every process; rank 0 writes it.

    Listed last: its on_fit_end follows the one where the mode-collapse guard publishes its final flag."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.metrics: dict = {}

    def on_train_end(self, trainer: pl.Trainer, gan) -> None:
        # The last batch's values: logged only on Lightning's rhythm, published here for the final curves and
        # metrics.json (after the final evaluation; every on_fit_end reads them).
        gan.values.publish(gan.batch_values)

    def on_fit_end(self, trainer: pl.Trainer, gan) -> None:
        path = last_checkpoint(trainer)
        if path is not None:  # ModelCheckpoint saves only on its step multiples
            trainer.save_checkpoint(path, weights_only=False)
        metrics = {**gan.values.latest(), "step": trainer.global_step, **gan.values.final}
        self.metrics = metrics
        if trainer.is_global_zero:
            with writing(self.path):  # a full disk or a read-only folder: one line naming the file
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(json.dumps(metrics, indent=2, sort_keys=True))
