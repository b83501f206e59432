"""Fully connected G and D (Goodfellow et al. 2014) for vectors and flattened images.

Options for the toy networks of Lin et al. 2018 (Table 1, as their code builds them): a maxout D
(Goodfellow et al. 2013), G's hidden layers without biases (a BatchNorm follows each), and N(0, std)
initialisation of every linear layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.models.heads import linear_head
from gankit.models.init import normal_init

NormFactory = Callable[[int], nn.Module]


def _check_widths(hidden: Sequence[int]) -> list[int]:
    widths = list(hidden)
    if not widths or any(int(w) < 1 for w in widths):
        raise ConfigError(f"model hidden sizes must be a non-empty list of positive ints, got {widths}")
    return [int(w) for w in widths]


def _initialise(network: nn.Module, init_std: float | None) -> None:
    """N(0, init_std) weights and zero biases for every linear layer; None keeps torch's default."""
    if init_std is None:
        return
    if float(init_std) <= 0:
        raise ConfigError(f"model init_std must be > 0 (or null for torch's default), got {init_std}")
    network.apply(lambda module: normal_init(module, float(init_std)))


class Maxout(nn.Module):
    """x [B, in] -> max over `pieces` linear maps [B, out] (Goodfellow et al. 2013, Eq. 1)."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.out_features, self.pieces = int(out_features), int(pieces)
        self.linear = nn.Linear(in_features, self.out_features * self.pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(x.shape[0], self.out_features, self.pieces).amax(-1)  # [B, out]


class GaussianNoise(nn.Module):
    """x + N(0, std^2) in training mode, x in eval mode (the authors' Improved-GAN D adds it before each layer)."""

    def __init__(self, std: float):
        super().__init__()
        self.std = float(std)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


class MLPGenerator(nn.Module):
    """z [B, latent_dim] -> x [B, *data_shape] through hidden layers Linear -> norm -> ReLU.

    `bias`: biases in the hidden layers (the output layer always has one); `init_std`: N(0, std) weights.
    """

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        norm: NormFactory | None = None,
        tanh_output: bool = False,
        bias: bool = True,
        init_std: float | None = None,
    ):
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.data_shape = tuple(int(s) for s in data_shape)
        layers: list[nn.Module] = []
        width_in = self.latent_dim
        for width in _check_widths(hidden):
            layers += [nn.Linear(width_in, width, bias=bool(bias)), norm(width) if norm else nn.Identity(), nn.ReLU()]
            width_in = width
        layers.append(nn.Linear(width_in, math.prod(self.data_shape)))
        if tanh_output:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        _initialise(self.net, init_std)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
    """x [B, *data_shape] -> (logits [B], last hidden features [B, hidden[-1]]).

    Hidden layers are Linear -> LeakyReLU(0.2), or with `maxout_pieces` = k maxout layers of k pieces;
    `init_std`: N(0, std) weights and zero biases (the head too).
    `input_noise`, `hidden_noise`: std of Gaussian noise added in training mode to the input and to each hidden
    layer's output before the next layer (0: none); the features returned are taken before the noise.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        head: Callable[[int], nn.Module] = linear_head,
        maxout_pieces: int | None = None,
        init_std: float | None = None,
        input_noise: float = 0.0,
        hidden_noise: float = 0.0,
    ):
        super().__init__()
        widths = _check_widths(hidden)
        if maxout_pieces is not None and int(maxout_pieces) < 2:
            raise ConfigError(f"model.discriminator.maxout_pieces must be >= 2 (or null for LeakyReLU layers), "
                              f"got {maxout_pieces}")
        if float(input_noise) < 0 or float(hidden_noise) < 0:
            raise ConfigError(f"model.discriminator noise stds must be >= 0, got {input_noise}, {hidden_noise}")
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(int(s) for s in data_shape)
        for i, width in enumerate(widths):
            std = float(input_noise if i == 0 else hidden_noise)
            layers += [GaussianNoise(std)] if std > 0 else []
            if maxout_pieces is None:
                layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.2)]
            else:
                layers.append(Maxout(width_in, width, int(maxout_pieces)))
            width_in = width
        self.body = nn.Sequential(*layers)
        self.feature_dim = width_in
        self.head_noise = GaussianNoise(hidden_noise) if float(hidden_noise) > 0 else nn.Identity()
        self.head = head(width_in)
        _initialise(self, init_std)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)  # [B, F]
        return self.head(self.head_noise(features)).squeeze(-1), features
