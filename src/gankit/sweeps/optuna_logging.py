"""A Hydra callback for Optuna searches (hparams_search=...): Optuna's messages through Hydra's logging (one format,
no colour codes: Optuna's own handler writes ANSI colours even into a file or a pipe)."""

from __future__ import annotations

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class OptunaThroughHydra(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:  # before the sweeper creates its study
        import optuna

        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()
