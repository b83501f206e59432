"""Toy distributions: ring and grid of Gaussians (VEEGAN/PacGAN), 1-D Gaussian, circle; sampled on the fly
or, with `train_size`, as a fixed training set drawn once (Lin et al. 2018: 100,000 examples)."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import torch
from torch import Tensor

from gankit import arguments
from gankit.data.batches import PositionedBatches, TensorBatches, placement
from gankit.errors import BadArgument


class GaussianMixture:
    """Equal-weight isotropic Gaussians at `modes` [M, D] with standard deviation `std`."""

    def __init__(self, modes: Tensor, std: float):
        self.modes, self.std = modes.float(), arguments.number("std", std, above=0.0)
        self.dim = self.modes.shape[1]

    def sample(self, n: int, device: torch.device | str | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """[n, D] points on `device` (default: the generator's, or the CPU); mode indices drawn uniformly."""
        device = device or (generator.device if generator is not None else None)
        modes = self.modes if device is None else self.modes.to(device)
        index = torch.randint(len(modes), (n,), device=modes.device, generator=generator)
        return modes[index] + self.std * torch.randn(n, self.dim, device=modes.device, generator=generator)


class Ring(GaussianMixture):
    """`num_modes` Gaussians at angles i * 2pi / num_modes on a circle (8, radius 1, std 0.01)."""

    def __init__(self, num_modes: int = 8, radius: float = 1.0, std: float = 0.01):
        num_modes = arguments.integer("num_modes", num_modes, at_least=1)
        radius = arguments.number("radius", radius, above=0.0)
        angles = torch.arange(num_modes, dtype=torch.float64) * 2 * math.pi / num_modes
        super().__init__(radius * torch.stack([angles.cos(), angles.sin()], dim=1), std)


class Grid(GaussianMixture):
    """Gaussians on a square lattice: {-4, -2, 0, 2, 4}^2 with std 0.05 by default."""

    def __init__(self, side: int = 5, spacing: float = 2.0, std: float = 0.05):
        side, spacing = arguments.integer("side", side, at_least=1), arguments.number("spacing", spacing, above=0.0)
        axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
        xs, ys = torch.meshgrid(axis, axis, indexing="ij")
        super().__init__(torch.stack([xs.flatten(), ys.flatten()], dim=1), std)


class Gaussian1D(GaussianMixture):
    """One Gaussian on the line, as in Figure 1 of Goodfellow et al. 2014."""

    def __init__(self, mean: float = 4.0, std: float = 0.5):
        super().__init__(torch.tensor([[arguments.number("mean", mean)]]), std)


class Circle:
    """Points uniform on a circle, plus optional radial noise (a continuous manifold, no modes)."""

    modes = None

    def __init__(self, radius: float = 1.0, noise: float = 0.02):
        self.radius, self.dim = arguments.number("radius", radius, above=0.0), 2
        self.std = arguments.number("noise", noise, at_least=0.0)

    def sample(self, n: int, device: torch.device | str | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        device = device or (generator.device if generator is not None else None)
        angle = torch.rand(n, device=device, generator=generator) * 2 * math.pi
        r = self.radius + self.std * torch.randn(n, device=device, generator=generator)
        return torch.stack([r * angle.cos(), r * angle.sin()], dim=1)


class ToyBatches(PositionedBatches):
    """`batches_per_epoch` fresh batches [B, D] of `distribution`, each drawn from its own position's generator
    on `device` (no host-to-device copy per batch)."""

    def __init__(self, distribution, batch_size: int, batches_per_epoch: int, seed: int | None = None,
                 rank: int = 0, device: torch.device | None = None):
        super().__init__(batches_per_epoch, seed, rank, device)
        self.distribution, self.batch_size = distribution, batch_size

    def batch(self, epoch: int, index: int) -> Tensor:
        return self.distribution.sample(self.batch_size, generator=self.generator(epoch, index))  # [B, D]


class ToyDataModule(pl.LightningDataModule):
    """Fresh samples of `distribution` every batch; an epoch is `batches_per_epoch` batches.

    `train_size`: instead, a fixed training set of that many samples, drawn once from a generator seeded with
    `data_seed` (the same set for every run with that seed) and shuffled each epoch; an epoch is then one pass,
    train_size // batch_size batches (`batches_per_epoch` is unused).
    `on_device`: the samples are drawn (or the set is held) on the training device (no copy per batch).
    """

    def __init__(self, distribution, batch_size: int = 256, batches_per_epoch: int = 100, on_device: bool = True,
                 train_size: int | None = None, data_seed: int = 0):
        super().__init__()
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.batches_per_epoch = arguments.integer("batches_per_epoch", batches_per_epoch, at_least=1)
        self.train_size = arguments.optional(arguments.integer, "train_size", train_size, at_least=1)
        if self.train_size is not None and self.train_size < self.batch_size:
            raise BadArgument("train_size", f"{{key}}={train_size} must be at least {{key:batch_size}}={batch_size} "
                                            "(or null: fresh samples every batch)")
        self.distribution, self.on_device = distribution, arguments.boolean("on_device", on_device)
        self.data_seed = arguments.integer("data_seed", data_seed, at_least=0)
        self.train_set: Tensor | None = None  # [train_size, D] once drawn

    def setup(self, stage: str | None = None) -> None:
        if self.train_size is not None and self.train_set is None:
            generator = torch.Generator().manual_seed(self.data_seed)  # on the CPU: alike on every device
            self.train_set = self.distribution.sample(self.train_size, device="cpu", generator=generator)

    def train_dataloader(self) -> ToyBatches | TensorBatches:
        device, rank = placement(self, self.on_device)
        if self.train_size is None:
            return ToyBatches(self.distribution, self.batch_size, self.batches_per_epoch, rank=rank, device=device)
        self.setup()
        data = self.train_set if device is None else self.train_set.to(device)
        return TensorBatches(data, self.batch_size, rank=rank)

    def sample_real(self, n: int) -> Tensor:
        return self.distribution.sample(n)
