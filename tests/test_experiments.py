"""conf/experiment presets compose as small deltas over the defaults; the toy ones train."""

import pytest

from gankit.run import train
from tests.conftest import CONF_DIR

PRESETS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def test_the_presets_of_the_seed_examples_and_standard_studies_exist():
    assert set(PRESETS) >= {"goodfellow_1d", "ring_mode_collapse", "grid_mode_collapse", "digits_dcgan",
                            "mnist_dcgan", "cifar10_dcgan", "cifar10_improved_gan"}


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes(make_config, preset):
    cfg = make_config(f"experiment={preset}")
    assert cfg.dataset.name and cfg.model.generator._target_


def test_goodfellow_1d_is_figure_1(make_config):
    cfg = make_config("experiment=goodfellow_1d")
    assert cfg.dataset.name == "gaussian1d" and cfg.loss.generator._target_.endswith("minimax_generator")
    assert cfg.metrics.main == "eval/js"


def test_cifar10_improved_gan_takes_the_papers_settings(make_config):
    cfg = make_config("experiment=cifar10_improved_gan")
    assert cfg.model.discriminator.head.kernels == 100 and cfg.model.discriminator.head.kernel_dim == 5
    assert cfg.trick.label_smoothing.alpha == 0.9
    assert "virtual_batch_norm" in cfg.trick
    assert (cfg.gan.optimizer_g.lr, cfg.gan.optimizer_d.lr, cfg.dataset.batch_size) == (3e-4, 3e-4, 100)


def test_a_command_line_choice_wins_over_the_preset(make_config):
    cfg = make_config("experiment=grid_mode_collapse", "gan.optimizer_g.lr=0.01", "dataset=ring")
    assert cfg.gan.optimizer_g.lr == 0.01 and cfg.dataset.name == "ring"


@pytest.mark.parametrize("preset", ["goodfellow_1d", "ring_mode_collapse", "grid_mode_collapse"])
def test_the_toy_presets_train_and_report_their_main_metric(make_config, preset):
    metrics = train(make_config(f"experiment={preset}", "dataset.batch_size=32", "callbacks.samples.final={}"))
    assert metrics[make_config(f"experiment={preset}").metrics.main] >= 0
