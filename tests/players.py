"""A GAN around given networks, for tests that call a technique's hooks directly."""

from __future__ import annotations

import functools

import torch
from torch import nn

from gankit import losses
from gankit.gan import GAN
from gankit.step import PlayerStep


def gan_of(generator: nn.Module, discriminator: nn.Module, **tricks: nn.Module) -> GAN:
    """GAN(G, D) with the non-saturating loss, Adam for both and the given techniques (by name)."""
    loss = losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator)
    adam = functools.partial(torch.optim.Adam, lr=1e-3)
    return GAN(generator, discriminator, loss, adam, adam, tricks=nn.ModuleDict(tricks))


def generator_step(gan: GAN, real: torch.Tensor, fake: torch.Tensor) -> PlayerStep:
    """The G update's view, with D frozen as the loop's toggle_optimizer leaves it."""
    gan.discriminator.requires_grad_(False)
    logits, features = gan.discriminate(fake)
    return PlayerStep(game=gan.game, real=real, fake=fake, fake_logits=logits, fake_features=features)


def discriminator_step(gan: GAN, real: torch.Tensor, fake: torch.Tensor) -> PlayerStep:
    """The D update's view of a real and a (detached) generated batch."""
    real_logits, real_features = gan.discriminate(real)
    fake_logits, fake_features = gan.discriminate(fake.detach())
    return PlayerStep(game=gan.game, real=real, fake=fake.detach(), fake_logits=fake_logits,
                      fake_features=fake_features, real_logits=real_logits, real_features=real_features)
