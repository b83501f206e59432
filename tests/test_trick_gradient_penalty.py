"""WGAN-GP as a technique: zero for a unit-Lipschitz critic, (|a| - 1)^2 otherwise; loss=wasserstein brings it."""

import pytest
import torch
from torch import nn

from gankit.models.mlp import MLPGenerator
from gankit.run import build_run
from gankit.tricks.gradient_penalty import GradientPenalty
from tests.players import discriminator_step, gan_of


class Linear1D(nn.Module):
    """D(x) = a . x, whose input gradient has norm |a| everywhere."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(a)

    def forward(self, x):
        return x.flatten(1) @ self.a, x


@pytest.mark.parametrize("a,expected", [([0.6, 0.8, 0.0], 0.0), ([3.0, 0.0, 0.0], 40.0)])
def test_the_penalty_of_a_linear_critic(a, expected):
    gan = gan_of(MLPGenerator(4, [3], hidden=[8]), Linear1D(torch.tensor(a)), gradient_penalty=GradientPenalty(10.0))
    step = discriminator_step(gan, torch.randn(8, 3), torch.randn(8, 3))
    assert gan.tricks["gradient_penalty"].discriminator_term(step).item() == pytest.approx(expected, abs=1e-5)


def test_the_wasserstein_loss_selects_it_and_it_can_be_dropped(make_config):
    _, gan, _ = build_run(make_config("loss=wasserstein", "model=mlp", "dataset=ring"))
    assert gan.tricks["gradient_penalty"].weight == 10.0
    _, gan, _ = build_run(make_config("loss=wasserstein", "~trick.gradient_penalty", "model=mlp", "dataset=ring"))
    assert "gradient_penalty" not in gan.tricks
