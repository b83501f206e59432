"""R1: gamma/2 E ||grad_x D(x)||^2 on real data, equal to torch.autograd's; lazy every N with weight x N."""

import pytest
import torch

from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.tricks.r1 import R1
from tests.players import discriminator_step, gan_of


def by_autograd(discriminator, real):
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x)[0].sum(), x)
    return (grad.flatten(1) ** 2).sum(1).mean()


def test_the_term_equals_autograd_and_trains_d():
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), r1=R1(gamma=10.0))
    real = torch.randn(16, 2)
    term = gan.tricks["r1"].discriminator_term(discriminator_step(gan, real, torch.randn(16, 2)))
    assert term.item() == pytest.approx(5.0 * by_autograd(gan.discriminator, real).item(), rel=1e-5)
    term.backward()  # the penalty has a gradient for D's parameters (create_graph)
    assert all(p.grad is not None for p in gan.discriminator.body.parameters())


def test_lazy_regularisation_applies_every_n_with_the_weight_scaled():
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), r1=R1(gamma=2.0, every=4))
    real = torch.randn(8, 2)
    terms = []
    for d_updates in range(8):  # the GAN's count of D updates before each update (checkpointed with the GAN)
        gan.d_updates = d_updates
        terms.append(gan.tricks["r1"].discriminator_term(discriminator_step(gan, real, real)))
    applied = [i for i, t in enumerate(terms) if t is not None]
    assert applied == [0, 4]
    assert terms[0].item() == pytest.approx(4 * 1.0 * by_autograd(gan.discriminator, real).item(), rel=1e-5)
    old = {**gan.tricks["r1"].state_dict(), "_extra_state": {"d_updates": 8}}  # a checkpoint from before
    gan.tricks["r1"].load_state_dict(old)
