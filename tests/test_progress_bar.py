"""The progress bar counts the batches that remain to trainer.max_steps (a batch takes 1 + g_steps / d_steps
optimizer steps) and names the epoch without Lightning's "/-2"; removing it removes every bar."""

import lightning.pytorch as pl
import pytest
from hydra import compose, initialize_config_dir

from gankit.callbacks.progress import ProgressBar
from gankit.run import build_run
from tests.conftest import CONF_DIR

pytestmark = pytest.mark.usefixtures("one_thread")
RING = ["logger=none", "dataset=ring", "model=mlp", "model.generator.hidden=[16]", "model.discriminator.hidden=[16]",
        "dataset.batch_size=16", "metrics=none", "~callbacks.samples", "~callbacks.curves"]


def compose_config(output_dir, *overrides):
    """The config of `python train.py *overrides` as a user gives it (the suite's other tests remove the bar)."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=[f"paths.output_dir={output_dir}", *overrides])


class SeenAtEpochStart(pl.Callback):
    def on_train_epoch_start(self, trainer, gan):
        bar = trainer.progress_bar_callback
        self.seen = (bar.total_train_batches, bar._get_train_description(trainer.current_epoch))


@pytest.mark.parametrize(("d_steps", "max_steps", "batches"), [(1, 20, 10), (2, 21, 14)])
def test_the_bar_ends_at_max_steps(tmp_path, d_steps, max_steps, batches):
    cfg = compose_config(tmp_path, *RING, f"gan.d_steps={d_steps}", f"trainer.max_steps={max_steps}")
    trainer, gan, datamodule = build_run(cfg, load_data=True)
    seen = SeenAtEpochStart()
    trainer.callbacks.append(seen)
    trainer.fit(gan, datamodule=datamodule)
    assert isinstance(trainer.progress_bar_callback, ProgressBar)
    assert seen.seen == (batches, "Epoch 0")  # 10 D + 10 G steps; 14 D + 7 G steps
    assert trainer.global_step == max_steps and trainer.fit_loop.epoch_loop.batch_progress.total.completed == batches


def test_removing_the_bar_leaves_no_bar(tmp_path):
    cfg = compose_config(tmp_path, *RING, "~callbacks.progress_bar")
    trainer, _, _ = build_run(cfg)
    assert trainer.progress_bar_callback is None
