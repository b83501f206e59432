"""The training loop: k D updates per G update, one G forward where one serves, frozen D in G's step."""

import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from gankit import losses
from gankit.data.toy import Ring, ToyDataModule
from gankit.gan import GAN
from gankit.models.mlp import MLPDiscriminator, MLPGenerator


def make_gan(d_steps=1, g_steps=1):
    return GAN(
        generator=MLPGenerator(latent_dim=4, data_shape=[2], hidden=[16]),
        discriminator=MLPDiscriminator(data_shape=[2], hidden=[16]),
        loss=losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator),
        optimizer_g=lambda p: torch.optim.SGD(p, lr=0.01),
        optimizer_d=lambda p: torch.optim.SGD(p, lr=0.01),
        d_steps=d_steps,
        g_steps=g_steps,
    )


def fit(gan, batches):
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, datamodule=ToyDataModule(Ring(), batch_size=8, batches_per_epoch=batches))
    return trainer


class Counter:
    def __init__(self, module):
        self.calls = 0
        module.register_forward_hook(lambda *_: setattr(self, "calls", self.calls + 1))


@pytest.mark.parametrize("d_steps,g_steps", [(1, 1), (3, 1), (2, 2)])
def test_k_discriminator_updates_per_generator_updates(d_steps, g_steps):
    gan = make_gan(d_steps, g_steps)
    g_forwards = Counter(gan.generator)
    batches = 6  # each batch feeds one D update on a fresh real batch
    trainer = fit(gan, batches)
    iterations = batches // d_steps
    assert gan.d_updates == batches
    assert trainer.global_step == batches + iterations * g_steps
    # A G forward per D update; the last one of an iteration also serves the first G update.
    assert g_forwards.calls == batches + iterations * (g_steps - 1)


def test_generator_update_computes_no_discriminator_gradients():
    gan = make_gan()
    seen = []
    for p in gan.discriminator.parameters():
        p.register_hook(lambda grad: seen.append("d"))
    for p in gan.generator.parameters():
        p.register_hook(lambda grad: seen.append("g"))
    fit(gan, 1)
    # One D update (D grads only: the fake is detached), then one G update (G grads only).
    n_d, n_g = len(list(gan.discriminator.parameters())), len(list(gan.generator.parameters()))
    assert seen == ["d"] * n_d + ["g"] * n_g


def test_sample_and_latent_dim_are_public():
    gan = make_gan()
    assert gan.latent_dim == 4
    x = gan.sample(7)
    assert x.shape == (7, 2) and not x.requires_grad
    assert gan.generator.training  # sampling restores the mode


def test_invalid_step_counts_are_refused():
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="d_steps"):
        make_gan(d_steps=0)


def test_schedulers_are_stepped_by_the_module():
    gan = make_gan()
    gan._factories = (*gan._factories[:2],
                      lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5), None)
    trainer = fit(gan, 2)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.005)
    assert trainer.optimizers[1].param_groups[0]["lr"] == pytest.approx(0.01)


def test_discriminator_features_feed_techniques(monkeypatch):
    from gankit.tricks import Trick

    class Probe(Trick):
        def __init__(self):
            super().__init__()
            self.shapes = []

        def generator_term(self, step):
            logits, features = step.real_outputs()
            self.shapes.append((tuple(features.shape), step.fake_features.requires_grad))
            return None

    gan = make_gan()
    gan.tricks = nn.ModuleDict({"probe": Probe()})
    fit(gan, 2)
    assert gan.tricks["probe"].shapes == [((8, 16), True)] * 2
