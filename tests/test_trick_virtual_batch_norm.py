"""Virtual batch norm: per-example outputs, reference-batch statistics, the reference noise checkpointed."""


import pytest
import torch

from gankit.errors import ConfigError
from gankit.gan import GAN
from gankit.models.dcgan import DCGANGenerator
from gankit.models.mlp import MLPGenerator
from gankit.run import build_run
from gankit.tricks.virtual_batch_norm import ReferenceBatch, VirtualBatchNorm

GENERATORS = {
    "mlp": lambda: MLPGenerator(4, [2], hidden=[16, 16], norm=VirtualBatchNorm),
    "dcgan": lambda: DCGANGenerator(4, [1, 16, 16], width=4, norm=VirtualBatchNorm),
}


def vbn_gan(family, size=8):
    gan = GAN(GENERATORS[family](), None, None, None, None)
    technique = ReferenceBatch(latent_dim=4, size=size)
    technique.setup(gan.game)
    return gan, technique


@pytest.mark.parametrize("family", GENERATORS)
def test_in_eval_mode_an_examples_output_does_not_depend_on_its_batch(family):
    gan, _ = vbn_gan(family)
    z = torch.randn(5, 4)
    alone = gan.sample(1, noise=z[:1])
    in_batch = gan.sample(5, noise=z)
    in_other_batch = gan.sample(3, noise=torch.cat([z[:1], 100 * torch.randn(2, 4)]))
    assert torch.allclose(alone[0], in_batch[0], atol=1e-5)
    assert torch.allclose(alone[0], in_other_batch[0], atol=1e-5)
    gan.generator.train()
    assert torch.allclose(gan.generator(z)[0], gan.generator(z[:1])[0], atol=1e-5)  # in train mode too


@pytest.mark.parametrize("family", GENERATORS)
def test_the_output_depends_on_the_reference_batch(family):
    gan, technique = vbn_gan(family)
    z = torch.randn(3, 4)
    before = gan.sample(3, noise=z)
    technique.noise.copy_(torch.randn_like(technique.noise))
    assert not torch.allclose(before, gan.sample(3, noise=z), atol=1e-4)


def test_an_example_is_normalised_with_the_reference_batch_plus_itself():
    layer = VirtualBatchNorm(3)
    reference, x = torch.randn(7, 3, 4, 4), torch.randn(2, 3, 4, 4)
    layer.recording = True
    layer(reference)
    layer.recording = False
    out = layer(x)
    for i in range(2):  # the statistics of the N + 1 examples: weight 1/(N+1) for x_i, per channel
        union = torch.cat([reference, x[i:i + 1]])
        mean = union.mean((0, 2, 3), keepdim=True)
        var = union.var((0, 2, 3), unbiased=False, keepdim=True)
        expected = (x[i:i + 1] - mean) / torch.sqrt(var + 1e-5) * layer.weight.view(1, 3, 1, 1)
        assert torch.allclose(out[i:i + 1], expected, atol=1e-5)


def test_gamma_is_normal_1_002_and_beta_zero():
    layer = VirtualBatchNorm(20000)
    assert layer.weight.mean().item() == pytest.approx(1.0, abs=1e-3)
    assert layer.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.equal(layer.bias, torch.zeros(20000))


def test_the_reference_batch_is_rerun_through_the_current_generator_each_forward():
    gan, technique = vbn_gan("mlp", size=6)
    first = gan.generator.net[0]
    sizes = []
    first.register_forward_hook(lambda m, args, out: sizes.append(len(args[0])))
    gan.generator(torch.randn(3, 4))
    gan.generator(torch.randn(2, 4))
    assert sizes == [6, 3, 6, 2]
    z = torch.randn(3, 4)
    before = gan.generator(z)
    with torch.no_grad():
        first.weight.mul_(2.0)  # G changes: the reference statistics follow
    layer = gan.generator.net[1]
    calls = []
    layer.register_forward_hook(lambda m, args, out: calls.append(m.reference[0].clone()))
    after = gan.generator(z)
    assert not torch.allclose(before, after)
    assert len(calls) == 2 and torch.equal(calls[0], calls[1])  # recorded by the reference pass, then used
    assert all(m.reference is None for m in gan.generator.modules() if isinstance(m, VirtualBatchNorm))


def test_gradients_reach_the_generator_through_the_reference_statistics():
    gan, _ = vbn_gan("mlp")
    gan.generator(torch.randn(1, 4)).sum().backward()
    assert all(p.grad is not None for p in gan.generator.parameters())


def test_a_generator_without_vbn_layers_is_refused(make_config):
    _, gan, _ = build_run(make_config("trick=virtual_batch_norm", "model=mlp", "dataset=ring",
                                      "model.generator.norm=null"))
    with pytest.raises(ConfigError, match="trick=virtual_batch_norm found no VirtualBatchNorm layer"):
        gan.tricks["virtual_batch_norm"].setup(gan.game)


def test_the_reference_noise_is_checkpointed_and_resumed(make_config, tmp_path):
    small = ["metrics=none", "trick=virtual_batch_norm", "model=mlp", "dataset=ring", "dataset.batch_size=8",
             "model.generator.hidden=[8]", "model.discriminator.hidden=[8]", "+dataset.samples.figure.resolution=10"]
    trainer, gan, data = build_run(make_config(*small, "trainer.max_steps=2"))
    saved = gan.tricks["virtual_batch_norm"].noise.clone()
    trainer.fit(gan, datamodule=data)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.equal(torch.load(ckpt, weights_only=False)["state_dict"]["tricks.virtual_batch_norm.noise"], saved)
    trainer, gan, data = build_run(make_config(*small, "seed=1", "trainer.max_steps=4"))
    assert not torch.equal(gan.tricks["virtual_batch_norm"].noise, saved)  # a new run draws its own
    trainer.fit(gan, datamodule=data, ckpt_path=str(ckpt))
    assert torch.equal(gan.tricks["virtual_batch_norm"].noise, saved)  # a resumed one keeps the original
    assert gan.sample(3).shape == (3, 2)


def test_it_builds_from_the_model_configs(make_config):
    for model in (["model=mlp", "dataset=ring"], ["model.generator.width=8", "model.discriminator.width=8"]):
        _, gan, _ = build_run(make_config("trick=virtual_batch_norm", *model))
        gan.tricks["virtual_batch_norm"].setup(gan.game)
        assert any(isinstance(m, VirtualBatchNorm) for m in gan.generator.modules())
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gan.generator.modules())
        assert gan.sample(2).shape[0] == 2


