"""Weight normalisation (Salimans & Kingma 2016, Eq. 2): w = g v / ||v|| per output unit, on D's layers (optionally G).

The Improved-GAN authors' D is weight-normalised. torch's parametrization keeps g and v as parameters;
a transposed convolution's output units are its dim 1, every other layer's dim 0.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from gankit import arguments
from gankit.tricks import Technique
from gankit.tricks.reparametrise import reparametrise


def _normalise(layer: nn.Module) -> nn.Module:
    return weight_norm(layer, dim=1 if isinstance(layer, nn.modules.conv._ConvTransposeNd) else 0)


class WeightNorm(Technique):
    """Weight norm on D's layers, and on G's when `generator` is true."""

    def __init__(self, generator: bool = False):
        super().__init__()
        self.generator = arguments.boolean("generator", generator)

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        networks = [discriminator, generator] if self.generator else [discriminator]
        reparametrise(networks, _normalise, "trick=weight_norm")
        return generator, discriminator
