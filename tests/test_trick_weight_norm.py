"""Weight norm: D's layers become g v / ||v|| per output unit (dim 1 for transposed convolutions)."""

import torch
from torch.nn.utils import parametrize

from gankit.run import build_run


def test_d_layers_are_weight_normalised_per_output_unit(make_config):
    _, gan, _ = build_run(make_config("trick=weight_norm", "trick.weight_norm.generator=true", "dataset.image_size=16",
                                      "model.generator.width=8", "model.discriminator.width=8"))
    d_layers = [m for m in gan.discriminator.modules() if parametrize.is_parametrized(m, "weight")]
    assert len(d_layers) == 3
    for layer in d_layers:
        g = layer.parametrizations.weight.original0  # [out, 1, 1, 1]
        norms = layer.weight.detach().flatten(1).norm(dim=1)  # [out]
        assert torch.allclose(norms, g.detach().flatten().abs(), atol=1e-5)
    transposed = next(m for m in gan.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    g = transposed.parametrizations.weight.original0  # [1, out, 1, 1]: output units are dim 1
    assert g.shape[1] == transposed.weight.shape[1] and g.shape[0] == 1


def normalised(network):
    return [m for m in network.modules() if parametrize.is_parametrized(m, "weight")]


def scale(layer):
    return layer.parametrizations.weight.original0  # g


def test_hidden_scales_stay_fixed_and_the_output_layer_trains_its_own():
    """The Improved-GAN D (openai/improved-gan nn.py: train_scale=False / train_g=False but in the output layer)."""
    import lightning.pytorch as pl

    from gankit.data.toy import Ring, ToyDataModule
    from gankit.models.mlp import MLPDiscriminator, MLPGenerator
    from gankit.tricks.weight_norm import WeightNorm
    from tests.players import gan_of

    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8, 8]),
                 weight_norm=WeightNorm(train_hidden_scale=False))
    layers = normalised(gan.discriminator)
    before = [scale(m).detach().clone() for m in layers]
    assert [scale(m).requires_grad for m in layers] == [False, False, True]
    pl.Trainer(max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(gan, datamodule=ToyDataModule(Ring(), batch_size=16,
                                                                              batches_per_epoch=4))
    changed = [not torch.equal(b, scale(m)) for b, m in zip(before, layers, strict=True)]
    assert changed == [False, False, True]


def test_the_data_dependent_initialisation_standardises_each_layer_on_the_batch():
    """Salimans & Kingma 2016, Sec. 2.2, as improved-gan's nn.py: g <- g s / std, b <- -(mean) s / std per unit."""
    from gankit.models.mlp import MLPDiscriminator
    from gankit.tricks.weight_norm import WeightNorm, data_dependent_init

    torch.manual_seed(0)
    discriminator = MLPDiscriminator([3], hidden=[16, 8])
    WeightNorm().build(torch.nn.Identity(), discriminator)
    x = 5 * torch.randn(200, 3) + 2
    layers = normalised(discriminator)
    data_dependent_init(discriminator, layers, x, output_std=0.1)
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, out: seen.append(out.detach())) for m in layers]
    discriminator(x)
    for hook in hooks:
        hook.remove()
    for out, std in zip(seen, (1.0, 1.0, 0.1), strict=True):  # [200, units]
        torch.testing.assert_close(out.mean(0), torch.zeros(out.shape[1]), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.std(0, unbiased=False), torch.full((out.shape[1],), std), atol=1e-4, rtol=0)


def test_the_presets_initialise_d_from_data_once_and_fix_its_hidden_scales(make_config):
    from tests.test_trick_semi_supervised import PRESET

    trainer, gan, datamodule = build_run(make_config(*PRESET, "trainer.max_steps=2"), load_data=True)
    technique = gan.tricks["weight_norm"]
    layers = normalised(gan.discriminator)
    assert [scale(m).requires_grad for m in layers] == [False, False, True]
    built = [scale(m).detach().clone() for m in layers]
    trainer.fit(gan, datamodule=datamodule)
    assert technique.state_dict()["_extra_state"] == {"initialised": True}
    fitted = [scale(m).detach().clone() for m in layers]
    assert not any(torch.equal(b, f) for b, f in zip(built, fitted, strict=True))  # set from the data
    technique.setup(gan.game)  # as a resumed run's: initialised already, so nothing changes
    assert all(torch.equal(f, scale(m)) for f, m in zip(fitted, layers, strict=True))
