"""PacGAN: D's first layer sees m x the input, the loss averages over B/m packs, packs are consecutive samples."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.run import build_run
from gankit.tricks.pacgan import PacGAN
from tests.players import discriminator_step, gan_of


@pytest.mark.parametrize("pack", [2, 3, 4])
def test_the_first_layer_of_d_sees_m_times_the_features(pack):
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[16]), pacgan=PacGAN(pack))
    first = gan.discriminator.body[1]
    assert first.in_features == 2 * pack and first.weight.shape == (16, 2 * pack)
    logits, features = gan.discriminate(torch.randn(12, 2))
    assert logits.shape == (12 // pack,) and features.shape == (12 // pack, 16)


def test_images_are_packed_along_channels():
    gan = gan_of(DCGANGenerator(4, [1, 16, 16], width=4), DCGANDiscriminator([1, 16, 16], width=4), pacgan=PacGAN(3))
    assert gan.discriminator.body[0].in_channels == 3
    packed = gan.tricks["pacgan"].discriminator_input(torch.arange(6.0).view(6, 1, 1, 1).expand(6, 1, 2, 2))
    assert packed.shape == (2, 3, 2, 2)
    assert packed[:, :, 0, 0].tolist() == [[0, 1, 2], [3, 4, 5]]  # m consecutive samples form a pack


def test_the_d_loss_is_the_mean_over_packs():
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), pacgan=PacGAN(4))
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    step = discriminator_step(gan, real, fake)
    packs_real = real.reshape(2, 8)  # two packs of 4 samples each
    logits_real, _ = gan.discriminator(packs_real)
    assert torch.allclose(step.real_logits, logits_real)
    expected = gan.loss.discriminator_loss(logits_real, gan.discriminator(fake.reshape(2, 8))[0])
    assert torch.allclose(gan.loss.discriminator_loss(step.real_logits, step.fake_logits), expected)


def test_a_batch_that_is_no_multiple_of_the_pack_is_refused(make_config):
    with pytest.raises(ConfigError, match="batch size must be a multiple of 3; got 16"):
        build_run(make_config("trick=pacgan", "trick.pacgan.pack=3", "model=mlp", "dataset=ring",
                              "dataset.batch_size=16"))
    with pytest.raises(ConfigError, match="pack must be >= 2"):
        PacGAN(1)


def test_a_packed_d_has_no_per_point_probability():
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), pacgan=PacGAN(2))
    assert not gan.scores_points
    with pytest.raises(ValueError, match="no per-point D"):
        gan.discriminator_probability(torch.randn(4, 2))


def test_figures_and_1d_metrics_say_what_a_packed_d_cannot_show(tmp_path):
    from gankit.callbacks.figures import Density1D, Scatter2D
    from gankit.data.toy import Gaussian1D
    from gankit.metrics.toy import ToyEvaluator

    ring = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), pacgan=PacGAN(2))
    Scatter2D(resolution=10)(tmp_path / "ring.png", ring.sample(64), torch.randn(64, 2), ring)
    line = gan_of(MLPGenerator(4, [1], hidden=[8]), MLPDiscriminator([1], hidden=[8]), pacgan=PacGAN(2))
    Density1D(resolution=20)(tmp_path / "line.png", line.sample(64), torch.randn(64, 1), line)
    assert (tmp_path / "ring.png").stat().st_size > 0 and (tmp_path / "line.png").stat().st_size > 0
    evaluator = ToyEvaluator()
    evaluator.setup(type("Data", (), {"distribution": Gaussian1D()})())
    evaluator.update(line.sample(100), line)
    values = evaluator.compute()
    assert "js" in values and "d_real" not in values  # no per-point D(x) to average
