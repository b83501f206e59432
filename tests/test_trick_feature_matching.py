"""Feature matching: zero on matching batches, gradient to G only, the two distances, a chosen layer."""

import lightning.pytorch as pl
import pytest
import torch

from gankit import losses
from gankit.data.toy import Ring, ToyDataModule
from gankit.errors import ConfigError
from gankit.gan import GAN
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.run import build_run
from gankit.tricks.feature_matching import FeatureMatching, absolute_error, squared_error
from tests.players import gan_of, generator_step


def players(family):
    if family == "mlp":
        return MLPGenerator(4, [2], hidden=[16]), MLPDiscriminator([2], hidden=[16])
    return DCGANGenerator(4, [1, 16, 16], width=4), DCGANDiscriminator([1, 16, 16], width=4)


def g_step(technique, generator, discriminator, real, fake):
    """The G update's view, with D frozen as the loop's toggle_optimizer leaves it."""
    return technique.generator_term(generator_step(gan_of(generator, discriminator), real, fake))


@pytest.mark.parametrize("distance", [squared_error, absolute_error])
@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_zero_when_the_fake_batch_is_the_real_one(family, distance):
    generator, discriminator = players(family)
    real = generator(torch.randn(8, 4)).detach()
    loss = g_step(FeatureMatching(distance=distance), generator, discriminator, real, real.clone())
    assert loss.item() == 0.0
    other = generator(torch.randn(8, 4)).detach()
    assert g_step(FeatureMatching(distance=distance), generator, discriminator, real, other).item() > 0


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_its_gradient_reaches_the_generator_and_not_the_discriminator(family):
    generator, discriminator = players(family)
    real = torch.randn(8, 2) if family == "mlp" else torch.rand(8, 1, 16, 16) * 2 - 1
    loss = g_step(FeatureMatching(), generator, discriminator, real, generator(torch.randn(8, 4)))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters() if p.dim() > 1)
    assert all(p.grad is None for p in discriminator.parameters())
    assert FeatureMatching().discriminator_term(None) is None  # D's objective is untouched


def test_in_the_loop_the_generator_update_touches_only_the_generator():
    gan = GAN(MLPGenerator(4, [2], hidden=[16]), MLPDiscriminator([2], hidden=[16]),
              losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator),
              lambda p: torch.optim.SGD(p, lr=0.01), lambda p: torch.optim.SGD(p, lr=0.01),
              tricks=torch.nn.ModuleDict({"fm": FeatureMatching()}))
    seen = []
    for name, network in (("d", gan.discriminator), ("g", gan.generator)):
        for p in network.parameters():
            p.register_hook(lambda grad, name=name: seen.append(name))
    pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(gan, datamodule=ToyDataModule(Ring(), 8, 1))
    n_d, n_g = len(list(gan.discriminator.parameters())), len(list(gan.generator.parameters()))
    assert seen == ["d"] * n_d + ["g"] * n_g


def test_the_distances_are_the_authors_mnist_and_cifar_ones():
    real, fake = torch.tensor([1.0, -2.0]), torch.zeros(2)
    assert squared_error(real, fake).item() == pytest.approx(2.5)  # mean of squares
    assert absolute_error(real, fake).item() == pytest.approx(1.5)  # mean of absolute values


def test_it_compares_batch_means_not_samples():
    generator, discriminator = players("mlp")
    real = torch.randn(8, 2)
    # The same batch in another order has the same feature means.
    assert g_step(FeatureMatching(), generator, discriminator, real, real.flip(0)).item() == pytest.approx(0, abs=1e-6)


def test_replace_is_the_default_and_can_be_turned_off(make_config):
    overrides = ["trick=feature_matching", "model.generator.width=8", "model.discriminator.width=8"]
    _, gan, _ = build_run(make_config(*overrides))
    assert gan.tricks["feature_matching"].replaces_generator_loss
    _, gan, _ = build_run(make_config(*overrides, "trick.feature_matching.replace=false",
                                      "trick.feature_matching.distance._target_="
                                      "gankit.tricks.feature_matching.absolute_error"))
    assert not gan.tricks["feature_matching"].replaces_generator_loss
    assert gan.tricks["feature_matching"].distance.func is absolute_error


def test_an_intermediate_layer_can_be_matched():
    generator, discriminator = players("mlp")
    technique = FeatureMatching(layer="body.1")  # the first hidden layer's activations
    gan = GAN(generator, discriminator, None, None, None)
    technique.setup(gan.game)
    real = torch.randn(8, 2)
    assert g_step(technique, generator, discriminator, real, real.clone()).item() == 0.0
    loss = g_step(technique, generator, discriminator, real, generator(torch.randn(8, 4)))
    loss.backward()
    assert next(generator.parameters()).grad is not None
    with pytest.raises(ConfigError, match="layer=head.x is not a layer of the discriminator; choose one of: body"):
        FeatureMatching(layer="head.x").setup(gan.game)


@pytest.mark.parametrize("layer", [None, "body.2"])
def test_reading_d_on_the_real_batch_leaves_its_batchnorm_statistics_alone(layer):
    generator, discriminator = players("dcgan")
    gan = gan_of(generator, discriminator)
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    step = generator_step(gan, real, generator(torch.randn(8, 4)))
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    FeatureMatching(layer=layer).generator_term(step).backward()
    assert all(torch.equal(before[k], v) for k, v in discriminator.state_dict().items())
