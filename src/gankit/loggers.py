"""A CSV logger that continues its file across a resume instead of deleting it (Lightning's CSVLogger removes an
existing metrics.csv: "Previous log files ... will be deleted").

`continue_after`: the step of the checkpoint the run resumes (train.py sets it, gankit.resume.checkpoint): the rows
up to that step are kept, later ones (logged after the checkpoint by the interrupted attempt, logged again now)
dropped, so the file holds every row once. Rows are keyed by optimizer steps (`trainer/global_step`), as the GAN
logs them. hparams.yaml keeps the first run's config; a resume's own config is in its `.hydra/resume_<N>/`.
"""

from __future__ import annotations

import csv
import os
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from gankit import arguments


class ContinuedWriter(ExperimentWriter):
    """Lightning's writer, reading the rows an earlier attempt wrote (those after `continue_after` dropped)."""

    def __init__(self, log_dir: str, continue_after: int | None):
        self.continue_after = continue_after
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:  # Lightning's deletes metrics.csv; this one reads it
        if not os.path.isfile(self.metrics_file_path):
            return
        with open(self.metrics_file_path, newline="") as file:
            reader = csv.DictReader(file)
            rows, self.metrics_keys = list(reader), sorted(reader.fieldnames or [])
        kept = [r for r in rows if self.continue_after is None or float(r.get("step") or 0) <= self.continue_after]
        if len(kept) < len(rows):  # the interrupted attempt's rows after the checkpoint: logged again now
            self._rewrite(kept)

    def _rewrite(self, rows: list[dict]) -> None:
        partial = f"{self.metrics_file_path}.tmp"
        with open(partial, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(partial, self.metrics_file_path)

    def log_hparams(self, params: dict[str, Any]) -> None:
        if not os.path.isfile(os.path.join(self.log_dir, self.NAME_HPARAMS_FILE)):  # the run's first config
            super().log_hparams(params)


class CSVLogger(LightningCSVLogger):
    """lightning.pytorch.loggers.CSVLogger whose metrics.csv continues across resumes (see the module)."""

    def __init__(self, save_dir: str, name: str | None = "lightning_logs", version: int | str | None = None,
                 prefix: str = "", flush_logs_every_n_steps: int = 100, continue_after: int | None = None):
        super().__init__(save_dir, name=name, version=version, prefix=prefix,
                         flush_logs_every_n_steps=flush_logs_every_n_steps)
        self.continue_after = arguments.optional(arguments.integer, "continue_after", continue_after, at_least=0)

    @property
    @rank_zero_experiment
    def experiment(self) -> ContinuedWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuedWriter(self.log_dir, self.continue_after)
        return self._experiment


def without_anonymous(logger):
    """A WandbLogger whose wandb.init call leaves out `anonymous`: Lightning always passes anonymous=None, which
    W&B answers on every run with "The anonymous setting has no effect and will be removed". Lightning keeps
    wandb.init's arguments in the private `_wandb_init` dict (2.x); this is the one place gankit touches it, and
    it changes nothing when the attribute is absent."""
    init = getattr(logger, "_wandb_init", None)
    if isinstance(init, dict) and init.get("anonymous") is None:
        init.pop("anonymous", None)
    return logger
