"""Exact resume: a run interrupted at a checkpoint and resumed ends with the weights of an uninterrupted run."""

import os

import pytest
import torch

from gankit.checkpoint_io import load_safely
from gankit.run import train
from tests.interrupt import stop_at

# MLP on the ring with both buffer-holding techniques, a scheduler, periodic figures and evaluations, and
# 3 batches an epoch: step 8 (batch 4) is in the middle of the second epoch.
RUN = ["model=mlp", "dataset=ring", "dataset.batch_size=32", "model.generator.hidden=[64,64]",
       "model.discriminator.hidden=[64,64]", "dataset.datamodule.batches_per_epoch=3",
       "trick=[virtual_batch_norm,historical_averaging]", "trainer.max_steps=16", "metrics.eval_every=8",
       "callbacks.samples.every_n_steps=8", "~callbacks.samples.final", "~callbacks.curves",
       "gan.scheduler_g={_target_: torch.optim.lr_scheduler.ExponentialLR, _partial_: true, gamma: 0.9}",
       "+trainer.deterministic=true"]
# The techniques of the other kinds: a reshaped D, an extra copy of G and a reparametrisation with buffers.
RUNS = {"vbn+averaging": RUN,
        "pacgan+ema+spectral_norm": [*RUN[:6], "trick=[pacgan,ema_generator,spectral_norm]", *RUN[7:]]}


STEPS = "trainer.max_steps"  # what train.py passes to continue_run: the key of a run's length
pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


@pytest.fixture(scope="module", params=RUNS, ids=list(RUNS))
def uninterrupted(request, tmp_path_factory, one_thread):
    from tests.conftest import compose_config

    out = tmp_path_factory.mktemp("uninterrupted")
    train(compose_config(out, *RUNS[request.param]))
    return RUNS[request.param], load_safely(out / "checkpoints" / "last.ckpt")


@pytest.mark.parametrize("how,every", [("crash", 8), ("sigterm", 1000)])
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(uninterrupted, tmp_path, how, every):
    from tests.conftest import compose_config

    RUN, uninterrupted = uninterrupted  # noqa: N806 (the run's overrides)
    stop = [stop_at(8, how), f"callbacks.checkpoint.every_n_train_steps={every}"]
    with pytest.raises(RuntimeError if how == "crash" else SystemExit) as stopped:
        train(compose_config(tmp_path / "first", *RUN, *stop))
    if how == "sigterm":
        assert stopped.value.code == 143
    ckpt = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert load_safely(ckpt)["global_step"] == 8
    metrics = train(compose_config(tmp_path / "resumed", *RUN, f"ckpt_path={ckpt}"))
    assert metrics["step"] == 16
    resumed = load_safely(tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    for key, value in uninterrupted["state_dict"].items():  # G, D and every technique's state
        other = resumed["state_dict"][key]
        assert torch.equal(value, other) if torch.is_tensor(value) else value == other, key
    for a, b in zip(uninterrupted["optimizer_states"], resumed["optimizer_states"], strict=True):
        for state_a, state_b in zip(a["state"].values(), b["state"].values(), strict=True):
            assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert uninterrupted["lr_schedulers"] == resumed["lr_schedulers"]
    assert uninterrupted["d_updates"] == resumed["d_updates"]


def test_ckpt_path_last_continues_the_newest_run_with_its_overrides(tmp_path, monkeypatch):
    from gankit.resume.command_line import continue_run
    from tests.conftest import CONF_DIR

    monkeypatch.chdir(tmp_path)
    for run, step in (("outputs/2026-01-01/10-00-00", 1), ("outputs/2026-01-02/09-00-00", 2)):
        (tmp_path / run / "checkpoints").mkdir(parents=True)
        (tmp_path / run / ".hydra").mkdir()
        (tmp_path / run / ".hydra" / "overrides.yaml").write_text(
            f"- dataset=ring\n- trainer.max_steps={step}0\n- ~callbacks.progress_bar\n- ckpt_path=x\n")
        (tmp_path / run / "checkpoints" / "last.ckpt").write_bytes(b"")
        os.utime(tmp_path / run / "checkpoints" / "last.ckpt", (step, step))  # the second is the newest
    assert continue_run(CONF_DIR, ["ckpt_path=last", "trainer.max_steps=60", "~callbacks.progress_bar"], STEPS) == [
        "dataset=ring", "ckpt_path=last", "trainer.max_steps=60", "~callbacks.progress_bar",
        "hydra.run.dir=outputs/2026-01-02/09-00-00", "hydra.output_subdir=.hydra/resume_1"]
    assert continue_run(CONF_DIR, ["ckpt_path=last", "hydra.run.dir=elsewhere"], STEPS) == [
        "ckpt_path=last", "hydra.run.dir=elsewhere"]  # a given directory: resumed there if it has a checkpoint

    job = tmp_path / "multirun" / "2026-01-03" / "08-00-00" / "1" / "checkpoints"
    job.mkdir(parents=True)
    (job / "last.ckpt").write_bytes(b"")
    assert continue_run(CONF_DIR, ["-m", "seed=0,1", "ckpt_path=last"], STEPS) == [
        "-m", "seed=0,1", "ckpt_path=last", "hydra.sweep.dir=multirun/2026-01-03/08-00-00",
        "hydra.output_subdir=.hydra/resume_1"]


def test_resuming_by_directory_uses_that_runs_newest_record_and_keeps_the_original(tmp_path, monkeypatch):
    from gankit.resume.command_line import continue_run
    from tests.conftest import CONF_DIR

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    (run / ".hydra").mkdir()
    (run / ".hydra" / "overrides.yaml").write_text("- dataset=ring\n- model=mlp\n- trainer.max_steps=10\n")
    assert continue_run(CONF_DIR, ["hydra.run.dir=run", "ckpt_path=last"], STEPS) == [
        "dataset=ring", "model=mlp", "trainer.max_steps=10", "hydra.run.dir=run", "ckpt_path=last",
        "hydra.output_subdir=.hydra/resume_1"]
    (run / ".hydra" / "resume_1").mkdir()  # what Hydra wrote for that resume: the whole command it ran
    (run / ".hydra" / "resume_1" / "overrides.yaml").write_text(
        "- dataset=ring\n- model=mlp\n- trainer.max_steps=20\n- ckpt_path=last\n")
    assert continue_run(CONF_DIR, ["ckpt_path=run/checkpoints/last.ckpt"], STEPS) == [
        "dataset=ring", "model=mlp", "trainer.max_steps=20", "ckpt_path=run/checkpoints/last.ckpt",
        "hydra.run.dir=run", "hydra.output_subdir=.hydra/resume_2"]
