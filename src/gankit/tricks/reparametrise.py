"""Applying a torch parametrization (spectral norm, weight norm) to every weight layer of G and/or D."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn.utils import parametrize

WEIGHT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


def weight_layers(network: nn.Module) -> list[nn.Module]:
    """Every Linear and (transposed) convolution of `network` whose weight is not parametrised yet."""
    return [m for m in network.modules()
            if isinstance(m, WEIGHT_LAYERS) and not parametrize.is_parametrized(m, "weight")]


def reparametrise(networks: list[nn.Module], apply: Callable[[nn.Module], nn.Module]) -> None:
    """apply(layer) to each weight layer of each network, in place."""
    for network in networks:
        for layer in weight_layers(network):
            apply(layer)
