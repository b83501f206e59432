"""The progress bar of a run measured in optimizer steps (`trainer.max_steps`) while Lightning's bar counts batches.

A gankit batch takes 1 + g_steps / d_steps optimizer steps (a D update, and G's every d_steps-th batch), so
Lightning's bar, which takes the remaining steps for the remaining batches, stopped at about half its total, and
with max_epochs = -1 it read "Epoch 3/-2". This one counts the batches that remain and names the epoch alone."""

from __future__ import annotations

import math

from lightning.pytorch.callbacks import RichProgressBar


class ProgressBar(RichProgressBar):
    @property
    def total_train_batches(self) -> int | float:
        trainer = self.trainer
        if trainer.max_steps is None or trainer.max_steps <= 0:
            return trainer.num_training_batches
        gan = trainer.lightning_module
        steps_per_batch = 1 + gan.g_steps / gan.d_steps if hasattr(gan, "d_steps") else 1
        done = trainer.fit_loop.epoch_loop.batch_progress.current.ready  # this epoch's batches before a resume
        remaining = math.ceil((trainer.max_steps - trainer.global_step) / steps_per_batch)
        return min(trainer.num_training_batches, done + remaining)

    def _get_train_description(self, current_epoch: int) -> str:
        # A protected method of TQDMProgressBar (Lightning 2.5), overridden here only: Lightning has no public hook
        # for the bar's description, and its own one prints "Epoch 90/-2" for max_steps runs (max_epochs = -1).
        if self.trainer.max_epochs is not None and self.trainer.max_epochs > 0:
            return super()._get_train_description(current_epoch)
        return f"Epoch {current_epoch}"
