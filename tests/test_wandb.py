"""W&B runs offline for real: the resolved config, the metrics and the sample images land in its files."""

from gankit.run import train
from tests import wandb_files


def test_wandb_offline_run_holds_config_metrics_and_sample_images(make_config, tmp_path):
    cfg = make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "logger=wandb",
                      "callbacks.samples.every_n_steps=2", "logger.mode=offline")
    train(cfg)
    run = wandb_files.run_file(tmp_path)
    images = sorted((run.parent / "files" / "media" / "images").glob("samples_*.png"))
    assert len(images) == 3  # steps 2, 4 and 6 (the end adds nothing new at 6)

    config = wandb_files.config(run)  # the whole resolved config, not a hand-kept subset
    assert config["gan"]["d_steps"] == 1
    assert config["dataset"]["datamodule"]["distribution"]["_target_"] == "gankit.data.toy.Ring"
    assert config["paths"]["output_dir"] == str(tmp_path)

    rows = wandb_files.history(run)
    image_steps = [r["trainer/global_step"] for r in rows if "samples/filenames" in r]
    assert image_steps == [2, 4, 6]
    logged = set().union(*rows)
    for key in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake",
                "train/grad_norm_d", "train/grad_norm_g"):
        assert key in logged, key
