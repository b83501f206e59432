"""The pictures of a run's end (SampleWriter's `final`): a large grid, latent interpolations, an animation of the
step figures. Each is `picture(path, gan, frames) -> bool`: it draws its own samples from its own fixed noise (or
the step figures, `frames`) and says whether it applies to this data; `suffix` is its file's."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from gankit import arguments
from gankit.callbacks.figures import checked_value_range, save_grid


def _sample_in_batches(gan, noise: Tensor, batch_size: int = 256) -> Tensor:
    """G(noise) [N, *data_shape] on the CPU, `batch_size` at a time."""
    return torch.cat([gan.sample(len(z), noise=z).cpu() for z in noise.split(batch_size)])


def _image_grid_of(gan, noise: Tensor, path: Path, nrow: int, value_range: Sequence[float] | None) -> bool:
    """Save G(noise) as a grid of `nrow` a row; False (nothing written) when G makes no images."""
    images = _sample_in_batches(gan, noise)  # [N, C, H, W] for image data
    if images.dim() != 4:
        return False
    save_grid(images, path, nrow, value_range)
    return True


class FinalGrid:
    """A large grid of images from fixed noise (several hundred samples; image data only)."""

    suffix = ".png"

    def __init__(self, num_samples: int = 400, nrow: int = 20, seed: int = 4321,
                 value_range: Sequence[float] | None = (-1, 1)):
        self.num_samples = arguments.integer("num_samples", num_samples, at_least=1)
        self.nrow, self.seed = arguments.integer("nrow", nrow, at_least=1), arguments.integer("seed", seed, at_least=0)
        self.value_range = checked_value_range(value_range)

    def __call__(self, path: Path, gan, frames: list[Path]) -> bool:
        noise = torch.randn(self.num_samples, gan.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        return _image_grid_of(gan, noise, path, self.nrow, self.value_range)


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (White 2016) between rows of z0, z1 [R, D] at fractions t [T] -> [R, T, D]."""
    cos = torch.nn.functional.cosine_similarity(z0, z1, dim=1).clamp(-1 + 1e-7, 1 - 1e-7)  # [R]
    omega = torch.acos(cos)[:, None, None]  # [R, 1, 1]
    t = t[None, :, None]  # [1, T, 1]
    return (torch.sin((1 - t) * omega) * z0[:, None] + torch.sin(t * omega) * z1[:, None]) / torch.sin(omega)


class Interpolation:
    """Rows of G(z) along a spherical path between two fixed noise vectors (image data only)."""

    suffix = ".png"

    def __init__(self, rows: int = 8, steps: int = 10, seed: int = 8765,
                 value_range: Sequence[float] | None = (-1, 1)):
        self.rows = arguments.integer("rows", rows, at_least=1)
        self.steps = arguments.integer("steps", steps, at_least=2)
        self.seed, self.value_range = arguments.integer("seed", seed, at_least=0), checked_value_range(value_range)

    def __call__(self, path: Path, gan, frames: list[Path]) -> bool:
        generator = torch.Generator().manual_seed(self.seed)
        ends = torch.randn(2, self.rows, gan.latent_dim, generator=generator)  # [2, R, D]
        noise = slerp(ends[0], ends[1], torch.linspace(0, 1, self.steps))  # [R, T, D]
        return _image_grid_of(gan, noise.reshape(-1, gan.latent_dim), path, self.steps, self.value_range)


class Animation:
    """An animated GIF of the run's step figures (`step_<N>.png`), each captioned with its step."""

    suffix = ".gif"

    def __init__(self, max_frames: int = 60, frame_ms: int = 300, last_frame_ms: int = 2000):
        self.max_frames = arguments.integer("max_frames", max_frames, at_least=2)
        self.frame_ms = arguments.integer("frame_ms", frame_ms, at_least=1)
        self.last_frame_ms = arguments.integer("last_frame_ms", last_frame_ms, at_least=1)

    def __call__(self, path: Path, gan, frames: list[Path]) -> bool:
        if len(frames) < 2:
            return False
        keep = sorted({round(i * (len(frames) - 1) / (self.max_frames - 1)) for i in range(self.max_frames)})
        images = [self._captioned(frames[i]) for i in keep if i < len(frames)]
        size = images[0].size
        images = [im if im.size == size else im.resize(size) for im in images]
        durations = [self.frame_ms] * (len(images) - 1) + [self.last_frame_ms]
        images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
        return True

    @staticmethod
    def _captioned(frame: Path) -> Image.Image:
        with Image.open(frame) as image:
            image = image.convert("RGB")
        match = re.search(r"(\d+)$", frame.stem)
        band = max(14, math.ceil(image.height * 0.06))
        canvas = Image.new("RGB", (image.width, image.height + band), "white")
        canvas.paste(image, (0, band))
        font = ImageFont.load_default(size=int(band * 0.75))
        label = f"step {int(match.group(1)) if match else frame.stem}"
        ImageDraw.Draw(canvas).text((4, band * 0.1), label, fill="black", font=font)
        return canvas
