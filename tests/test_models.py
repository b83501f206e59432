"""Shapes, layer placement and initialisation of the MLP and DCGAN players."""

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("size", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_every_size(size, channels):
    g = DCGANGenerator(latent_dim=8, data_shape=[channels, size, size], width=8)
    d = DCGANDiscriminator(data_shape=[channels, size, size], width=8)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, channels, size, size)
    assert x.abs().max() <= 1.0  # tanh output
    logits, features = d(x)
    assert logits.shape == (3,)
    assert features.shape == (3, d.feature_dim)


def test_dcgan_batchnorm_placement_follows_radford():
    g = DCGANGenerator(latent_dim=8, data_shape=[1, 32, 32], width=8)
    d = DCGANDiscriminator(data_shape=[1, 32, 32], width=8)
    g_layers, d_layers = list(g.net), list(d.body)
    assert isinstance(g_layers[-1], nn.Tanh) and isinstance(g_layers[-2], nn.ConvTranspose2d)
    assert isinstance(d_layers[0], nn.Conv2d) and isinstance(d_layers[1], nn.LeakyReLU)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 3  # all but the output
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 2  # all but the input
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))


def test_dcgan_init_is_normal_0_002():
    g = DCGANGenerator(latent_dim=100, data_shape=[1, 64, 64], width=64)
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("shape", [[1, 24, 24], [1, 256, 256], [1, 32, 16], [2]])
def test_dcgan_refuses_shapes_it_cannot_build(shape):
    with pytest.raises(ConfigError, match="dcgan"):
        DCGANGenerator(latent_dim=8, data_shape=shape)


@pytest.mark.parametrize("shape", [[1], [2], [1, 8, 8]])
def test_mlp_shapes(shape):
    g = MLPGenerator(latent_dim=4, data_shape=shape, hidden=[16, 16])
    d = MLPDiscriminator(data_shape=shape, hidden=[16, 12])
    x = g(torch.randn(5, 4))
    assert x.shape == (5, *shape)
    logits, features = d(x)
    assert logits.shape == (5,) and features.shape == (5, 12)
