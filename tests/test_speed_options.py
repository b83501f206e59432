"""Speed options on the CPU: mixed precision (bf16, and fp16 with the gradient scaler), torch.compile,
channels_last, fused optimisers, data held on the training device; bad values stop with one line."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision

from gankit.data.batches import TensorBatches
from gankit.data.toy import Ring
from gankit.errors import ConfigError
from gankit.run import build_run, train

SMALL = ["metrics=none", "trainer.max_steps=6", "callbacks.samples.final={}"]


def finite(metrics: dict) -> bool:
    return all(math.isfinite(metrics[k]) for k in ("train/d_loss", "train/g_loss", "train/grad_norm_d"))


def test_bf16_mixed_precision_trains_the_dcgan(make_config):
    assert finite(train(make_config(*SMALL, "trainer.precision=bf16-mixed")))


@pytest.mark.parametrize("fused", [False, True])  # fused Adam unscales inside its own step, after the norm is taken
def test_fp16_with_the_gradient_scaler_logs_unscaled_gradient_norms(make_config, fused):
    # Lightning turns trainer.precision=16-mixed into bf16-mixed on a CPU; its fp16 plugin with a
    # GradScaler still runs here when given explicitly, so manual_backward's scaling path is exercised.
    norms = {}
    fp16 = MixedPrecision("16-mixed", "cpu", torch.amp.GradScaler("cpu", init_scale=2.0**10))
    fusing = [f"gan.optimizer_g.fused={str(fused).lower()}", f"gan.optimizer_d.fused={str(fused).lower()}"]
    for name, plugins in (("fp32", []), ("fp16", [fp16])):
        _, gan, datamodule = build_run(make_config(*SMALL, *fusing))
        trainer = pl.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, plugins=plugins,
                             log_every_n_steps=1)  # the GAN logs on Lightning's rhythm: here every batch
        trainer.fit(gan, datamodule=datamodule)
        norms[name] = float(trainer.callback_metrics["train/grad_norm_d"])
        if name == "fp16":
            assert trainer.precision_plugin.scaler.get_scale() == 2.0**10  # the loss was scaled, no overflow
    assert math.isfinite(norms["fp16"]) and abs(norms["fp16"] / norms["fp32"] - 1) < 0.2  # same seed, same batch


def test_compiled_channels_last_networks_train_and_keep_their_checkpoint_keys(make_config, tmp_path):
    # backend=eager traces G and D with TorchDynamo without generating code (fast enough for CI)
    metrics = train(make_config(*SMALL, "compile={backend: eager}", "channels_last=true"))
    assert finite(metrics)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert not any("_orig_mod" in key for key in state)
    _, gan, _ = build_run(make_config(*SMALL))
    gan.load_state_dict(state)  # loads into networks that are not compiled


def test_channels_last_puts_convolution_weights_and_batches_in_nhwc(make_config):
    _, gan, _ = build_run(make_config(*SMALL, "channels_last=true"))
    gan.configure_model()
    conv = next(m for m in gan.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.slow
def test_compile_with_inductor_trains_the_mlp(make_config):  # ~60 s of compiling on a 2-core CPU
    assert finite(train(make_config(*SMALL, "dataset=ring", "model=mlp", "compile=true")))


def test_fused_adam_trains(make_config):
    assert finite(train(make_config(*SMALL, "dataset=ring", "model=mlp", "gan.optimizer_g.fused=true",
                                    "gan.optimizer_d.fused=true")))


def test_data_are_drawn_and_sliced_on_the_data_device():
    assert Ring().sample(5, torch.device("cpu")).shape == (5, 2)
    data = torch.arange(10.0).view(10, 1)
    batches = list(TensorBatches(data, 4))
    assert len(batches) == 2 and all(b.device == data.device for b in batches)
    assert len(torch.cat(batches).unique()) == 8  # a permutation: no sample twice in an epoch


@pytest.mark.parametrize("override, message", [
    ("compile=fast", "compile must be true, false or a mapping of torch.compile arguments, got 'fast'"),
    ("trainer.precision=8-mixed", "precision"),
])
def test_bad_speed_options_are_config_errors(make_config, override, message):
    with pytest.raises(ConfigError, match=message) as error:  # train.py prints it as one line, exit 2
        build_run(make_config(*SMALL, override))
    assert "\n" not in str(error.value)
