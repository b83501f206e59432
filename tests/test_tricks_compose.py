"""Every trick option alone, the improved_gan preset and a multi-select train, resume and refuse bad combinations."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.checks import group_options
from tests.conftest import CONF_DIR, ROOT
from train import build_run, train

TRICKS = [o for o in group_options(CONF_DIR, "trick") if o != "none"]
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


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("trick", TRICKS)
def test_every_trick_trains_and_resumes(make_config, tmp_path, trick, family):
    train_and_resume(make_config, tmp_path, f"trick={trick}", *FAMILIES[family])


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


def test_no_technique_is_named_in_the_loop_or_the_entry_point():
    names = TRICKS + [p.stem for p in (ROOT / "src/gankit/tricks").glob("*.py") if p.stem != "__init__"]
    for path in (ROOT / "src/gankit/gan.py", ROOT / "train.py"):
        text = path.read_text().lower()
        assert not [n for n in names if n in text], path
