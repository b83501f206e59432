"""WGAN-GP (Gulrajani et al. 2017, Eq. 3): weight * E (||grad_x D(x_hat)||_2 - 1)^2 on random interpolates."""

from __future__ import annotations

import torch
from torch import Tensor

from gankit import arguments
from gankit.tricks import Trick
from gankit.tricks.penalties import input_gradient_norms


class GradientPenalty(Trick):
    """Adds the penalty to D's loss; x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample."""

    def __init__(self, weight: float = 10.0):
        super().__init__()
        self.weight = arguments.number("weight", weight, above=0.0)

    def discriminator_term(self, step) -> Tensor:
        real, fake = step.real, step.fake
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)  # [B, 1, ...]
        mixed = eps * real + (1 - eps) * fake  # [B, *data_shape]
        return self.weight * ((input_gradient_norms(step.game, mixed) - 1.0) ** 2).mean()
