"""Applying a torch parametrization (spectral norm, weight norm) to every weight layer of G and/or D."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn.utils import parametrize

from gankit.errors import ConfigError

WEIGHT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


def weight_layers(network: nn.Module) -> list[nn.Module]:
    """Every Linear and (transposed) convolution of `network` whose weight is not parametrised yet."""
    return [m for m in network.modules()
            if isinstance(m, WEIGHT_LAYERS) and not parametrize.is_parametrized(m, "weight")]


def reparametrise(networks: list[nn.Module], apply: Callable[[nn.Module], nn.Module], name: str) -> None:
    """apply(layer) to each weight layer of each network, in place; `name` (the technique) for the error when
    another technique reparametrised the layers already (spectral and weight norm do not stack)."""
    for network in networks:
        layers = weight_layers(network)
        if not layers and any(parametrize.is_parametrized(m) for m in network.modules()):
            raise ConfigError(f"{name} found every weight layer reparametrised already by another technique "
                              "(spectral norm and weight norm do not stack); choose one")
        for layer in layers:
            apply(layer)
