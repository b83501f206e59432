"""Every option of every config group composes and instantiates; bad values give one clear line."""

import pytest

from gankit.checks import check_group_choices, group_options
from gankit.errors import ConfigError
from gankit.run import build_run
from tests.conftest import CONF_DIR

# conf/sweep holds sweep.py's studies and conf/hydra Hydra's own settings: not groups of a run
GROUPS = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir() and p.name not in {"sweep", "hydra"})
TOY = {"ring", "grid", "gaussian1d", "circle"}
IMAGE_FILES = {"mnist", "fashion_mnist", "cifar10", "svhn", "celeba", "folder"}  # files read in setup, not here


def companions(group: str, option: str) -> list[str]:
    """Other choices an option needs to make sense (DCGAN needs images, toy data an MLP, Inception weights)."""
    if group == "dataset" and option in TOY or (group, option) == ("metrics", "toy"):
        return ["model=mlp"] + (["dataset=ring"] if group == "metrics" else [])
    if group == "dataset" and option in IMAGE_FILES:  # their default metrics=image needs Inception weights
        return ["metrics=none", "model.generator.width=8", "model.discriminator.width=8"]
    if group == "experiment":  # presets choose their own model; image ones need files or weights
        return ["metrics=none"] if option.split("_")[0] in IMAGE_FILES else []
    if (group, option) == ("metrics", "image"):
        from tests.inception_weights import random_inception_weights

        return [f"metrics.inception_weights={random_inception_weights()}", "model.generator.width=8",
                "model.discriminator.width=8"]
    if (group, option) == ("trick", "pacgan3"):  # packs of 3: a batch of a multiple of 3
        return ["model.generator.width=8", "model.discriminator.width=8", "dataset.batch_size=48"]
    return ["model.generator.width=8", "model.discriminator.width=8"] if group != "model" or option == "dcgan" else []


CASES = [(g, o) for g in GROUPS for o in group_options(CONF_DIR, g)]


@pytest.mark.parametrize("group,option", CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_every_option_composes_and_instantiates(make_config, group, option):
    cfg = make_config(f"{group}={option}", *companions(group, option))
    trainer, gan, datamodule = build_run(cfg)
    assert gan.latent_dim == cfg.model.latent_dim
    assert trainer.max_steps == cfg.trainer.max_steps


def test_the_default_is_dcgan_on_digits_with_the_nonsaturating_loss(make_config):
    cfg = make_config()
    assert cfg.dataset.name == "digits"
    assert "DCGAN" in cfg.model.generator._target_
    assert cfg.loss.generator._target_.endswith("nonsaturating_generator")
    assert cfg.gan.optimizer_g.lr == 2e-4 and list(cfg.gan.optimizer_g.betas) == [0.5, 0.999]


@pytest.mark.parametrize("overrides,message", [
    (["model=foo"], "unknown option model=foo; choose one of: dcgan, mlp"),
    (["dataset=ring,cifar"], "unknown option dataset=cifar"),
    (["trick=[none,bogus]"], "unknown option trick=bogus"),
])
def test_unknown_group_options_name_the_valid_choices(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        check_group_choices(CONF_DIR, overrides)


def test_known_options_pass():
    check_group_choices(CONF_DIR, ["model=mlp", "dataset=ring,grid", "trainer.max_steps=3"])


@pytest.mark.parametrize("override,message", [
    ("trainer.max_steps=abc", "trainer.max_steps must be an integer, got 'abc'"),
    ("gan.d_steps=0", "gan.d_steps must be >= 1, got 0"),
    ("gan.optimizer_g.lr=-1", "gan.optimizer_g.lr must be > 0.0, got -1"),
    ("dataset.batch_size=1.5", "dataset.batch_size must be an integer, got 1.5"),
])
def test_bad_values_are_refused_before_anything_heavy(make_config, override, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        build_run(make_config(override))


def test_dcgan_on_a_size_it_cannot_build_says_which_sizes_work(make_config):
    with pytest.raises(ConfigError, match="16, 32, 64, 128, got 24x24"):
        build_run(make_config("dataset.image_size=24"))


def test_dcgan_on_vector_data_points_to_the_mlp(make_config):
    with pytest.raises(ConfigError, match="use model=mlp"):
        build_run(make_config("dataset=ring"))
