"""The pictures of a run: step figures, end-of-run grid, interpolation, animation and training curves, on
disk and in the W&B offline run under their documented keys."""

from __future__ import annotations

import csv

import lightning.pytorch as pl
import torch
from PIL import Image

from gankit.callbacks.curves import TrainingCurves, moving_average
from gankit.callbacks.pictures import slerp
from gankit.run import build_run, train
from tests import wandb_files

SMALL_DCGAN = ["dataset.image_size=16", "dataset.batch_size=16", "model.generator.width=8",
               "model.discriminator.width=8", "metrics=none"]
KEYS = ["samples", "pictures/final_grid", "pictures/interpolation", "pictures/animation", "pictures/curves"]


def test_wandb_offline_run_holds_every_picture_under_its_key(make_config, tmp_path):
    train(make_config("dataset=digits", *SMALL_DCGAN, "logger=wandb", "logger.mode=offline",
                      "callbacks.samples.every_n_steps=2"))
    run = wandb_files.run_file(tmp_path)
    rows = wandb_files.history(run)
    steps = {key: [r["trainer/global_step"] for r in rows if f"{key}/filenames" in r] for key in KEYS}
    assert steps == {"samples": [2, 4, 6], "pictures/final_grid": [6], "pictures/interpolation": [6],
                     "pictures/animation": [6], "pictures/curves": [6]}
    media = run.parent / "files"
    for key in KEYS:
        name = next(r[f"{key}/filenames"][0] for r in rows if f"{key}/filenames" in r)
        assert (media / name).is_file() and name.startswith(f"media/images/{key}_"), name
    animation = next(r for r in rows if "pictures/animation/filenames" in r)
    assert animation["pictures/animation/format"] == "gif"
    assert Image.open(media / animation["pictures/animation/filenames"][0]).n_frames == 3


def test_toy_runs_draw_d_over_the_data_and_animate_it_without_image_only_pictures(make_config, tmp_path):
    train(make_config("dataset=ring", "model=mlp", "dataset.batch_size=16", "metrics=none",
                      "callbacks.samples.every_n_steps=2", "logger=csv"))
    samples = tmp_path / "samples"
    assert sorted(p.name for p in samples.iterdir()) == [
        "animation.gif", "final_points.pt", "step_0000002.png", "step_0000004.png", "step_0000006.png"]
    gif = Image.open(samples / "animation.gif")
    frame = Image.open(samples / "step_0000006.png")
    assert gif.n_frames == 3 and gif.width == frame.width and gif.height > frame.height  # a caption band
    assert Image.open(tmp_path / "curves.png").width > 1000  # three panels side by side


def test_one_dimensional_runs_draw_figure_1_every_n_steps_and_at_the_end(make_config, tmp_path):
    train(make_config("dataset=gaussian1d", "model=mlp", "dataset.batch_size=16", "metrics=none",
                      "trainer.max_steps=8", "callbacks.samples.every_n_steps=3"))
    samples = tmp_path / "samples"  # 2 optimizer steps an iteration: the figure follows steps 3 and 6 at 4 and 6
    assert [p.name for p in sorted(samples.glob("step_*.png"))] == [
        "step_0000004.png", "step_0000006.png", "step_0000008.png"]
    assert Image.open(samples / "animation.gif").n_frames == 3


def test_curves_record_the_logged_values_at_log_steps_and_survive_a_resume(make_config, tmp_path):
    common = ["dataset=ring", "model=mlp", "dataset.batch_size=16", "metrics=none",
              "trainer.log_every_n_steps=2"]
    train(make_config(*common))
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    train(make_config(*common, "trainer.max_steps=10", f"ckpt_path={ckpt}"))
    state = next(v for k, v in torch.load(ckpt, weights_only=False)["callbacks"].items()
                 if k.startswith("TrainingCurves"))
    history = state["history"]
    # logged every 2nd batch (a batch is 2 steps) and on the last one: batches 2, 3 | 4, 5
    assert [s for s, _ in history["train/d_loss"]] == [4, 6, 8, 10]
    assert {"train/g_loss", "train/d_real", "train/d_fake", "train/grad_norm_d"} <= set(history)


def test_curves_record_what_the_logger_received_on_the_same_batches(make_config, tmp_path):
    trainer, gan, datamodule = build_run(make_config("dataset=ring", "model=mlp", "dataset.batch_size=16",
                                                     "metrics=none", "logger=csv", "trainer.log_every_n_steps=2",
                                                     "trainer.max_steps=12"))
    trainer.fit(gan, datamodule=datamodule)
    (curves,) = [c for c in trainer.callbacks if isinstance(c, TrainingCurves)]
    rows = list(csv.DictReader((tmp_path / "csv" / "metrics.csv").open()))
    logged = [(int(r["step"]), float(r["train/d_loss"])) for r in rows if r.get("train/d_loss")]
    assert [s for s, _ in logged] == [4, 8, 12]  # every 2nd batch; the logger and the curves count optimizer steps
    recorded = dict(curves.history["train/d_loss"])
    assert all(abs(recorded[step] - value) < 1e-6 for step, value in logged)


class Publisher(pl.Callback):
    """Publishes a value into the run's values once, at step 4, as an evaluation callback would."""

    def on_train_batch_end(self, trainer, gan, *args):
        if trainer.global_step == 4:
            gan.values.publish({"eval/score": 3.0})


def test_curves_record_a_value_published_once_once(make_config, tmp_path):
    trainer, gan, datamodule = build_run(make_config("dataset=ring", "model=mlp", "dataset.batch_size=16",
                                                     "metrics=none", "trainer.max_steps=10"))
    trainer.callbacks.append(Publisher())
    trainer.fit(gan, datamodule=datamodule)
    (curves,) = [c for c in trainer.callbacks if isinstance(c, TrainingCurves)]
    assert curves.history["eval/score"] == [(6, 3.0)]  # the first record after it was published
    assert [s for s, _ in curves.history["train/d_loss"]] == [2, 4, 6, 8, 10]  # every batch: 2 steps


def test_curves_group_the_configured_keys_and_give_every_other_key_a_panel(tmp_path):
    curves = TrainingCurves(str(tmp_path / "curves.png"), columns=2,
                            panels=[{"title": "losses", "keys": ["train/d_loss", "train/g_loss"]},
                                    {"title": "absent", "keys": ["nothing/logged"]}])
    assert not curves.draw()  # nothing recorded yet
    curves.history = {"train/d_loss": [(i, 1.0 / (i + 1)) for i in range(100)],
                      "train/g_loss": [(i, 0.5) for i in range(100)], "eval/fid": [(50, 9.0), (100, 7.0)],
                      "eval/seconds": [(50, 1.2), (100, 1.1)],  # a wall time: recorded, not drawn
                      "step": [(i, float(i)) for i in range(100)]}  # the loggers' x axis: not a curve
    assert curves.draw()
    assert Image.open(tmp_path / "curves.png").size == (840, 280)  # two panels: losses, eval/fid
    assert moving_average([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_slerp_runs_from_one_noise_vector_to_the_other_on_the_sphere():
    z = torch.randn(2, 3, 64)
    path = slerp(z[0], z[1], torch.linspace(0, 1, 5))  # [3, 5, 64]
    assert torch.allclose(path[:, 0], z[0], atol=1e-5) and torch.allclose(path[:, -1], z[1], atol=1e-5)
    middle = slerp(z[0], z[0].roll(1, dims=1), torch.tensor([0.5]))[:, 0]  # endpoints of equal norms
    assert torch.allclose(middle.norm(dim=-1), z[0].norm(dim=-1), rtol=1e-4)
