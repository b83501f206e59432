"""EMA of G: after n G steps the average equals the recursion; samples come from it; it is checkpointed."""

import lightning.pytorch as pl
import pytest
import torch

from gankit.data.toy import Ring, ToyDataModule
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.tricks.ema_generator import EMAGenerator
from tests.players import gan_of


class Recorder(pl.Callback):
    """G's parameters after every batch (each batch ends with a G step when d_steps = 1)."""

    def __init__(self):
        self.params = []

    def on_train_batch_end(self, trainer, gan, *args):
        self.params.append([p.detach().clone() for p in gan.generator.parameters()])


@pytest.mark.parametrize("warmup", [True, False])
def test_the_average_follows_the_formula(warmup):
    ema = EMAGenerator(decay=0.9, warmup=warmup)
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), ema_generator=ema)
    expected = [p.detach().clone() for p in gan.generator.parameters()]  # theta_ema^0 = theta^0
    recorder = Recorder()
    pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, callbacks=[recorder]).fit(
        gan, datamodule=ToyDataModule(Ring(), batch_size=8, batches_per_epoch=5))
    for n, params in enumerate(recorder.params):
        beta = min(0.9, (1 + n) / (10 + n)) if warmup else 0.9
        expected = [beta * e + (1 - beta) * p for e, p in zip(expected, params, strict=True)]
    assert ema.updates == 5
    for got, want in zip(ema.average.parameters(), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    assert not any(p.requires_grad for p in ema.average.parameters())


def test_sampling_uses_the_average_and_the_checkpoint_holds_it():
    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), ema_generator=EMAGenerator())
    assert gan.generator_for_evaluation is gan.tricks["ema_generator"].average
    assert gan.evaluated_generator_name == "ema_generator"
    with torch.no_grad():
        for p in gan.tricks["ema_generator"].average.parameters():
            p.zero_()
    assert torch.equal(gan.sample(3, noise=torch.randn(3, 4)), torch.zeros(3, 2))  # the average, not G
    state = gan.state_dict()
    assert any(k.startswith("tricks.ema_generator.average.") for k in state)
    assert state["tricks.ema_generator._extra_state"] == {"updates": 0}


def test_a_bad_decay_is_refused():
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="decay must be in"):
        EMAGenerator(decay=1.0)


class BufferRecorder(pl.Callback):
    """G's buffers (BatchNorm running statistics) after every batch."""

    def __init__(self):
        self.buffers = []

    def on_train_batch_end(self, trainer, gan, *args):
        self.buffers.append({n: b.detach().clone() for n, b in gan.generator.named_buffers()})


def test_the_average_of_a_batchnorm_generator_averages_its_running_statistics_too():
    ema = EMAGenerator(decay=0.9, warmup=True)
    generator = MLPGenerator(4, [2], hidden=[8], norm=torch.nn.BatchNorm1d)
    gan = gan_of(generator, MLPDiscriminator([2], hidden=[8]), ema_generator=ema)
    expected = {n: b.detach().clone() for n, b in generator.named_buffers()}  # the copy made at build
    recorder = BufferRecorder()
    pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, callbacks=[recorder]).fit(
        gan, datamodule=ToyDataModule(Ring(), batch_size=8, batches_per_epoch=5))
    for n, live in enumerate(recorder.buffers):
        beta = min(0.9, (1 + n) / (10 + n))
        expected = {k: beta * e + (1 - beta) * live[k] if e.is_floating_point() else live[k]
                    for k, e in expected.items()}
    averaged = dict(ema.average.named_buffers())
    for name in ("net.1.running_mean", "net.1.running_var"):
        assert not torch.allclose(averaged[name], recorder.buffers[-1][name])  # its own, not G's
        torch.testing.assert_close(averaged[name], expected[name])
    assert int(averaged["net.1.num_batches_tracked"]) == 5  # a count, copied
