"""Writes a figure of samples from fixed noise every N steps and at the end; logs it to W&B."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import WandbLogger


class SampleWriter(pl.Callback):
    """Fixed noise [num_samples, latent_dim], so figures are comparable across steps."""

    def __init__(self, figure: Callable, dirpath: str, every_n_steps: int = 500,
                 num_samples: int = 64, seed: int = 1234, key: str = "samples"):
        super().__init__()
        self.figure, self.dirpath, self.key = figure, Path(dirpath), key
        self.every_n_steps, self.num_samples, self.seed = int(every_n_steps), int(num_samples), seed
        self.noise: torch.Tensor | None = None
        self._next_step = self.every_n_steps
        self._last_written: int | None = None

    def on_fit_start(self, trainer: pl.Trainer, gan) -> None:
        if self.noise is None:
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(self.num_samples, gan.latent_dim, generator=generator)
        self._next_step = (trainer.global_step // self.every_n_steps + 1) * self.every_n_steps

    def on_train_batch_end(self, trainer: pl.Trainer, gan, *args) -> None:
        if self.every_n_steps > 0 and trainer.global_step >= self._next_step:
            self._next_step += self.every_n_steps
            self.write(trainer, gan)

    def on_train_end(self, trainer: pl.Trainer, gan) -> None:
        self.write(trainer, gan)

    def write(self, trainer: pl.Trainer, gan) -> Path | None:
        if not trainer.is_global_zero or self._last_written == trainer.global_step:
            return None
        self._last_written = trainer.global_step
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"step_{trainer.global_step:07d}.png"
        fake = gan.sample(self.num_samples, noise=self.noise)
        real = trainer.datamodule.sample_real(self.num_samples)
        self.figure(path, fake, real, gan)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key=self.key, images=[str(path)], step=trainer.global_step)
        return path

    def state_dict(self) -> dict:
        return {"noise": self.noise}

    def load_state_dict(self, state_dict: dict) -> None:
        self.noise = state_dict.get("noise")
