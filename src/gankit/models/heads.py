"""Discriminator heads: map last-hidden-layer features [B, F] to logits [B, 1]."""

from torch import nn


def linear_head(in_features: int) -> nn.Module:
    """The plain head: one linear unit (DCGAN's final 4x4 convolution is this on flattened maps)."""
    return nn.Linear(in_features, 1)
