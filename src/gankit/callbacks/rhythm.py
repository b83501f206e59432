"""The batches on which training values are logged: Lightning's own logger rhythm.

Lightning sends logged values to the loggers on every `log_every_n_steps`-th batch (counting
batches, not optimizer steps) and when training stops. Logging (`self.log`) costs about a
millisecond a call, so the GAN logs, and the training curves record, on those batches only.
"""

from __future__ import annotations

import lightning.pytorch as pl


def logging_batch(trainer: pl.Trainer) -> bool:
    """True during a training batch (training_step to on_train_batch_end) whose logged values reach the loggers."""
    return trainer._logger_connector.should_update_logs  # Lightning's rule; no public accessor
