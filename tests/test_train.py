"""train(cfg) end to end on tiny budgets: every model x dataset pair, every loss, resume, outputs."""

import json

import pytest
import torch

from gankit.run import train

PAIRS = [("mlp", d) for d in ("ring", "grid", "gaussian1d", "circle", "digits")] + [("dcgan", "digits")]
SMALL = {"mlp": [], "dcgan": ["model.generator.width=8", "model.discriminator.width=8"]}


@pytest.mark.parametrize("model,dataset", PAIRS)
def test_every_model_dataset_pair_trains_and_writes_the_run_directory(make_config, tmp_path,
                                                                      model, dataset):
    size = ["dataset.image_size=16"] if dataset == "digits" else []
    cfg = make_config(f"model={model}", f"dataset={dataset}", "dataset.batch_size=16", *size,
                      *SMALL[model])
    metrics = train(cfg)
    assert metrics["step"] == 6
    for key in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"):
        assert torch.isfinite(torch.tensor(metrics[key])), key
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "samples" / "step_0000006.png").is_file()


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating", "least_squares", "hinge", "wasserstein"])
def test_every_loss_trains(make_config, loss):
    metrics = train(make_config("model=mlp", "dataset=ring", f"loss={loss}", "dataset.batch_size=16"))
    assert all(torch.isfinite(torch.tensor(v)) for k, v in metrics.items() if k != "protocol")


def test_resume_continues_the_step_count(make_config, tmp_path):
    first = make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "gan.d_steps=2")
    train(first)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, weights_only=False)
    assert saved["global_step"] == 6 and saved["d_updates"] == 4
    resumed = make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "gan.d_steps=2",
                          "trainer.max_steps=12", f"ckpt_path={ckpt}")
    metrics = train(resumed)
    assert metrics["step"] == 12
    assert torch.load(ckpt, weights_only=False)["d_updates"] == 8


def test_csv_logger_writes_the_logged_quantities(make_config, tmp_path):
    train(make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "logger=csv"))
    header = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    for key in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake",
                "train/grad_norm_d", "train/grad_norm_g"):
        assert key in header


def test_last_checkpoint_holds_the_final_step_between_periodic_saves(make_config, tmp_path):
    train(make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "metrics=none",
                      "trainer.max_steps=10", "callbacks.checkpoint.every_n_train_steps=4"))
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 10
