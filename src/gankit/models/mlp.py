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

from gankit import arguments
from gankit.models.heads import linear_head
from gankit.models.init import normal_init

NormFactory = Callable[[int], nn.Module]


def _check_widths(hidden: Sequence[int]) -> list[int]:
    return arguments.sizes("hidden", hidden)


def _initialise(network: nn.Module, init_std: float | None) -> None:
    """N(0, init_std) weights and zero biases for every linear layer; None keeps torch's default."""
    if init_std is None:
        return
    init_std = arguments.number("init_std", init_std, above=0.0)
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
        self.latent_dim = arguments.integer("latent_dim", latent_dim, at_least=1)
        norm = arguments.factory("norm", norm)
        self.data_shape = tuple(arguments.sizes("data_shape", data_shape))
        layers: list[nn.Module] = []
        width_in = self.latent_dim
        for width in _check_widths(hidden):
            normalise = arguments.call("norm", norm, width) if norm else nn.Identity()
            layers += [nn.Linear(width_in, width, bias=arguments.boolean("bias", bias)), normalise, nn.ReLU()]
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

    Hidden layers are Linear -> norm -> LeakyReLU(0.2), or with `maxout_pieces` = k maxout layers of k pieces
    (then norm); `norm`: none by default; `init_std`: N(0, std) weights and zero biases (the head too).
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
        norm: NormFactory | None = None,
    ):
        super().__init__()
        widths, head, norm = _check_widths(hidden), arguments.factory("head", head), arguments.factory("norm", norm)
        maxout_pieces = arguments.optional(arguments.integer, "maxout_pieces", maxout_pieces, at_least=2)
        input_noise = arguments.number("input_noise", input_noise, at_least=0.0)
        hidden_noise = arguments.number("hidden_noise", hidden_noise, at_least=0.0)
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(arguments.sizes("data_shape", data_shape))
        for i, width in enumerate(widths):
            std = float(input_noise if i == 0 else hidden_noise)
            layers += [GaussianNoise(std)] if std > 0 else []
            normalise = [arguments.call("norm", norm, width)] if norm else []
            if maxout_pieces is None:
                layers += [nn.Linear(width_in, width), *normalise, nn.LeakyReLU(0.2)]
            else:
                layers += [Maxout(width_in, width, int(maxout_pieces)), *normalise]
            width_in = width
        self.body = nn.Sequential(*layers)
        self.feature_dim = width_in
        self.head_noise = GaussianNoise(hidden_noise) if float(hidden_noise) > 0 else nn.Identity()
        self.head = arguments.call("head", head, width_in)
        _initialise(self, init_std)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)  # [B, F]
        return self.head(self.head_noise(features)).squeeze(-1), features
