"""Every trick option alone (trained and resumed) and every pair of them (trained) on MLP/ring and DCGAN/digits;
pairs that cannot be combined are refused with one line before training. The lists come from conf/trick/, so a
new technique is covered by adding its yaml."""

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict

from gankit.checks import group_options
from gankit.errors import ConfigError
from gankit.run import build_run, train
from tests.conftest import CONF_DIR, ROOT

VARIANTS = {"pacgan2", "pacgan3", "pacgan4"}  # trick=pacgan with another pack: tested in test_pacgan_protocol.py
TRICKS = [o for o in group_options(CONF_DIR, "trick") if o != "none" and o not in VARIANTS]
FAMILIES = {  # metrics=none: the techniques are under test here, not the evaluators
    "mlp": ["metrics=none", "model=mlp", "dataset=ring", "dataset.batch_size=16",
            "model.generator.hidden=[16]", "model.discriminator.hidden=[16]", "+dataset.samples.figure.resolution=20"],
    "dcgan": ["metrics=none", "model=dcgan", "dataset=digits", "dataset.image_size=16", "dataset.batch_size=16",
              "model.generator.width=8", "model.discriminator.width=8"],
}


def train_and_resume(make_config, tmp_path: Path, *overrides: str, steps: int = 2) -> dict:
    """Train `steps` steps, then resume from last.ckpt to 2 * steps; the resumed run's metrics."""
    train(make_config(*overrides, f"trainer.max_steps={steps}"))
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=False)["global_step"] == steps
    metrics = train(make_config(*overrides, f"trainer.max_steps={2 * steps}", f"ckpt_path={ckpt}"))
    assert metrics["step"] == 2 * steps
    losses = {k: v for k, v in metrics.items() if k.startswith("train/")}
    assert losses and all(torch.isfinite(torch.tensor(v)) for v in losses.values()), metrics
    return metrics


QUICK = ["+trainer.enable_checkpointing=false"]  # pairs: no callbacks (figures, checkpoints), just the steps
PRESETS = {"improved_gan"}  # a combination already: paired, it would select its members twice
REFUSED = {  # (family, technique or pair) -> the one line that refuses it, before any training step
    ("mlp", "diffaugment"): "DiffAugment augments images",
    ("any", ("feature_matching", "unrolled")): "each replace the generator's loss",
    ("any", ("spectral_norm", "weight_norm")): "reparametrised already by another technique",
    ("mlp", "semi_supervised"): "needs labelled data",  # the ring has no classes
    ("any", ("pacgan", "semi_supervised")): "classifies single samples",
}


def refusal(family: str, chosen: tuple[str, ...]) -> str | None:
    for (where, what), message in REFUSED.items():
        if where in (family, "any") and (what in chosen if isinstance(what, str) else set(what) <= set(chosen)):
            return message
    return None


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("trick", TRICKS)
def test_every_trick_trains_and_resumes(make_config, tmp_path, trick, family):
    message = refusal(family, (trick,))
    if message is None:
        train_and_resume(make_config, tmp_path, f"trick={trick}", *FAMILIES[family])
    else:
        with pytest.raises(ConfigError, match=message):
            train(make_config(f"trick={trick}", *FAMILIES[family]))


PAIRS = list(itertools.combinations([t for t in TRICKS if t not in PRESETS], 2))
# Every pair runs on the MLP family in CI; on the DCGAN family CI runs the pairs with a technique the MLP family
# refuses (so every pair is trained somewhere), the other DCGAN pairs are `slow` (about 2 minutes of the suite's
# budget; `pytest -m slow` runs them). Each technique alone is trained and resumed on both families above.
MLP_REFUSES = {what for (where, what), _ in REFUSED.items() if where == "mlp"}
PAIR_CASES = [
    pytest.param(pair, family, id=f"{'+'.join(pair)}-{family}",
                 marks=() if family == "mlp" or MLP_REFUSES & set(pair) else pytest.mark.slow)
    for pair in PAIRS for family in FAMILIES
]


@pytest.mark.parametrize("pair, family", PAIR_CASES)
def test_every_pair_trains_or_is_refused_before_training(make_config, pair, family):
    cfg = make_config(f"trick=[{','.join(pair)}]", *FAMILIES[family], *QUICK, "trainer.max_steps=2")
    with open_dict(cfg):
        cfg.callbacks = {}
    message = refusal(family, pair)
    if message is not None:
        with pytest.raises(ConfigError, match=message):
            train(cfg)
        return
    metrics = train(cfg)
    losses = [v for k, v in metrics.items() if k.startswith("train/")]
    assert metrics["step"] == 2 and losses and all(torch.isfinite(torch.tensor(losses))), metrics


def test_a_multi_select_composes_keyed_and_constructor_techniques(make_config):
    cfg = make_config("trick=[feature_matching,minibatch_discrimination,label_smoothing]", *FAMILIES["dcgan"])
    _, gan, _ = build_run(cfg)
    assert set(gan.tricks) == {"feature_matching", "label_smoothing"}
    assert "MinibatchDiscrimination" in type(gan.discriminator.head).__name__


def test_the_preset_selects_all_five(make_config):
    cfg = make_config("trick=improved_gan", *FAMILIES["mlp"])
    _, gan, _ = build_run(cfg)
    assert set(gan.tricks) == {"feature_matching", "label_smoothing", "virtual_batch_norm", "historical_averaging"}
    assert "MinibatchDiscrimination" in type(gan.discriminator.head).__name__
    assert cfg.trick.label_smoothing.alpha == 0.9
    assert "VirtualBatchNorm" in cfg.model.generator.norm._target_


def test_an_invalid_combination_gives_one_line_from_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "trick=[feature_matching,label_smoothing]",
                             "loss=hinge", "logger=none"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert "trick=label_smoothing" in lines[0] and "loss=hinge" in lines[0]


def test_no_technique_is_named_outside_its_own_files():
    names = TRICKS + [p.stem for p in (ROOT / "src/gankit/tricks").glob("*.py") if p.stem != "__init__"]
    names += ["pac", "ema", "unroll", "spectral", "augment"]  # and their short forms
    places = [ROOT / "src/gankit/gan.py", ROOT / "train.py"]
    places += [p for folder in ("models", "callbacks", "metrics") for p in (ROOT / "src/gankit" / folder).rglob("*.py")]
    for path in places:
        text = path.read_text().lower()
        named = [n for n in names if re.search(rf"\b{n}", text)]
        assert not named, f"{path.relative_to(ROOT)} names {named}"


def test_tricks_see_the_gan_only_through_the_game():
    """No trick reaches into the LightningModule: optimizers by position, a rebound loss, the trainer's data."""
    leaks = re.compile(r"optimizers\(|\.loss\.[a-z_]* =|trainer\.datamodule|step\.gan\b|\bgan\.trainer\b")
    for path in (ROOT / "src/gankit/tricks").glob("*.py"):
        found = [line.strip() for line in path.read_text().splitlines() if leaks.search(line)]
        assert not found, f"{path.name}: {found}"
