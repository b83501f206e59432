"""W&B runs offline for real: the resolved config, the metrics and the sample images land in its files."""

import json

from train import train


def offline_run(tmp_path):
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    return runs[0]


def test_wandb_offline_run_holds_config_and_sample_images(make_config, tmp_path):
    cfg = make_config("model=mlp", "dataset=ring", "dataset.batch_size=16", "logger=wandb",
                      "callbacks.samples.every_n_steps=2", "logger.mode=offline")
    train(cfg)
    run = offline_run(tmp_path)
    images = sorted((run / "files" / "media" / "images").glob("samples_*.png"))
    assert len(images) == 3  # steps 2, 4 and 6 (the end adds nothing new at 6)
    config_lines = (run / "files" / "config.yaml").read_text()
    assert "d_steps" in config_lines and "Ring" in config_lines  # the whole resolved config
    summary = json.loads((run / "files" / "wandb-summary.json").read_text())
    assert "train/d_real" in summary and "train/d_fake" in summary
