"""Figures of generated samples: an image grid, a 2-D scatter with D's surface, the 1-D Figure 1."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from torchvision.utils import save_image  # noqa: E402


def _discriminator_probability(gan, x: Tensor) -> Tensor:
    """sigmoid(D(x)) [N] computed in eval mode without gradients."""
    was_training = gan.discriminator.training
    gan.discriminator.eval()
    try:
        with torch.no_grad():
            logits, _ = gan.discriminator(x.to(gan.device))
        return torch.sigmoid(logits).cpu()
    finally:
        gan.discriminator.train(was_training)


class ImageGrid:
    """Generated images [N, C, H, W] in [-1, 1] tiled `nrow` to a row."""

    def __init__(self, nrow: int = 8):
        self.nrow = nrow

    def __call__(self, path: Path, fake: Tensor, real: Tensor, gan) -> None:
        save_image(fake.float().cpu() * 0.5 + 0.5, path, nrow=self.nrow, padding=2, pad_value=1.0)


class Scatter2D:
    """Generated points over real ones [N, 2], on D's probability surface (contours)."""

    def __init__(self, resolution: int = 100, margin: float = 0.5):
        self.resolution, self.margin = resolution, margin

    def __call__(self, path: Path, fake: Tensor, real: Tensor, gan) -> None:
        fake, real = fake.float().cpu(), real.float().cpu()
        lo = torch.minimum(real.min(0).values, fake.min(0).values).clamp(min=-1e3) - self.margin
        hi = torch.maximum(real.max(0).values, fake.max(0).values).clamp(max=1e3) + self.margin
        xs = torch.linspace(float(lo[0]), float(hi[0]), self.resolution)
        ys = torch.linspace(float(lo[1]), float(hi[1]), self.resolution)
        gx, gy = torch.meshgrid(xs, ys, indexing="xy")
        prob = _discriminator_probability(gan, torch.stack([gx.flatten(), gy.flatten()], 1))
        fig, ax = plt.subplots(figsize=(5, 5))
        surface = ax.contourf(gx, gy, prob.view_as(gx), levels=20, cmap="coolwarm", alpha=0.35)
        fig.colorbar(surface, ax=ax, fraction=0.046, label="D(x)")
        ax.scatter(real[:, 0], real[:, 1], s=3, c="black", alpha=0.5, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, c="tab:orange", alpha=0.6, label="generated")
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


class Density1D:
    """Goodfellow et al. 2014 Figure 1: p_data, p_g (histograms) and D(x) on one axis."""

    def __init__(self, bins: int = 60, resolution: int = 200):
        self.bins, self.resolution = bins, resolution

    def __call__(self, path: Path, fake: Tensor, real: Tensor, gan) -> None:
        fake, real = fake.float().cpu().flatten(), real.float().cpu().flatten()
        spread = float(real.std()) * 4
        lo = min(float(real.min()), float(fake.min()), float(real.mean()) - spread)
        hi = max(float(real.max()), float(fake.max()), float(real.mean()) + spread)
        xs = torch.linspace(lo, hi, self.resolution)
        prob = _discriminator_probability(gan, xs.unsqueeze(1))
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(real, bins=self.bins, range=(lo, hi), density=True, alpha=0.4, color="black",
                label="p_data")
        ax.hist(fake, bins=self.bins, range=(lo, hi), density=True, alpha=0.5, color="tab:green",
                label="p_g")
        twin = ax.twinx()
        twin.plot(xs, prob, color="tab:blue", label="D(x)")
        twin.axhline(0.5, color="tab:blue", linestyle=":", linewidth=1)
        twin.set_ylim(0, 1)
        twin.set_ylabel("D(x)")
        ax.set_ylabel("density")
        fig.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
