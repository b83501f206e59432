"""Image transforms shared by in-memory and file-backed datasets: size, channels, range, flips."""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from gankit import arguments
from gankit.errors import BadArgument


def check_image_options(image_size: int, channels: int, crop_size: int | None = None) -> None:
    """BadArgument unless the sizes are positive and channels is 1 (grayscale) or 3 (RGB)."""
    if arguments.integer("channels", channels) not in (1, 3):
        raise BadArgument("channels", f"must be 1 (grayscale) or 3 (RGB), got {channels}")
    arguments.integer("image_size", image_size, at_least=1)
    arguments.optional(arguments.integer, "crop_size", crop_size, at_least=1)


def fit_images(images: Tensor, size: int, channels: int, crop_size: int | None = None,
               chunk: int = 2048) -> Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, channels, size, size].

    Optionally a centre crop of `crop_size` first (e.g. the face region of CelebA), then the shorter
    side resized to `size` (bilinear, antialiased) and a centre crop to a square. Grayscale becomes
    RGB by repetition, RGB becomes grayscale by luminance (ITU-R 601-2). Done in chunks to bound memory.
    """
    out = []
    for part in images.split(chunk):  # [n, C, H, W]
        if part.shape[1] != channels:
            part = part.expand(-1, 3, -1, -1) if channels == 3 else TF.rgb_to_grayscale(part)
        if crop_size is not None:
            part = TF.center_crop(part, [crop_size, crop_size])
        if tuple(part.shape[-2:]) != (size, size):
            part = TF.resize(part, [size], antialias=True)  # shorter side -> size
            part = TF.center_crop(part, [size, size])
        out.append(part.contiguous())
    return torch.cat(out) if out else images.new_zeros(0, channels, size, size)


def to_signed(images: Tensor) -> Tensor:
    """uint8 [..., C, H, W] in [0, 255] -> float [..., C, H, W] in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def random_hflip(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Mirrors each image of [B, C, H, W] left-right with probability 1/2 (coins from `generator`, a CPU one)."""
    if generator is None:
        flip = torch.rand(images.shape[0], device=images.device) < 0.5  # [B]
    else:
        flip = (torch.rand(images.shape[0], generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)
