"""Each loss against its textbook formula on hand-computed values."""

import math

import pytest
import torch

from gankit import losses

REAL = torch.tensor([2.0, -1.0])  # logits
FAKE = torch.tensor([-3.0, 0.5])


def sig(x):
    return 1 / (1 + math.exp(-x))


def mean(values):
    return sum(values) / len(values)


def test_bce_discriminator_is_minus_the_value_function():
    expected = -mean([math.log(sig(r)) for r in REAL.tolist()]) - mean(
        [math.log(1 - sig(f)) for f in FAKE.tolist()]
    )
    assert losses.bce_discriminator(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_bce_discriminator_with_a_smoothed_real_target():
    t = 0.9
    expected = -mean(
        [t * math.log(sig(r)) + (1 - t) * math.log(1 - sig(r)) for r in REAL.tolist()]
    ) - mean([math.log(1 - sig(f)) for f in FAKE.tolist()])
    got = losses.bce_discriminator(REAL, FAKE, real_target=t).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_generator_losses():
    assert losses.minimax_generator(FAKE).item() == pytest.approx(
        mean([math.log(1 - sig(f)) for f in FAKE.tolist()]), rel=1e-6
    )
    assert losses.nonsaturating_generator(FAKE).item() == pytest.approx(
        -mean([math.log(sig(f)) for f in FAKE.tolist()]), rel=1e-6
    )
    assert losses.least_squares_generator(FAKE).item() == pytest.approx(
        mean([0.5 * (f - 1) ** 2 for f in FAKE.tolist()])
    )
    assert losses.critic_generator(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


def test_least_squares_hinge_wasserstein_discriminators():
    r, f = REAL.tolist(), FAKE.tolist()
    assert losses.least_squares_discriminator(REAL, FAKE).item() == pytest.approx(
        mean([0.5 * (x - 1) ** 2 for x in r]) + mean([0.5 * x**2 for x in f])
    )
    assert losses.hinge_discriminator(REAL, FAKE).item() == pytest.approx(
        mean([max(0, 1 - x) for x in r]) + mean([max(0, 1 + x) for x in f])
    )
    assert losses.wasserstein_discriminator(REAL, FAKE).item() == pytest.approx(mean(f) - mean(r))


def test_losses_stay_finite_for_extreme_logits():
    huge = torch.tensor([1e4, -1e4])
    for value in (
        losses.bce_discriminator(huge, -huge),
        losses.minimax_generator(huge),
        losses.nonsaturating_generator(-huge),
    ):
        assert torch.isfinite(value)


def _grad_at(loss_fn, logit):
    x = torch.tensor([logit], requires_grad=True)
    loss_fn(x).backward()
    return x.grad.item()


def test_saturating_loss_vanishes_where_d_rejects_fakes_and_nonsaturating_does_not():
    # D(G(z)) = sigmoid(-10) ~ 4.5e-5: early training, when D easily rejects samples.
    assert abs(_grad_at(losses.minimax_generator, -10.0)) < 1e-4
    assert abs(_grad_at(losses.nonsaturating_generator, -10.0)) > 0.99
