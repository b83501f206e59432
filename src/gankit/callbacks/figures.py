"""The step figures of generated samples (SampleWriter's `figure`): an image grid, a 2-D scatter with D's surface,
the 1-D Figure 1. Each is `figure(path, fake, real, gan)`: it draws the samples it is given (end-of-run pictures,
which draw their own samples, are in pictures.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

from gankit import arguments  # noqa: E402
from gankit.errors import BadArgument  # noqa: E402


def save_grid(images: Tensor, path: Path, nrow: int, value_range: Sequence[float] | None = (-1, 1)) -> None:
    """Images [N, C, H, W] tiled `nrow` to a row; value_range maps to black..white (None: each image's
    own min..max)."""
    save_image(images.float().cpu(), path, nrow=nrow, padding=2, pad_value=1.0, normalize=True,
               value_range=None if value_range is None else tuple(value_range), scale_each=value_range is None)


def checked_value_range(value_range) -> tuple[float, float] | None:
    """[low, high] with low < high, or None (each image stretched to its own range)."""
    if value_range is None:
        return None
    low, high = arguments.sequence("value_range", value_range, arguments.number, length=2)
    if not low < high:
        raise BadArgument("value_range", f"must be [low, high] with low < high, got {[low, high]}")
    return low, high


class ImageGrid:
    """Generated images [N, C, H, W] in [-1, 1] tiled `nrow` to a row."""

    def __init__(self, nrow: int = 8, value_range: Sequence[float] | None = (-1, 1)):
        self.nrow, self.value_range = arguments.integer("nrow", nrow, at_least=1), checked_value_range(value_range)

    def __call__(self, path: Path, fake: Tensor, real: Tensor, gan) -> None:
        save_grid(fake, path, self.nrow, self.value_range)


class _Extent:
    """Axis limits that keep still across a run's figures (so its animation does too): the real data's
    range padded by `pad` of its span, grown to cover every generated point seen so far, but at most
    `reach` spans beyond the data."""

    def __init__(self, pad: float = 0.25, reach: float = 1.0):
        self.pad, self.reach = pad, reach
        self.lo: Tensor | None = None
        self.hi: Tensor | None = None

    def __call__(self, real: Tensor, fake: Tensor, margin: Tensor | float) -> tuple[Tensor, Tensor]:
        """real [N, D], fake [M, D] -> (lo [D], hi [D]) with `margin` on each side."""
        r_lo, r_hi = real.min(0).values, real.max(0).values
        span = (r_hi - r_lo).clamp(min=1e-3)
        fake = fake[torch.isfinite(fake).all(1)]
        lo, hi = r_lo - self.pad * span, r_hi + self.pad * span
        if len(fake):
            lo, hi = torch.minimum(lo, fake.min(0).values), torch.maximum(hi, fake.max(0).values)
        if self.lo is not None:
            lo, hi = torch.minimum(lo, self.lo), torch.maximum(hi, self.hi)
        self.lo = torch.maximum(lo, r_lo - self.reach * span)
        self.hi = torch.minimum(hi, r_hi + self.reach * span)
        return self.lo - margin, self.hi + margin


def _no_surface(ax) -> None:
    """Says on the axes why D(x) is not drawn: this D scores groups of samples (a technique groups D's inputs)."""
    ax.set_title("D(x) not drawn: this D scores groups of samples, not single points", fontsize=8)


def _outside(ax, fake: Tensor, lo: Tensor, hi: Tensor) -> None:
    """Notes on the axes how many generated points [M, D] fall outside the limits, if any."""
    count = int((~((fake >= lo) & (fake <= hi)).all(1)).sum())
    if count:
        ax.text(0.01, 0.01, f"{count} generated points outside the plot", transform=ax.transAxes, fontsize=7)


class Scatter2D:
    """Generated points over real ones [N, 2], on D's probability surface (contours at fixed levels
    0..1, so 1/2 is the same colour in every figure)."""

    def __init__(self, resolution: int = 100, margin: float = 0.5):
        self.resolution = arguments.integer("resolution", resolution, at_least=2)
        self.margin = arguments.number("margin", margin, at_least=0.0)
        self.extent = _Extent()

    def __call__(self, path: Path, fake: Tensor, real: Tensor, gan) -> None:
        fake, real = fake.float().cpu(), real.float().cpu()
        lo, hi = self.extent(real, fake, self.margin)
        xs = torch.linspace(float(lo[0]), float(hi[0]), self.resolution)
        ys = torch.linspace(float(lo[1]), float(hi[1]), self.resolution)
        gx, gy = torch.meshgrid(xs, ys, indexing="xy")
        fig, ax = plt.subplots(figsize=(5, 5))
        if gan.scores_points:
            prob = gan.discriminator_probability(torch.stack([gx.flatten(), gy.flatten()], 1))
            surface = ax.contourf(gx, gy, prob.view_as(gx), levels=torch.linspace(0, 1, 21).tolist(),
                                  cmap="coolwarm", vmin=0, vmax=1, alpha=0.35)
            fig.colorbar(surface, ax=ax, fraction=0.046, label="D(x)", ticks=[0, 0.25, 0.5, 0.75, 1])
        else:
            _no_surface(ax)
        ax.scatter(real[:, 0], real[:, 1], s=3, c="black", alpha=0.5, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, c="tab:orange", alpha=0.6, label="generated")
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_ylim(float(lo[1]), float(hi[1]))
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=8)
        _outside(ax, fake, lo, hi)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


def kernel_density(samples: Tensor, xs: Tensor) -> Tensor:
    """Gaussian KDE of 1-D samples [N] at xs [G] (Silverman's bandwidth, floored for collapsed samples)."""
    samples = samples[torch.isfinite(samples)]
    if len(samples) < 2:
        return torch.zeros_like(xs)
    floor = 1e-3 * float(xs[-1] - xs[0])
    bandwidth = max(1.06 * float(samples.std()) * len(samples) ** -0.2, floor)
    z = (xs[:, None] - samples[None, :]) / bandwidth  # [G, N]
    return torch.exp(-0.5 * z**2).mean(1) / (bandwidth * math.sqrt(2 * math.pi))


class Density1D:
    """Goodfellow et al. 2014 Figure 1: p_data (black, dotted), p_g (green) as kernel density
    estimates and D(x) (blue, dashed) over the data range; at equilibrium p_g = p_data and D(x) = 1/2."""

    def __init__(self, resolution: int = 300):
        self.resolution = arguments.integer("resolution", resolution, at_least=2)
        self.extent = _Extent()

    def __call__(self, path: Path, fake: Tensor, real: Tensor, gan) -> None:
        fake, real = fake.float().cpu().reshape(-1, 1), real.float().cpu().reshape(-1, 1)
        lo, hi = self.extent(real, fake, 0.5 * float(real.std()))
        xs = torch.linspace(float(lo[0]), float(hi[0]), self.resolution)
        prob = gan.discriminator_probability(xs.unsqueeze(1)) if gan.scores_points else None
        p_data, p_g = kernel_density(real.flatten(), xs), kernel_density(fake.flatten(), xs)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(xs, p_data, color="black", linestyle=":", linewidth=2, label="p_data")
        ax.plot(xs, p_g, color="tab:green", linewidth=1.5, label="p_g")
        ax.fill_between(xs, p_g, color="tab:green", alpha=0.15)
        ax.set_ylim(0, 1.15 * float(max(p_data.max(), min(p_g.max(), 3 * p_data.max()))))
        ax.set_xlim(float(xs[0]), float(xs[-1]))
        ax.set_ylabel("density")
        twin = ax.twinx()
        if prob is not None:
            twin.plot(xs, prob, color="tab:blue", linestyle="--", linewidth=1.5, label="D(x)")
            twin.axhline(0.5, color="gray", linestyle=":", linewidth=1)
        else:
            _no_surface(ax)
        twin.set_ylim(0, 1)
        twin.set_ylabel("D(x)")
        lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize=8)
        _outside(ax, fake, lo, hi)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
