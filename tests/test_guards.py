"""Guards on real runs: divergence stops the run and keeps the last good checkpoint (or rolls back to it), a
collapsed generator is reported as a warning, and checkpoint and cache files are written and read safely."""

import logging
import pathlib
import pickle

import pytest
import torch

from gankit.checkpoint_io import load_safely, save_atomically
from gankit.errors import TrainingDiverged
from gankit.metrics.cache import load_or_compute
from gankit.run import build_run, train

# 2 batches an epoch (4 steps); after the first epoch the learning rates jump by 1e30 and training diverges.
DIVERGES = ["model=mlp", "dataset=ring", "dataset.batch_size=16", "model.generator.hidden=[32,32]",
            "model.discriminator.hidden=[32,32]", "dataset.datamodule.batches_per_epoch=2", "metrics=none",
            "trainer.max_steps=12", "callbacks.checkpoint.every_n_train_steps=4", "~callbacks.samples.final"] + [
    f"gan.scheduler_{p}={{_target_: torch.optim.lr_scheduler.MultiStepLR, _partial_: true, milestones: [1],"
    " gamma: 1.0e30}" for p in "gd"]


pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def all_finite(state_dict: dict) -> bool:
    return all(torch.isfinite(v).all() for v in state_dict.values() if v.is_floating_point())


@pytest.mark.parametrize("every", [1, 1000])  # 1000: only the check before each checkpoint save catches it
def test_divergence_stops_the_run_naming_step_loss_and_the_kept_checkpoint(make_config, tmp_path, every):
    with pytest.raises(TrainingDiverged) as error:
        train(make_config(*DIVERGES, f"callbacks.divergence.every_n_batches={every}"))
    message = str(error.value)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert message.startswith("training diverged at step ") and "\n" not in message, message
    assert "train/d_loss=" in message and "train/g_loss=" in message
    assert f"the last good checkpoint {ckpt} (step 4) is kept" in message
    assert 4 < int(message.split("step ")[1].split(":")[0]) <= 12
    saved = load_safely(ckpt)
    assert saved["global_step"] == 4 and all_finite(saved["state_dict"])  # never overwritten with NaN weights
    assert not (tmp_path / "metrics.json").exists()
    assert TrainingDiverged.exit_status == 3


def test_rollback_returns_to_the_last_good_checkpoint_with_lower_learning_rates(make_config, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        metrics = train(make_config(*DIVERGES, "callbacks.divergence.rollbacks=1"))
    assert metrics["step"] == 12
    assert "rolled back to the weights of" in caplog.text and "(step 4)" in caplog.text
    final = load_safely(tmp_path / "checkpoints" / "last.ckpt")
    assert all_finite(final["state_dict"])
    assert [s["param_groups"][0]["lr"] for s in final["optimizer_states"]] == [1e-4, 1e-4]  # 2e-4 x 0.5


def test_a_generator_collapsed_to_one_mode_is_a_warning_not_an_error(make_config, tmp_path, caplog):
    cfg = make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "trainer.max_steps=2", "logger=csv",
                      "gan.optimizer_g.lr=1e-30", "gan.optimizer_d.lr=1e-30", "~callbacks.samples.final")
    trainer, gan, datamodule = build_run(cfg)
    last = gan.generator.net[-1]  # G(z) = (1, 0), the first mode of the ring, for every z
    torch.nn.init.zeros_(last.weight)
    last.bias.data = torch.tensor([1.0, 0.0])
    with caplog.at_level(logging.WARNING):
        trainer.fit(gan, datamodule=datamodule)
    assert gan.values.get("eval/modes") == 1
    assert gan.values.get("eval/mode_collapse") == 1
    assert "mode collapse at step 2: the samples lie near 1 of 8 modes" in caplog.text
    assert "1 of 8 modes covered, 100.0% high quality" in caplog.text  # G(z) is exactly on the mode
    assert "eval/mode_collapse" in (tmp_path / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "Try a technique against it, e.g. trick=pacgan or trick=minibatch_discrimination" in caplog.text


def test_the_advice_suggests_only_techniques_the_run_does_not_use():
    from gankit.callbacks.guards import ModeCollapseWarning

    guard = ModeCollapseWarning(advice="Try", suggest=["pacgan", "minibatch_discrimination"])
    packing = type("GAN", (), {"tricks": {"pacgan": object()}})()
    assert guard.advice_for(packing) == " Try trick=minibatch_discrimination"
    both = type("GAN", (), {"tricks": {"pacgan": 1, "minibatch_discrimination": 2}})()
    assert guard.advice_for(both) == ""


class Fixed(torch.nn.Module):
    """G's network replaced by z -> f(z) [B, 2]; one unused parameter keeps G's optimiser's list non-empty."""

    def __init__(self, f):
        super().__init__()
        self.f, self.unused = f, torch.nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return self.f(z) + 0 * self.unused


def fit_fixed(make_config, f, caplog):
    """A 4-step ring run (learning rates ~0, evaluations at steps 2 and 4) with G(z) = f(z): the final metrics."""
    cfg = make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "trainer.max_steps=4", "logger=csv",
                      "metrics.eval_every=2", "gan.optimizer_g.lr=1e-30", "gan.optimizer_d.lr=1e-30",
                      "~callbacks.samples.final")
    trainer, gan, datamodule = build_run(cfg)
    gan.generator.net = Fixed(f)
    with caplog.at_level(logging.WARNING):
        trainer.fit(gan, datamodule=datamodule)
    return gan.values.latest()


def test_a_streak_between_two_modes_is_collapse_though_no_mode_is_covered(make_config, caplog):
    ring = torch.tensor([[1.0, 0.0], [0.5**0.5, 0.5**0.5]])  # the ring's modes 0 and 1
    middle, half = ring.mean(0), (ring[1] - ring[0]) / 2
    metrics = fit_fixed(make_config, lambda z: middle + 0.9 * torch.tanh(z[:, :1]) * half, caplog)  # on the segment
    assert metrics["eval/modes"] == 0 and metrics["eval/high_quality"] == 0
    assert float(metrics["eval/effective_modes"]) == pytest.approx(2.0, abs=0.05)
    assert metrics["eval/mode_collapse"] == 1
    # the step-2 evaluation is seen at its own step (the evaluation runs before the guard); said again at the end
    assert "mode collapse at step 2: the samples lie near 2 of 8 modes" in caplog.text
    assert "0 of 8 modes covered, 0.0% high quality" in caplog.text
    assert "at the end: mode collapse at step 4: the samples lie near 2 of 8 modes" in caplog.text


def test_samples_spread_over_the_data_are_not_collapse(make_config, caplog):
    metrics = fit_fixed(make_config, lambda z: 1.5 * z[:, :2], caplog)  # a wide blur over the ring, nothing covered
    assert float(metrics["eval/effective_modes"]) > 7
    assert metrics["eval/mode_collapse"] == 0 and "mode collapse" not in caplog.text


class Touch:
    """Unpickling this runs code: it creates `marker`."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "last.ckpt"
    save_atomically({"global_step": 1}, path)
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        save_atomically({"global_step": 2, "broken": lambda: None}, path)  # pickling fails mid-save
    assert load_safely(path) == {"global_step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_cache_file_with_pickled_code_is_recomputed_not_run(tmp_path):
    path = tmp_path / "cache.pt"
    torch.save({"payload": Touch(tmp_path / "pwned")}, path)
    value, cached = load_or_compute(path, lambda: {"features": torch.ones(2)})
    assert not cached and torch.equal(value["features"], torch.ones(2))
    assert not (tmp_path / "pwned").exists()
    assert load_or_compute(path, lambda: {})[1]  # the recomputed file is read back
