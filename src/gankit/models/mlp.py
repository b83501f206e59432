"""Fully connected G and D (Goodfellow et al. 2014) for vectors and flattened images."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.models.heads import linear_head

NormFactory = Callable[[int], nn.Module]


def _check_widths(hidden: Sequence[int]) -> list[int]:
    widths = list(hidden)
    if not widths or any(int(w) < 1 for w in widths):
        raise ConfigError(f"model hidden sizes must be a non-empty list of positive ints, got {widths}")
    return [int(w) for w in widths]


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
    """x [B, *data_shape] -> (logits [B], last hidden features [B, hidden[-1]])."""

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        head: Callable[[int], nn.Module] = linear_head,
    ):
        super().__init__()
        widths = _check_widths(hidden)
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(int(s) for s in data_shape)
        for width in widths:
            layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.2)]
            width_in = width
        self.body = nn.Sequential(*layers)
        self.feature_dim = width_in
        self.head = head(width_in)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)  # [B, F]
        return self.head(features).squeeze(-1), features
