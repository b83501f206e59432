"""PacGAN (Lin et al. 2018): D scores packs of m samples, concatenated along features or channels.

Real and generated batches are packed separately, m consecutive samples a pack: [B, C, ...] becomes
[B / m, m C, ...], so D sees m times the input width and the loss averages over B / m packs. The first
weight layer of D is widened to m times its inputs when the GAN is built (initialised with the weight
std of the layer it replaces; the authors' code uses N(0, 0.02) for every layer). A packed D has no
per-point D(x): figures and metrics that need one say so.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from gankit import arguments
from gankit.errors import BadArgument, ConfigError
from gankit.tricks import Trick

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def widen_first_layer(network: nn.Module, factor: int) -> nn.Module:
    """Replace the first Linear/Conv layer of `network` by one with `factor` times its input width."""
    for name, layer in network.named_modules():  # depth first: the layer nearest the input comes first
        if isinstance(layer, WEIGHT_LAYERS):
            parent_name, _, child = name.rpartition(".")
            setattr(network.get_submodule(parent_name), child, _widened(layer, factor))
            return network
    raise ConfigError("trick=pacgan found no Linear or Conv layer in the discriminator to widen")


def _widened(layer: nn.Module, factor: int) -> nn.Module:
    wide = copy.deepcopy(layer)
    old = layer.weight.detach()  # [out, in, *kernel]
    shape = (old.shape[0], old.shape[1] * factor, *old.shape[2:])
    wide.weight = nn.Parameter(torch.randn(shape, dtype=old.dtype) * old.std())  # [out, m in, *kernel]
    if isinstance(wide, nn.Linear):
        wide.in_features *= factor
    else:
        wide.in_channels *= factor
    return wide


class PacGAN(Trick):
    """Packs `pack` samples for D (m = 2, 3, 4 in the paper); the batch size must be a multiple of m."""

    scores_points = False
    build_phase = "reshape"  # D reshaped before any reparametrisation (spectral norm) wraps its layers
    input_phase = "grouped"  # packs made after per-sample transforms (augmentations)

    def __init__(self, pack: int = 2, batch_size: int | None = None):
        super().__init__()
        self.pack = arguments.integer("pack", pack, at_least=2)
        if arguments.optional(arguments.integer, "batch_size", batch_size, at_least=1) is not None \
                and batch_size % self.pack:
            raise BadArgument("batch_size", f"{{key}} must be a multiple of {{key:pack}}={self.pack}: PacGAN packs "
                                            f"{self.pack} samples, so the batch size must be a multiple of "
                                            f"{self.pack}; got {batch_size}")

    def _check(self, batch_size: int) -> None:
        if batch_size % self.pack:
            raise ConfigError(f"PacGAN packs {self.pack} samples, so the batch size must be a multiple of "
                              f"{self.pack}; got {batch_size}")

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        return generator, widen_first_layer(discriminator, self.pack)

    def discriminator_input(self, x: Tensor) -> Tensor:
        self._check(x.shape[0])
        return x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])  # [B / m, m C, ...]
