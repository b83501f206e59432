"""Writes a figure of samples from fixed noise every N steps and at the end, then the end-of-run
pictures (a large grid, latent interpolations, an animation of the run); logs each to W&B."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import WandbLogger

from gankit import arguments
from gankit.callbacks.observing import observing
from gankit.callbacks.schedule import EveryNSteps
from gankit.checkpoint_io import writing


def log_picture(trainer: pl.Trainer, key: str, path: Path) -> None:
    """A PNG or GIF file to every W&B logger under `key`, at the current step."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[str(path)], step=trainer.global_step)


class SampleWriter(pl.Callback):
    """Fixed noise [num_samples, latent_dim], so figures are comparable across steps.

    `final` maps a name to a picture(path, gan, frames) -> bool that runs once at the end and writes
    `<dirpath>/<name><picture.suffix>` (False: it does not apply to this data); logged as `pictures/<name>`.
    """

    def __init__(self, figure: Callable, dirpath: str, every_n_steps: int = 500,
                 num_samples: int = 64, seed: int = 1234, key: str = "samples",
                 final: dict[str, Callable] | None = None, final_prefix: str = "pictures"):
        super().__init__()
        self.figure, self.dirpath, self.key = figure, Path(arguments.text("dirpath", dirpath)), key
        self.every_n_steps = arguments.integer("every_n_steps", every_n_steps, at_least=0)
        self.num_samples = arguments.integer("num_samples", num_samples, at_least=1)
        self.seed = arguments.integer("seed", seed, at_least=0)
        self.final, self.final_prefix = dict(final or {}), final_prefix
        self.noise: torch.Tensor | None = None
        self._schedule = EveryNSteps(self.every_n_steps)
        self._last_written: int | None = None

    def on_fit_start(self, trainer: pl.Trainer, gan) -> None:
        if self.noise is None:
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(self.num_samples, gan.latent_dim, generator=generator)

    def on_train_start(self, trainer: pl.Trainer, gan) -> None:  # a resumed run's step is restored by now
        self._schedule.start(trainer.global_step)

    def on_train_batch_end(self, trainer: pl.Trainer, gan, *args) -> None:
        if self._schedule.due(trainer.global_step):  # generator states saved and restored only when a figure is due
            observing(self.write)(trainer, gan)  # (~0.3 ms a batch when every batch did)

    @observing
    def on_train_end(self, trainer: pl.Trainer, gan) -> None:
        self.write(trainer, gan)
        self.save_points(trainer, gan)
        self.write_final(trainer, gan)

    def save_points(self, trainer: pl.Trainer, gan) -> Path | None:
        """Vector data: the final samples from the fixed noise and as many real ones, {"step", "fake": [N, D],
        "real": [N, D]} in `final_points.pt`, so a sweep can draw every run on the same axes."""
        if not trainer.is_global_zero:
            return None
        fake = gan.sample(self.num_samples, noise=self.noise)
        if fake.dim() != 2:
            return None
        path = self.dirpath / "final_points.pt"
        real = trainer.datamodule.sample_real(self.num_samples)
        with writing(path):
            torch.save({"step": trainer.global_step, "fake": fake.detach().float().cpu(),
                        "real": real.detach().float().cpu()}, path)
        return path

    def write(self, trainer: pl.Trainer, gan) -> Path | None:
        if not trainer.is_global_zero or self._last_written == trainer.global_step:
            return None
        self._last_written = trainer.global_step
        path = self.dirpath / f"step_{trainer.global_step:07d}.png"
        with writing(self.dirpath, "folder"):
            self.dirpath.mkdir(parents=True, exist_ok=True)
        fake = gan.sample(self.num_samples, noise=self.noise)
        real = trainer.datamodule.sample_real(self.num_samples)
        with writing(path, "picture"):
            self.figure(path, fake, real, gan)
        log_picture(trainer, self.key, path)
        return path

    def write_final(self, trainer: pl.Trainer, gan) -> list[Path]:
        """The end-of-run pictures that apply to this data; the step figures so far are their frames."""
        if not trainer.is_global_zero:
            return []
        frames = sorted(self.dirpath.glob("step_*.png"))
        written = []
        for name, picture in self.final.items():
            path = self.dirpath / f"{name}{picture.suffix}"
            with writing(path, "picture"):
                drawn = picture(path, gan, frames)
            if drawn:
                log_picture(trainer, f"{self.final_prefix}/{name}", path)
                written.append(path)
        return written

    def state_dict(self) -> dict:
        return {"noise": self.noise}

    def load_state_dict(self, state_dict: dict) -> None:
        self.noise = state_dict.get("noise")
