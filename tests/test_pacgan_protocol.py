"""experiment=pacgan_grid / pacgan_ring: PacGAN's Table 1 networks, optimiser, batch and training set (Lin et al.
2018, as the authors' code builds them); the fixed toy training set; a short run trains."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from gankit.data.toy import Grid, ToyDataModule
from gankit.models.mlp import Maxout
from gankit.run import build_run, train
from tests.conftest import ROOT


def linear_layers(network: nn.Module) -> list[nn.Linear]:
    return [m for m in network.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("preset", ["pacgan_grid", "pacgan_ring"])
def test_the_preset_builds_the_papers_networks(make_config, preset):
    cfg = make_config(f"experiment={preset}")
    _, gan, datamodule = build_run(cfg)
    g, d = gan.generator, gan.discriminator
    g_linear = linear_layers(g)
    assert [(m.in_features, m.out_features) for m in g_linear] == [(2, 400), (400, 400), (400, 400), (400, 400),
                                                                   (400, 2)]
    assert [m.bias is None for m in g_linear] == [True] * 4 + [False]  # no hidden biases; the output has one
    norms = [m for m in g.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 4 and all(n.momentum == 0.05 and n.num_features == 400 for n in norms)
    kinds = [type(m).__name__ for m in g.net]  # Linear -> BatchNorm -> ReLU, four times, then Linear
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"] * 4 + ["Linear"]
    maxouts = [m for m in d.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.out_features, m.pieces) for m in maxouts] == [(2, 200, 5), (200, 200, 5),
                                                                                   (200, 200, 5)]
    assert [(m.in_features, m.out_features) for m in linear_layers(d)][-1] == (200, 1)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Dropout, nn.LeakyReLU)) for m in d.modules())
    for layer in g_linear + linear_layers(d):  # N(0, 0.02) weights, zero biases
        assert abs(layer.weight.std().item() - 0.02) < 0.1 * 0.02 + 3 * 0.02 / layer.weight.numel() ** 0.5
        assert abs(layer.weight.mean().item()) < 4 * 0.02 / layer.weight.numel() ** 0.5
        assert layer.bias is None or not layer.bias.any()
    assert gan.latent_dim == 2
    opt_g, opt_d = (factory(nn.Linear(1, 1).parameters()) for factory in gan._factories[:2])
    for opt in (opt_g, opt_d):
        assert opt.defaults["lr"] == 1e-4 and tuple(opt.defaults["betas"]) == (0.8, 0.999)
    assert (datamodule.batch_size, datamodule.train_size) == (100, 100_000)
    assert cfg.dataset.max_steps == 800_000  # (the tests' quiet settings shorten trainer.max_steps)
    assert "nonsaturating" in cfg.loss.generator._target_


def test_packing_keeps_100_packs_a_batch_and_100000_packs_of_data(make_config):
    cfg = make_config("experiment=pacgan_grid", "trick=pacgan4")
    _, gan, datamodule = build_run(cfg)
    assert gan.tricks["pacgan"].pack == 4
    assert (datamodule.batch_size, datamodule.train_size) == (400, 400_000)
    first = [m for m in gan.discriminator.modules() if isinstance(m, Maxout)][0].linear
    assert first.in_features == 8 and first.out_features == 1000  # 4 samples of 2 dims; 200 units x 5 pieces
    assert abs(first.weight.std().item() - 0.02) < 0.002


@pytest.mark.parametrize("pack", [2, 3, 4])
def test_the_pacgan_m_options_are_pacgan_with_that_pack(make_config, pack):
    cfg = make_config("experiment=pacgan_ring", f"trick=pacgan{pack}")
    assert cfg.trick.pacgan.pack == pack and cfg.dataset.batch_size == 100 * pack


def test_cfg_job_shows_the_architecture_and_optimiser(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "experiment=pacgan_grid", "--cfg", "job"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for line in ["hidden:\n    - 400\n    - 400\n    - 400\n    - 400", "momentum: 0.05", "bias: false",
                 "maxout_pieces: 5", "init_std: 0.02", "latent_dim: 2", "lr: 0.0001", "- 0.8",
                 "max_steps: 800000", "num_samples: 2500", "batch_size: ${gankit.product:100,"]:
        assert line in result.stdout, line


def test_a_fixed_training_set_is_drawn_once_and_passed_over_each_epoch():
    def drawn(seed: int) -> ToyDataModule:
        module = ToyDataModule(Grid(), batch_size=10, train_size=100, data_seed=seed)
        module.setup()
        return module

    module = drawn(3)
    assert module.train_set.shape == (100, 2) and torch.equal(module.train_set, drawn(3).train_set)
    assert not torch.equal(module.train_set, drawn(4).train_set)
    batches = list(module.train_dataloader())
    assert len(batches) == 10 and all(b.shape == (10, 2) for b in batches)
    epoch = torch.cat(batches)
    assert torch.equal(epoch[epoch[:, 0].argsort()], module.train_set[module.train_set[:, 0].argsort()])


def test_a_training_set_smaller_than_a_batch_is_refused(make_config):
    from gankit.errors import ConfigError
    from gankit.run import build_run

    with pytest.raises(ConfigError, match="train_size=5 must be at least batch_size=10"):  # built by hand
        ToyDataModule(Grid(), batch_size=10, train_size=5)
    with pytest.raises(ConfigError, match="^dataset.train_size=5 must be at least dataset.batch_size=10"):
        build_run(make_config("dataset=grid", "model=mlp", "dataset.train_size=5", "dataset.batch_size=10"))


@pytest.mark.parametrize("trick", ["none", "pacgan3"])
def test_a_short_run_of_the_protocol_trains(make_config, trick):
    cfg = make_config("experiment=pacgan_ring", f"trick={trick}", "trainer.max_steps=8", "callbacks.samples.final={}")
    metrics = train(cfg)
    assert metrics["step"] == 8 and 0 <= metrics["eval/high_quality"] <= 100
    assert all(torch.isfinite(torch.tensor(v)) for k, v in metrics.items() if k.startswith("train/"))


def test_the_preset_runs_without_metrics(make_config):
    _, gan, _ = build_run(make_config("experiment=pacgan_grid", "metrics=none"))
    assert gan.latent_dim == 2


def test_every_row_of_the_pacgan_table_builds_on_the_protocol(make_config):
    from omegaconf import OmegaConf

    study = OmegaConf.load(ROOT / "conf" / "sweep" / "pacgan_table.yaml")
    assert len(study.axes.seed) == 10 and set(study.axes.dataset) == {"grid", "ring"}
    for trick in study.axes.trick:
        cfg = make_config(*study.overrides, "dataset=ring", f"trick={trick}")
        _, gan, datamodule = build_run(cfg)
        pack = gan.tricks["pacgan"].pack if "pacgan" in gan.tricks else 1
        assert cfg.dataset.name == "ring" and datamodule.batch_size == 100 * pack, trick
    published = {(r.row.trick, r.row.dataset): r["values"] for r in study.published}
    assert published["none", "grid"]["eval/modes"] == [17.3, 0.8]
    assert published["pacgan4", "grid"]["eval/reverse_kl"][0] == 0.04
    assert published["none", "ring"]["eval/high_quality"][0] == 98.2
    assert published["pacgan2", "ring"]["eval/modes"] == [7.9, 0.1]
    assert all(trick in study.axes.trick for trick, _ in published)
