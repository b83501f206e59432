"""Fully connected G and D (Goodfellow et al. 2014) for vectors and flattened images."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.models.heads import linear_head

NormFactory = Callable[[int], nn.Module]


def _check_widths(hidden: Sequence[int]) -> list[int]:
    widths = list(hidden)
    if not widths or any(int(w) < 1 for w in widths):
        raise ConfigError(f"model hidden sizes must be a non-empty list of positive ints, got {widths}")
    return [int(w) for w in widths]


class GaussianNoise(nn.Module):
    """x + N(0, std^2) in training mode, x in eval mode (the authors' Improved-GAN D adds it before each layer)."""

    def __init__(self, std: float):
        super().__init__()
        self.std = float(std)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


class MLPGenerator(nn.Module):
    """z [B, latent_dim] -> x [B, *data_shape] through ReLU hidden layers."""

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        norm: NormFactory | None = None,
        tanh_output: bool = False,
    ):
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.data_shape = tuple(int(s) for s in data_shape)
        layers: list[nn.Module] = []
        width_in = self.latent_dim
        for width in _check_widths(hidden):
            layers += [nn.Linear(width_in, width), norm(width) if norm else nn.Identity(), nn.ReLU()]
            width_in = width
        layers.append(nn.Linear(width_in, math.prod(self.data_shape)))
        if tanh_output:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
    """x [B, *data_shape] -> (logits [B], last hidden features [B, hidden[-1]]).

    `input_noise`, `hidden_noise`: std of Gaussian noise added in training mode to the input and to each hidden
    layer's output before the next layer (0: none); the features returned are taken before the noise.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        head: Callable[[int], nn.Module] = linear_head,
        input_noise: float = 0.0,
        hidden_noise: float = 0.0,
    ):
        super().__init__()
        widths = _check_widths(hidden)
        if float(input_noise) < 0 or float(hidden_noise) < 0:
            raise ConfigError(f"model.discriminator noise stds must be >= 0, got {input_noise}, {hidden_noise}")
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(int(s) for s in data_shape)
        for i, width in enumerate(widths):
            std = float(input_noise if i == 0 else hidden_noise)
            layers += [GaussianNoise(std)] if std > 0 else []
            layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.2)]
            width_in = width
        self.body = nn.Sequential(*layers)
        self.feature_dim = width_in
        self.head_noise = GaussianNoise(hidden_noise) if float(hidden_noise) > 0 else nn.Identity()
        self.head = head(width_in)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)  # [B, F]
        return self.head(self.head_noise(features)).squeeze(-1), features
