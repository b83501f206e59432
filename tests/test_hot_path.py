"""What runs on every batch stays cheap: mean D(x) and gradient norms only on the batches whose values are kept,
loss functions called without Hydra's per-call policy check, random states saved only when a figure is due."""

import functools

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gankit import losses
from gankit.arguments import batch_function
from gankit.callbacks import observing as observing_module
from gankit.callbacks.figures import Scatter2D
from gankit.callbacks.samples import SampleWriter
from gankit.data.toy import Ring, ToyDataModule
from gankit.gan import GAN
from gankit.models.mlp import MLPDiscriminator, MLPGenerator


class Measured(pl.Callback):
    """Which batches carried the gradient norms and mean D(x) in batch_values."""

    def __init__(self):
        self.batches = []

    def on_train_batch_end(self, trainer, gan, outputs, batch, batch_idx):
        keys = {"train/grad_norm_d", "train/grad_norm_g", "train/d_real", "train/d_fake"}
        present = keys & set(gan.batch_values)
        assert present in (set(), keys), present  # all four or none
        assert {"train/d_loss", "train/g_loss"} <= set(gan.batch_values)  # the guard's losses: every batch
        if present:
            self.batches.append(batch_idx)


def make_gan():
    return GAN(generator=MLPGenerator(latent_dim=4, data_shape=[2], hidden=[16]),
               discriminator=MLPDiscriminator(data_shape=[2], hidden=[16]),
               loss=losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator),
               optimizer_g=lambda p: torch.optim.Adam(p), optimizer_d=lambda p: torch.optim.Adam(p))


def fit(callbacks, max_steps=None, max_epochs=1, log_every=4, batches=10):
    trainer = pl.Trainer(max_steps=max_steps or -1, max_epochs=max_epochs, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=log_every,
                         callbacks=callbacks)
    gan = make_gan()
    trainer.fit(gan, datamodule=ToyDataModule(Ring(), batch_size=8, batches_per_epoch=batches))
    return gan


def test_gradient_norms_are_measured_on_logging_batches_and_the_last_one():
    measured = Measured()
    fit([measured], max_steps=2 * 10, max_epochs=-1)  # 10 batches of one D and one G step
    assert measured.batches == [3, 7, 9]  # logging every 4th batch, and the last
    measured = Measured()
    fit([measured], max_epochs=2, batches=6, log_every=5)  # an epoch-limited run: the last batch of the last epoch
    assert measured.batches == [4, 3, 5]  # batch indices within each epoch: the 5th and 10th batch, then the 12th


def test_loss_functions_of_gankit_are_plain_partials_and_others_keep_hydras():
    loss = instantiate(OmegaConf.load("conf/loss/nonsaturating.yaml"))
    for function in (loss.discriminator_loss, loss.generator_loss):
        assert type(function) is functools.partial  # not Hydra's subclass, which checks its policy on every call
    logits = torch.randn(5)
    assert torch.equal(loss.generator_loss(logits), losses.nonsaturating_generator(logits))
    foreign = instantiate(OmegaConf.create({"_target_": "math.dist", "_partial_": True}))
    assert batch_function("distance", foreign) is foreign


def test_random_states_are_saved_only_when_a_figure_is_due(tmp_path, monkeypatch):
    isolations = []
    real = observing_module.isolate_rng

    def counting(*args, **kwargs):
        isolations.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(observing_module, "isolate_rng", counting)
    writer = SampleWriter(Scatter2D(), dirpath=str(tmp_path), every_n_steps=8, num_samples=16)
    fit([writer], max_steps=2 * 10, max_epochs=-1)
    figures = sorted(p.name for p in tmp_path.glob("step_*.png"))
    assert figures == ["step_0000008.png", "step_0000016.png", "step_0000020.png"]
    assert len(isolations) == 3  # the two figures due during training and the end (not one per batch)
