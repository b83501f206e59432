"""Spectral norm: every D weight layer is parametrised, and after a few power iterations its sigma is about 1."""

import torch
from torch.nn.utils import parametrize

from gankit.run import build_run
from gankit.tricks.reparametrise import weight_layers


def top_singular_value(weight: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2))  # [out, in * k * k]


def normalised_layers(network):
    return [m for m in network.modules() if parametrize.is_parametrized(m, "weight")]


def test_every_weight_layer_of_d_ends_with_a_largest_singular_value_near_one(make_config):
    trainer, gan, datamodule = build_run(make_config(
        "trick=[spectral_norm,minibatch_discrimination]", "dataset.image_size=16", "dataset.batch_size=16",
        "model.generator.width=8", "model.discriminator.width=8", "metrics=none", "trainer.max_steps=20"))
    layers = normalised_layers(gan.discriminator)
    assert len(layers) == 3 and not weight_layers(gan.discriminator)  # 2 convolutions + the minibatch head linear
    assert not normalised_layers(gan.generator)
    assert top_singular_value(layers[0].parametrizations.weight.original) < 0.5  # DCGAN init N(0, 0.02): far below 1
    trainer.fit(gan, datamodule=datamodule)
    gan.eval()  # eval: W / sigma from the stored power-iteration vectors, without a further iteration
    sigmas = [top_singular_value(m.weight) for m in layers]
    assert all(abs(s - 1.0) < 0.05 for s in sigmas), sigmas


def test_the_generator_is_normalised_when_asked(make_config):
    _, gan, _ = build_run(make_config("trick=spectral_norm", "trick.spectral_norm.generator=true", "model=mlp",
                                      "dataset=ring"))
    assert len(normalised_layers(gan.generator)) == 3


def test_the_sngan_discriminator_has_no_batchnorm_and_its_convolutions_have_biases(make_config):
    _, gan, _ = build_run(make_config("trick=spectral_norm", "dataset.image_size=16", "model.discriminator.width=8",
                                      "model.generator.width=8"))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in gan.discriminator.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in gan.generator.modules())  # G keeps DCGAN's BatchNorm
    assert all(m.bias is not None for m in normalised_layers(gan.discriminator))
    _, mlp, _ = build_run(make_config("trick=spectral_norm", "model=mlp", "dataset=ring"))  # the MLP D takes it too
    assert len(normalised_layers(mlp.discriminator)) == 3


def test_batchnorm_in_d_is_still_there_when_asked_for(make_config):
    _, gan, _ = build_run(make_config("trick=spectral_norm", "dataset.image_size=16",
                                      "model.discriminator.norm={_target_:torch.nn.BatchNorm2d,_partial_:true}"))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in gan.discriminator.modules())


def test_one_power_iteration_a_training_forward_of_d(make_config):
    """2 a D update (real and generated batch) and 1 a G update; none in eval mode."""
    trainer, gan, datamodule = build_run(make_config(
        "trick=spectral_norm", "model=mlp", "dataset=ring", "metrics=none", "trainer.max_steps=2",
        "callbacks.samples.every_n_steps=0", "callbacks.samples.final={}"))
    first = normalised_layers(gan.discriminator)[0].parametrizations.weight[0]
    calls = []
    first.register_forward_hook(lambda module, *_: calls.append(module.training))
    trainer.fit(gan, datamodule=datamodule)
    assert calls.count(True) == 3  # one D update (2 forwards) and one G update (1 forward)
