"""Differentiable augmentation (Zhao et al. 2020): the same random, differentiable transforms of every image D sees.

Policy `color,translation,cutout` (the paper's choice for small data): brightness shift U[-0.5, 0.5],
saturation scale U[0, 2], contrast scale U[0.5, 1.5]; a translation by up to 1/8 of the image size with
zero fill; a cutout square of half the image size at a random position. Each sample draws its own
parameters from torch's generator on the training device (so a fixed seed repeats them and resuming
restores them); gradients flow to G through every transform. Applied while the GAN trains (real and
generated batches, in D and G updates, penalties included); evaluation (the module in eval mode) sees
plain images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit import arguments
from gankit.errors import BadArgument, ConfigError
from gankit.tricks import Trick


def color(x: Tensor) -> Tensor:
    """Brightness, saturation and contrast, each with a random factor per sample: [B, C, H, W] -> same."""
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(1, keepdim=True)  # [B, 1, H, W]
    x = (x - mean) * (2 * torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype)) + mean
    mean = x.mean([1, 2, 3], keepdim=True)  # [B, 1, 1, 1]
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ratio * size pixels in each direction, filling with zeros."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + 1).clamp(0, h + 1)  # [B, H, 1] into the padding
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + 1).clamp(0, w + 1)  # [B, 1, W]
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # [B, H + 2, W + 2, C], a zero border
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)  # [B, C, H, W]


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a square of ratio * size at a random centre of each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)  # [B, H, W]
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment(Trick):
    """Applies the `policy` transforms, in order, to every image batch D sees during training."""

    def __init__(self, policy: str = "color,translation,cutout", data_shape: Sequence[int] | None = None):
        super().__init__()
        self.policy = [name.strip() for name in arguments.text("policy", policy).split(",") if name.strip()]
        unknown = [name for name in self.policy if name not in TRANSFORMS]
        if unknown or not self.policy:
            raise BadArgument("policy", f"names transforms among {', '.join(TRANSFORMS)}, separated by commas; "
                                        f"got {policy!r}")
        if data_shape is not None and len(data_shape) != 3:
            raise ConfigError(f"DiffAugment augments images [C, H, W]; this data has shape {list(data_shape)}")

    def discriminator_input(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ConfigError(f"DiffAugment augments image batches [B, C, H, W]; D got shape {list(x.shape)}")
        if not self.training:
            return x
        for name in self.policy:
            x = TRANSFORMS[name](x)
        return x
