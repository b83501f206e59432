"""Weight normalisation (Salimans & Kingma 2016, Eq. 2): w = g v / ||v|| per output unit, on D's layers (optionally G).

The Improved-GAN authors' D is weight-normalised. torch's parametrization keeps g and v as parameters;
a transposed convolution's output units are its dim 1, every other layer's dim 0. Options for the authors' D
(openai/improved-gan nn.py): `train_hidden_scale: false` fixes g in every layer of D but the last (their
train_scale=False / train_g=False; the output layer trains g), and `data_init: n` initialises D from n training
examples when fitting starts (Salimans & Kingma 2016, Sec. 2.2): layer by layer, g <- g s / std and b <- -mean s / std
of each unit's output on the batch, s = 1 in hidden layers and `output_init_std` in the last (their init_stdv).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from lightning.pytorch.utilities.seed import isolate_rng
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from gankit import arguments
from gankit.tricks import Trick
from gankit.tricks.reparametrise import reparametrise


def _normalise(layer: nn.Module) -> nn.Module:
    return weight_norm(layer, dim=1 if isinstance(layer, nn.modules.conv._ConvTransposeNd) else 0)


def normalised_layers(network: nn.Module) -> list[nn.Module]:
    """The weight-normalised layers of `network`, in module order (the output layer last)."""
    return [m for m in network.modules() if parametrize.is_parametrized(m, "weight")
            and hasattr(m.parametrizations.weight, "original0")]


def _standardise(layer: nn.Module, inputs, output: Tensor, std: float) -> Tensor:
    """Forward hook: rescale g and shift b so that each unit's output [B, units, ...] has mean 0 and std `std`."""
    dims = [d for d in range(output.dim()) if d != 1]  # units are dim 1 (features or channels)
    mean = output.mean(dims, keepdim=True)  # [1, units, 1, ...]
    factor = std / (output - mean).square().mean(dims, keepdim=True).sqrt()
    g = layer.parametrizations.weight.original0
    g.mul_(factor.reshape(g.shape))
    if layer.bias is None:
        return output * factor
    layer.bias.copy_((layer.bias - mean.flatten()) * factor.flatten())
    return (output - mean) * factor  # what the next layer sees once this one is initialised


@torch.no_grad()
def data_dependent_init(forward: Callable[[Tensor], object], layers: list[nn.Module], x: Tensor,
                        output_std: float = 1.0) -> None:
    """Initialises `layers` in one pass forward(x) through them (the last layer's outputs get std `output_std`)."""
    stds = [1.0] * (len(layers) - 1) + [output_std]
    hooks = [layer.register_forward_hook(functools.partial(_standardise, std=std))
             for layer, std in zip(layers, stds, strict=True)]
    try:
        forward(x)
    finally:
        for hook in hooks:
            hook.remove()


class WeightNorm(Trick):
    """Weight norm on D's layers, and on G's when `generator` is true (the options below act on D only)."""

    def __init__(self, generator: bool = False, train_hidden_scale: bool = True, data_init: int = 0,
                 output_init_std: float = 1.0):
        super().__init__()
        self.generator = arguments.boolean("generator", generator)
        self.train_hidden_scale = arguments.boolean("train_hidden_scale", train_hidden_scale)
        self.data_init = arguments.integer("data_init", data_init, at_least=0)  # training examples; 0: none
        self.output_init_std = arguments.number("output_init_std", output_init_std, above=0.0)
        self.initialised = False  # extra state: a resumed run keeps its weights

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        networks = [discriminator, generator] if self.generator else [discriminator]
        reparametrise(networks, _normalise, "trick=weight_norm")
        if not self.train_hidden_scale:
            for layer in normalised_layers(discriminator)[:-1]:
                layer.parametrizations.weight.original0.requires_grad_(False)
        return generator, discriminator

    def setup(self, game) -> None:
        if not self.data_init or self.initialised:
            return
        device = game.device
        with isolate_rng(include_cuda=True):  # training draws as without
            torch.manual_seed(torch.initial_seed())  # the same batch on every process
            x = game.data.sample_real(self.data_init).to(device)  # [n, *data_shape]
            data_dependent_init(game.discriminate, normalised_layers(game.discriminator), x, self.output_init_std)
        self.initialised = True

    def get_extra_state(self) -> dict:
        return {"initialised": self.initialised}

    def set_extra_state(self, state: dict) -> None:
        self.initialised = bool(state["initialised"])
