"""One-sided label smoothing: D's loss is minimised at D(x) = alpha on real data; fake targets stay 0."""

import functools

import pytest
import torch

from gankit import losses
from gankit.errors import ConfigError
from gankit.gan import GAN
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.run import build_run
from gankit.tricks.label_smoothing import LabelSmoothing

MLP = ["model=mlp", "dataset=ring", "model.generator.hidden=[8]", "model.discriminator.hidden=[8]"]


def smoothed_loss(make_config, *overrides):
    """The D loss a run with trick=label_smoothing trains with (once fitting started: the tricks' wraps)."""
    _, gan, _ = build_run(make_config("trick=label_smoothing", *MLP, *overrides))
    gan.on_fit_start()
    return gan.discriminator_loss


def minimiser(loss, link):
    """argmin over D's output on real data, fake logits held fixed."""
    logits = torch.linspace(-6, 6, 12001)
    values = torch.vmap(lambda logit: loss(logit.view(1), torch.zeros(1)))(logits)
    return link(logits[values.argmin()]).item()


@pytest.mark.parametrize("alpha", [None, 0.8])
def test_the_smoothed_d_loss_is_minimised_at_alpha_on_real_data(make_config, alpha):
    given = [] if alpha is None else [f"trick.label_smoothing.alpha={alpha}"]
    loss = smoothed_loss(make_config, *given)
    assert minimiser(loss, torch.sigmoid) == pytest.approx(alpha or 0.9, abs=1e-3)  # D(x) = sigmoid(logit)


def test_least_squares_targets_alpha_too(make_config):
    loss = smoothed_loss(make_config, "loss=least_squares")
    assert minimiser(loss, lambda logit: logit) == pytest.approx(0.9, abs=1e-3)


def test_fake_targets_stay_zero(make_config):
    loss = smoothed_loss(make_config)
    fake = torch.randn(16, requires_grad=True)
    real = torch.randn(16)
    (smoothed,) = torch.autograd.grad(loss(real, fake), fake)
    (plain,) = torch.autograd.grad(losses.bce_discriminator(real, fake), fake)
    assert torch.equal(smoothed, plain)


def test_alpha_lives_in_one_key(make_config):
    cfg = make_config("trick=label_smoothing", *MLP, "trick.label_smoothing.alpha=0.75")
    assert "real_target" not in cfg.loss.discriminator  # the loss has no second copy of the target
    loss = smoothed_loss(make_config, "trick.label_smoothing.alpha=0.75")
    assert minimiser(loss, torch.sigmoid) == pytest.approx(0.75, abs=1e-3)


@pytest.mark.parametrize("loss", ["hinge", "wasserstein"])
def test_losses_without_a_real_target_are_refused_naming_both_options(make_config, loss):
    with pytest.raises(ConfigError, match=rf"^trick=label_smoothing needs a loss .*; loss={loss} has none$"):
        build_run(make_config("trick=label_smoothing", f"loss={loss}", *MLP))


def gan_with(discriminator_loss):
    return GAN(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]),
               losses.GANLoss(discriminator_loss, losses.nonsaturating_generator), None, None)


def test_a_loss_given_by_hand_gets_the_target_bound_and_the_loss_itself_is_left_alone():
    gan = gan_with(losses.bce_discriminator)
    assert LabelSmoothing(0.9).wrap_discriminator_loss(gan.loss.discriminator_loss).keywords == {"real_target": 0.9}
    assert gan.loss.discriminator_loss is losses.bce_discriminator
    with pytest.raises(ConfigError, match="loss=hinge has none"):
        LabelSmoothing(0.9).wrap_discriminator_loss(losses.hinge_discriminator)


def test_a_conflicting_target_is_refused(make_config):
    with pytest.raises(ConfigError, match="^trick.label_smoothing.alpha=0.9 disagrees with "
                                          "loss.discriminator.real_target=1.0; set the target with "
                                          "trick.label_smoothing.alpha only$"):
        build_run(make_config("trick=label_smoothing", "+loss.discriminator.real_target=1.0", *MLP))
    with pytest.raises(ConfigError, match="alpha=0.9 disagrees with discriminator_loss.real_target=1.0"):  # by hand
        LabelSmoothing(0.9).wrap_discriminator_loss(functools.partial(losses.bce_discriminator, real_target=1.0))
    with pytest.raises(ConfigError, match=r"alpha must be in \(0, 1\]"):
        LabelSmoothing(1.5)
