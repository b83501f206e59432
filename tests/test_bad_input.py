"""Bad input, table-driven: each case stops before training with one line naming the key, the value and what is
allowed. Most cases run in-process through the same path as `python train.py` (preflight, compose, train); the
`CLI` ones run the real command and check exit status 2 and a single stderr line."""

import pathlib
import subprocess
import sys

import pytest
import torch

from gankit.checks import preflight
from gankit.errors import ConfigError
from gankit.run import build_run, train
from tests.conftest import CONF_DIR, ROOT, compose_config

RING = ["dataset=ring", "model=mlp"]
CASES = [  # (overrides; {tmp} is a folder of the test's files), expected start of the message
    (["gan.optimizer_g.lr=0"], "gan.optimizer_g.lr must be > 0.0, got 0"),
    (["gan.optimizer_d.lr=-0.001"], "gan.optimizer_d.lr must be > 0.0, got -0.001"),
    (["gan.optimizer_g.lr=fast"], "gan.optimizer_g.lr must be a number, got 'fast'"),
    (["gan.optimizer_g.betas=[0.5,1.5]"], "gan.optimizer_g.betas must be two numbers in [0, 1), got [0.5, 1.5]"),
    (["gan.d_steps=0"], "gan.d_steps must be >= 1, got 0"),
    (["gan.g_steps=-1"], "gan.g_steps must be >= 1, got -1"),
    (["dataset.batch_size=0"], "dataset.batch_size must be >= 1, got 0"),
    (["dataset.batch_size=5000"], "dataset.batch_size=5000 must be between 1 and the 1437 training digits"),
    ([*RING, "dataset.batch_size=1.5"], "dataset.batch_size must be an integer, got 1.5"),
    (["dataset.image_size=24"], "model=dcgan builds square images of size 16, 32, 64, 128, got 24x24"),
    (["dataset.image_size=256"], "model=dcgan builds square images of size 16, 32, 64, 128, got 256x256"),
    (["dataset=ring", "model=dcgan"], "model=dcgan needs image data of shape [C, H, W]"),
    (["model.latent_dim=0"], "model.latent_dim must be >= 1, got 0"),
    (["model=foo"], "unknown option model=foo; choose one of: dcgan, mlp"),
    (["trick=[feature_matching,magic]"], "unknown option trick=magic; choose one of:"),
    (["gan.dsteps=2"], "unknown key gan.dsteps=2; did you mean gan.d_steps?"),
    (["trainer.max_step=10"], "unknown key trainer.max_step=10; did you mean trainer.max_steps?"),
    (["gan.d_steps=[1"], "cannot use the overrides gan.d_steps=[1: no viable alternative at input '[1'"),
    (["trick=label_smoothing", "loss=hinge"], "trick=label_smoothing needs a loss with a real-data target"),
    (["trick=label_smoothing", "trick.label_smoothing.alpha=1.5"], "trick.label_smoothing.alpha must be in (0, 1]"),
    ([*RING, "dataset=circle", "metrics=toy"], "metrics=toy needs a mixture of Gaussians"),
    (["dataset=folder", "metrics=none", "dataset.path={tmp}/nowhere"], "dataset.path={tmp}/nowhere is not a folder"),
    (["dataset=mnist", "metrics=none", "paths.data_dir={tmp}", "dataset.download=false"],
     "MNIST files not found in {tmp}/MNIST/raw"),
    (["metrics=image", "metrics.inception_weights={tmp}/none.pth"], "the Inception weights are unavailable"),
    (["metrics=image", "metrics.inception_weights={tmp}/pickled.ckpt"],
     "metrics.inception_weights={tmp}/pickled.ckpt holds pickled Python objects"),
    (["seed=abc"], "seed must be an integer, got 'abc'"),
    (["seed=1.5"], "seed must be an integer, got 1.5"),
    (["trainer.max_steps=-2"], "trainer.max_steps must be >= -1, got -2"),
    (["trainer.precision=17"], "trainer.precision=17 is not a precision; choose one of: 16, 16-mixed"),
    (["callbacks.divergence.rollbacks=-1"], "callbacks.divergence needs rollbacks >= 0, 0 < lr_factor < 1"),
    (["ckpt_path={tmp}/missing.ckpt"], "ckpt_path={tmp}/missing.ckpt does not exist"),
    (["ckpt_path={tmp}"], "ckpt_path={tmp} is a folder"),
    (["ckpt_path={tmp}/corrupt.ckpt"], "ckpt_path={tmp}/corrupt.ckpt is corrupt or not a checkpoint"),
    (["ckpt_path={tmp}/truncated.ckpt"], "ckpt_path={tmp}/truncated.ckpt is corrupt or not a checkpoint"),
    (["ckpt_path={tmp}/pickled.ckpt"], "ckpt_path={tmp}/pickled.ckpt holds pickled Python objects"),
    ([*RING, "ckpt_path={tmp}/dcgan.ckpt"], "ckpt_path={tmp}/dcgan.ckpt was saved by another model"),
    (["ckpt_path=last"], "ckpt_path=last: no run with a checkpoint under outputs/*/*/checkpoints/last.ckpt"),
    (["dataset.datamodule.batch_size=32"], "dataset.datamodule.batch_size follows dataset.batch_size; "
                                           "set dataset.batch_size=32 instead"),
    (["model.generator.latent_dim=8"], "model.generator.latent_dim follows model.latent_dim"),
    (["metrics.callback.num_samples=100"], "metrics.callback.num_samples follows metrics.num_samples"),
    (["seed=-1"], "seed must be >= 0, got -1"),
    (["trick=feature_matching", "trick.feature_matching.layer=nowhere"],
     "trick.feature_matching.layer=nowhere is not a layer of the discriminator; choose one of: body"),
    (["trick=pacgan", "trick.pacgan.pack=3"], "dataset.batch_size must be a multiple of trick.pacgan.pack=3"),
    (["trick=minibatch_discrimination", "dataset.batch_size=1"], "dataset.batch_size must be >= 2, got 1"),
    (["trick=gradient_penalty", "trick.gradient_penalty.weight=-1"], "trick.gradient_penalty.weight must be > 0.0"),
    (["model.generator.width=0"], "model.generator.width must be >= 1, got 0"),
]
CLI = [  # through the real command: exit status 2, one stderr line
    (["gan.dsteps=2"], "error: unknown key gan.dsteps=2; did you mean gan.d_steps?"),
    (["dataset.batch_size=5000", "logger=wandb"], "error: dataset.batch_size=5000 must be between 1 and the 1437"),
]


class Touch:
    """Unpickling this runs code: it creates `marker`. gankit must refuse it instead."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("files")
    (tmp / "corrupt.ckpt").write_bytes(b"this is not a checkpoint")
    _, gan, _ = build_run(compose_config(tmp / "dcgan", "model.generator.width=8", "model.discriminator.width=8"))
    torch.save({"state_dict": gan.state_dict(), "global_step": 0}, tmp / "dcgan.ckpt")
    data = (tmp / "dcgan.ckpt").read_bytes()
    (tmp / "truncated.ckpt").write_bytes(data[: len(data) // 2])
    torch.save({"state_dict": {}, "payload": Touch(tmp / "pwned")}, tmp / "pickled.ckpt")
    return tmp


def fill(items: list[str], tmp: pathlib.Path) -> list[str]:
    return [item.replace("{tmp}", str(tmp)) for item in items]


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_stops_with_one_line_naming_key_and_value(files, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)  # ckpt_path=last looks for runs under the launch directory
    args, message = fill(args, files), fill([message], files)[0]
    with pytest.raises(ConfigError) as error:
        train(compose_config(tmp_path, *preflight(CONF_DIR, args, "trainer.max_steps")))
    text = str(error.value)
    assert text.startswith(message) and "\n" not in text, text
    assert not (files / "pwned").exists()  # the pickled payload never ran


def test_the_table_is_large_enough():
    assert len(CASES) >= 20


@pytest.mark.parametrize("args,message", CLI, ids=[" ".join(a) for a, _ in CLI])
def test_the_command_exits_with_status_2_and_one_line(files, tmp_path, args, message):
    args, message = fill(args, files), fill([message], files)[0]
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), *args, "~callbacks.progress_bar"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(message), result.stderr[-3000:]
