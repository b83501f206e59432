"""Using what was trained: evaluate.py reproduces a run's final metrics from its checkpoint alone and evaluates it
under another protocol, sample.py writes the pictures and the samples, the exported generator runs without gankit."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.errors import ConfigError
from gankit.run import train
from gankit.trained import evaluate, load_run
from tests.conftest import CONF_DIR, ROOT, compose_config

pytestmark = pytest.mark.usefixtures("one_thread")
RING = ["dataset=ring", "model=mlp", "model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]",
        "dataset.batch_size=32", "trainer.max_steps=20", "metrics.num_samples=500", "~callbacks.samples.final"]
DIGITS = ["model.generator.width=8", "model.discriminator.width=8", "dataset.batch_size=16", "dataset.image_size=16",
          "trainer.max_steps=6", "metrics.num_samples=300", "trick=ema_generator", "~callbacks.samples.final.animation"]


def command(script: str, *args, cwd: Path):
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                                            "HOME": str(cwd)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    """A short ring run and a short digits run (the EMA generator: evaluation samples the average)."""
    root = tmp_path_factory.mktemp("trained")
    cache = root / "cache"
    train(compose_config(root / "ring", *RING))
    train(compose_config(root / "digits", *DIGITS, f"paths.cache_dir={cache}"))
    return root


def same_values(evaluated: dict, final: dict) -> None:
    """Every value the evaluation gives equals the run's (the run adds the mode-collapse guard's flag)."""
    keys = sorted(k for k in evaluated if k.startswith("eval/") and not k.endswith("/seconds"))
    assert keys and set(keys) <= set(final) and set(final) - set(keys) <= {"eval/seconds", "eval/mode_collapse"}
    for key in keys:
        assert evaluated[key] == pytest.approx(final[key], abs=1e-6), key


@pytest.mark.parametrize("run", ["ring", "digits"])
def test_evaluating_at_the_runs_protocol_reproduces_its_metrics(runs, run):
    path = runs / run / "checkpoints" / "last.ckpt"
    cfg, checkpoint = load_run(path, CONF_DIR, [])
    record = evaluate(cfg, checkpoint, path)
    final = json.loads((runs / run / "metrics.json").read_text())
    same_values(record, {k: v for k, v in final.items() if k.startswith("eval/")})
    assert record["protocol"]["num_samples"] == final["protocol"]["num_samples"]
    assert record["protocol"]["generator"] == ("ema_generator" if run == "digits" else "generator")


def test_evaluate_py_writes_a_new_protocol_beside_the_checkpoint_and_never_overwrites(runs):
    path = runs / "ring" / "checkpoints" / "last.ckpt"
    for name in ("evaluation.json", "evaluation_1.json"):
        result = command("evaluate.py", f"ckpt_path={path}", "metrics.num_samples=300", cwd=runs)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.startswith("step 20, 300 samples: eval/effective_modes=") and name in result.stdout
        record = json.loads((path.parent / name).read_text())
        assert record["protocol"]["num_samples"] == 300 and "eval/reverse_kl" in record


def test_sample_py_writes_samples_pictures_and_a_generator_plain_pytorch_runs(runs, tmp_path):
    path = runs / "digits" / "checkpoints" / "last.ckpt"
    result = command("sample.py", f"ckpt_path={path}", "num_samples=16", "seed=3", f"out={tmp_path / 'out'}",
                     "export=true", cwd=runs)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("samples.pt", "samples.png", "interpolation.png", "generator.pt2"):
        assert (tmp_path / "out" / name).is_file(), name
    saved = torch.load(tmp_path / "out" / "samples.pt", weights_only=True)
    assert saved["samples"].shape == (16, 1, 16, 16) and saved["seed"] == 3
    latent = saved["noise"].shape[1]
    assert torch.equal(saved["noise"], torch.randn(16, latent, generator=torch.Generator().manual_seed(3)))
    check = ("import sys, torch; sys.modules['gankit'] = None  # gankit cannot be imported\n"
             f"saved = torch.load({str(tmp_path / 'out' / 'samples.pt')!r}, weights_only=True)\n"
             f"g = torch.export.load({str(tmp_path / 'out' / 'generator.pt2')!r}).module()\n"
             "assert torch.allclose(g(saved['noise']), saved['samples'], atol=1e-5), 'different samples'\n"
             "assert g(saved['noise'][:5]).shape == (5, 1, 16, 16)\n")
    plain = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=300,
                           env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr[-3000:]


def test_toy_samples_are_drawn_as_the_runs_figure(runs, tmp_path):
    result = command("sample.py", f"ckpt_path={runs / 'ring' / 'checkpoints' / 'last.ckpt'}", "num_samples=200",
                     f"out={tmp_path / 'out'}", cwd=runs)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "samples.png").is_file() and not (tmp_path / "out" / "interpolation.png").exists()
    assert torch.load(tmp_path / "out" / "samples.pt", weights_only=True)["samples"].shape == (200, 2)


def test_bad_input_is_one_line(runs, tmp_path):
    ring = runs / "ring" / "checkpoints" / "last.ckpt"
    truncated, foreign, bare = tmp_path / "truncated.ckpt", tmp_path / "foreign.ckpt", tmp_path / "bare.ckpt"
    truncated.write_bytes(ring.read_bytes()[:1000])
    torch.save({"weights": torch.zeros(2)}, foreign)
    torch.save({"state_dict": {"w": torch.zeros(2)}}, bare)
    cases = [
        (tmp_path / "missing.ckpt", [], "does not exist"),
        (truncated, [], "is corrupt or not a checkpoint"),
        (foreign, [], "is not a Lightning checkpoint"),
        (bare, [], "holds no config"),
        (ring, ["metrics=classifier"], "metrics=classifier needs a labelled image set"),
        (ring, ["metrics=nothing"], "unknown option metrics=nothing"),
        (ring, ["metrics.num_samples=0"], "metrics.num_samples"),
        (ring, ["nokey.x=1"], "nokey.x is not a key of this run's config"),
        (ring, ["experiment=ring_mode_collapse"], "experiment=ring_mode_collapse sets keys across the config"),
    ]
    for path, overrides, message in cases:
        with pytest.raises(ConfigError) as error:
            cfg, checkpoint = load_run(path, CONF_DIR, overrides)
            evaluate(cfg, checkpoint, path)
        assert "\n" not in str(error.value) and message in str(error.value), (path.name, overrides, str(error.value))
    cfg, checkpoint = load_run(ring, CONF_DIR, ["trainer=ddp", "trainer.devices=1"])  # composed with its defaults
    assert cfg.trainer.strategy._target_.endswith("DDPStrategy") and cfg.trainer.devices == 1
    result = command("sample.py", f"ckpt_path={ring}", "num_samples=0", cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and lines == ["error: num_samples must be >= 1, got 0"], result.stderr[-2000:]
