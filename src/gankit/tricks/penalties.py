"""Gradients of D with respect to its input, shared by the gradient penalties (WGAN-GP, R1)."""

from __future__ import annotations

import torch
from torch import Tensor


def input_gradient_norms(game, x: Tensor) -> Tensor:
    """||grad_x D(x)||_2 [P] for each group D scores (one sample, or one pack), with the graph kept."""
    x = x.detach().requires_grad_(True)  # [B, *data_shape]
    logits, _ = game.discriminate(x)  # [P]
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)  # [B, *data_shape]
    return grad.reshape(len(logits), -1).norm(dim=1)  # a pack's samples are consecutive rows
