"""Spectral normalisation (Miyato et al. 2018, Eq. 8): W / sigma(W) for every weight layer of D (optionally G).

sigma is estimated with `power_iterations` power iterations a training forward (one in the paper), via
torch's parametrization, so the estimate's vectors are checkpointed buffers. Convolutions are normalised
as the matrix [out, in * kh * kw], as torch and the paper do. Composes with minibatch discrimination's head
(its linear layer is normalised; its kernel tensor T is weight-normalised already).
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit import arguments
from gankit.tricks import Trick
from gankit.tricks.reparametrise import reparametrise


class SpectralNorm(Trick):
    """Spectral norm on D's layers, and on G's when `generator` is true."""

    def __init__(self, generator: bool = False, power_iterations: int = 1):
        super().__init__()
        self.generator = arguments.boolean("generator", generator)
        self.power_iterations = arguments.integer("power_iterations", power_iterations, at_least=1)

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        networks = [discriminator, generator] if self.generator else [discriminator]
        reparametrise(networks, lambda layer: spectral_norm(layer, n_power_iterations=self.power_iterations),
                      "trick=spectral_norm")
        return generator, discriminator
