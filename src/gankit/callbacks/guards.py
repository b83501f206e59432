"""Guards that watch a run: divergence (non-finite losses or parameters) and mode collapse on toy data.

`DivergenceGuard` runs before every other callback's batch end (it is listed first and Lightning moves
ModelCheckpoint last), so a batch that produced non-finite values is never checkpointed: last.ckpt keeps the
last good weights. `ModeCollapseWarning` only warns: collapse is a result worth seeing, not an error.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import WandbLogger

from gankit import arguments
from gankit.checkpoint_io import load_safely
from gankit.errors import BadArgument, TrainingDiverged
from gankit.resume import last_checkpoint

log = logging.getLogger(__name__)


def nonfinite_parameter(module: torch.nn.Module) -> str | None:
    """The name of the first parameter holding a NaN or inf, or None."""
    return next((n for n, p in module.named_parameters() if not bool(torch.isfinite(p.detach()).all())), None)


def all_finite(module: torch.nn.Module, values: list[torch.Tensor]) -> bool:
    """Whether every parameter of `module` and every tensor in `values` is finite: one device sync in all."""
    device = next(module.parameters()).device
    flags = [torch.isfinite(p.detach()).all() for p in module.parameters()]
    flags += [torch.isfinite(v.detach()).all().to(device) for v in values]
    return bool(torch.stack(flags).all()) if flags else True


class DivergenceGuard(pl.Callback):
    """Stops the run (TrainingDiverged: step, losses, last good checkpoint) when a training loss became non-finite
    or, before every checkpoint is written, a parameter. Every batch's losses are kept (no sync, no walk over the
    parameters, no work on the device); every `every_n_batches` batches they are checked together (one sync) and
    the parameters are walked only when one was non-finite. With `rollbacks` > 0 it instead reloads the last good
    checkpoint's weights and optimiser states and goes on with every learning rate times `lr_factor`, at most
    `rollbacks` times (while rollbacks are left the losses are checked every batch, so no checkpoint comes first)."""

    def __init__(self, rollbacks: int = 0, lr_factor: float = 0.5, every_n_batches: int = 10, losses: str = "train/"):
        super().__init__()
        for name, value, fits in (("rollbacks", rollbacks, lambda v: v >= 0),
                                  ("lr_factor", lr_factor, lambda v: 0 < v < 1),
                                  ("every_n_batches", every_n_batches, lambda v: v >= 1)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not fits(value):
                raise BadArgument(name, "{object} needs rollbacks >= 0, 0 < lr_factor < 1 and every_n_batches >= 1, "
                                        f"got {{key}}={value!r}")
        self.rollbacks, self.lr_factor, self.losses = int(rollbacks), float(lr_factor), losses
        self.every_n_batches = int(every_n_batches)  # each check is one device sync
        self.rolled_back = 0
        self._unread: list[torch.Tensor] = []  # the losses since the last read (detached; on the device)
        self._batches = 0

    def on_save_checkpoint(self, trainer: pl.Trainer, gan, checkpoint: dict) -> None:
        """Before any checkpoint reaches the disk: non-finite weights are never saved over the last good ones."""
        if not all_finite(gan, []):
            raise TrainingDiverged(self._message(trainer, gan, nonfinite_parameter(gan), self._last_good(trainer)))

    def on_train_batch_end(self, trainer: pl.Trainer, gan, *args) -> None:
        self._batches += 1
        self._unread += [v for k, v in gan.batch_values.items() if k.startswith(self.losses) and torch.is_tensor(v)]
        can_roll_back = self.rolled_back < self.rollbacks  # then every batch: the next checkpoint must be good
        if (self._batches % self.every_n_batches and not can_roll_back) or not self._unread:
            return
        unread, self._unread = self._unread, []
        if bool(torch.isfinite(torch.cat([v.detach().reshape(-1) for v in unread])).all()):  # the one sync
            return
        parameter = nonfinite_parameter(gan)
        checkpoint = self._last_good(trainer)
        if checkpoint is not None and can_roll_back:
            self._roll_back(trainer, gan, checkpoint, parameter)
            return
        raise TrainingDiverged(self._message(trainer, gan, parameter, checkpoint))

    @staticmethod
    def _last_good(trainer: pl.Trainer) -> Path | None:
        path = last_checkpoint(trainer)
        return path if path is not None and path.is_file() else None

    def _message(self, trainer, gan, parameter: str | None, checkpoint: Path | None) -> str:
        losses = {k: float(v) for k, v in gan.batch_values.items()
                  if k.startswith(self.losses) and "loss" in k and torch.is_tensor(v) and v.numel() == 1}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(losses.items())) or "no loss yet"
        bad = sorted(k for k, v in losses.items() if not math.isfinite(v))
        what = f"non-finite parameter {parameter}" if parameter else f"non-finite {', '.join(bad) or 'loss'}"
        if checkpoint is None:
            kept = "no checkpoint was written before it"
        else:
            kept = f"the last good checkpoint {checkpoint} (step {load_safely(checkpoint)['global_step']}) is kept"
        return (f"training diverged at step {trainer.global_step}: {what} (last: {shown}); {kept}; "
                "lower the learning rates (gan.optimizer_g.lr, gan.optimizer_d.lr) or set "
                "callbacks.divergence.rollbacks=1")

    def _roll_back(self, trainer, gan, path: Path, parameter: str | None) -> None:
        checkpoint = load_safely(path)
        gan.load_state_dict(checkpoint["state_dict"])
        for optimizer, state in zip(trainer.optimizers, checkpoint["optimizer_states"], strict=True):
            optimizer.load_state_dict(state)
            for group in optimizer.param_groups:
                group["lr"] *= self.lr_factor
        for config in trainer.lr_scheduler_configs:
            config.scheduler.base_lrs = [lr * self.lr_factor for lr in config.scheduler.base_lrs]
        self.rolled_back += 1
        log.warning("divergence at step %d (%s): rolled back to the weights of %s (step %d) with learning rates "
                    "x%g (rollback %d of %d)", trainer.global_step, parameter or "non-finite losses", path,
                    checkpoint["global_step"], self.lr_factor, self.rolled_back, self.rollbacks)

    def state_dict(self) -> dict:
        return {"rolled_back": self.rolled_back}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rolled_back = int(state_dict.get("rolled_back", 0))


class ModeCollapseWarning(pl.Callback):
    """Mode collapse on toy data, judged on where the samples are, not only on the modes they hit: when the toy
    evaluation's `key` (the effective number of modes the samples lie near, exp(entropy) of their nearest-mode
    histogram) is at most `at_most` on data with more modes. That holds for samples on one mode, samples gathered
    at one point anywhere and a streak between two modes (0 covered); samples blurred over the whole data do not
    count. A warning line, `eval/mode_collapse` = 1 logged (0 while it does not hold) and, on W&B, a summary flag
    and an alert."""

    def __init__(self, key: str = "eval/effective_modes", at_most: float = 2.0, flag: str = "eval/mode_collapse",
                 covered: str = "eval/modes", quality: str = "eval/high_quality", advice: str = "",
                 suggest: list[str] | None = None):
        super().__init__()
        self.key, self.flag, self.advice = arguments.text("key", key), flag, str(advice)
        self.suggest = [arguments.text(f"suggest[{i}]", name) for i, name in enumerate(suggest or [])]
        self.at_most = arguments.number("at_most", at_most, at_least=1.0)  # 1: a single mode; effective modes >= 1
        self.covered, self.quality = covered, quality  # only to say in the warning what the samples cover
        self.collapsed = False
        self._checked: int | None = None  # the publication of `key` judged last

    def on_train_batch_end(self, trainer: pl.Trainer, gan, *args) -> None:
        self.check(trainer, gan)  # train.py lists the evaluation before this guard: its values are this step's

    def on_fit_end(self, trainer: pl.Trainer, gan) -> None:  # after the final evaluation (on_train_end)
        warned = self.check(trainer, gan)
        value = gan.values.get(self.key)
        if self.collapsed and not warned and value is not None and trainer.is_global_zero:  # still so at the end
            num_modes = len(trainer.datamodule.distribution.modes)
            log.warning("at the end: %s", self.message(trainer, gan, float(value), num_modes))

    def check(self, trainer: pl.Trainer, gan) -> bool:
        """Log the flag for a new evaluation; True when this call warned."""
        value, stamp = gan.values.get(self.key), gan.values.stamp(self.key)
        modes = getattr(getattr(trainer.datamodule, "distribution", None), "modes", None)
        if value is None or stamp == self._checked or modes is None or len(modes) <= self.at_most:
            return False
        self._checked = stamp
        collapsed = value <= self.at_most + 1e-6  # a streak split evenly between two modes is 2 (+- rounding)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({self.flag: float(collapsed)}, step=trainer.global_step)
        gan.values.publish({self.flag: float(collapsed)})
        warn = collapsed and not self.collapsed and trainer.is_global_zero
        if warn:
            text = self.message(trainer, gan, value, len(modes))
            log.warning(text)
            for logger in trainer.loggers:
                if isinstance(logger, WandbLogger):
                    logger.experiment.summary["mode_collapse"] = True
                    logger.experiment.alert(title="mode collapse", text=text, level="WARN")
        self.collapsed = collapsed
        return warn

    def message(self, trainer: pl.Trainer, gan, value: float, num_modes: int) -> str:
        covered, quality = gan.values.get(self.covered), gan.values.get(self.quality)
        covered = "?" if covered is None else f"{covered:g}"
        quality = "?" if quality is None else f"{quality:.1f}%"
        return (f"mode collapse at step {trainer.global_step}: the samples lie near {value:.2g} of {num_modes} modes "
                f"({self.key}, at most {self.at_most:g}); {covered} of {num_modes} modes covered, {quality} high "
                f"quality.{self.advice_for(gan)}")

    def advice_for(self, gan) -> str:
        """' <advice> trick=a or trick=b' with the suggested techniques this run does not use yet ('' without)."""
        unused = [name for name in self.suggest if name not in getattr(gan, "tricks", {})]
        if not self.advice or (self.suggest and not unused):
            return ""
        return " " + " ".join([self.advice, " or ".join(f"trick={name}" for name in unused)]).strip()
