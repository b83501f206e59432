"""Bad input from outside the config: environment variables, Hydra's own failures, image folders that do not decode,
and a file system that refuses writes (a full disk: a small tmpfs, where the test runs as root). Each ends with one
line naming the variable, key or path; a checkpoint that cannot be written leaves the previous one whole."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch

from gankit.checkpoint_io import load_safely, save_atomically
from gankit.checks import preflight
from gankit.errors import ConfigError, WriteFailed
from gankit.run import build_run, train
from tests.conftest import CONF_DIR, ROOT, compose_config
from tests.test_data_folder import write_folder


def refused(tmp_path, *overrides: str) -> str:
    """The one-line message with which building the run `python train.py *overrides` stops."""
    with pytest.raises(ConfigError) as error:
        build_run(compose_config(tmp_path, *preflight(CONF_DIR, list(overrides), "trainer.max_steps")), load_data=True)
    text = str(error.value)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize("variable,value,overrides,message", [
    ("GANKIT_CACHE", "", [], "$GANKIT_CACHE (paths.cache_dir) must be a non-empty string, got ''"),
    ("WANDB_MODE", "", ["logger=wandb"], "$WANDB_MODE (logger.mode) must be a non-empty string, got ''"),
    ("WANDB_MODE", "sometimes", ["logger=wandb"], "$WANDB_MODE (logger.mode) must be one of: online, offline"),
    ("SUBMITIT_PREEMPT_SIGNAL", "NOPE", [],
     "$SUBMITIT_PREEMPT_SIGNAL (callbacks.preemption.time_limit_signal) must be a signal name"),
    ("GANKIT_SLURM_MAX_REQUEUES", "two", [], "$GANKIT_SLURM_MAX_REQUEUES must be an integer >= 0, got 'two'"),
    ("SLURM_RESTART_COUNT", "-1", [], "$SLURM_RESTART_COUNT must be an integer >= 0, got '-1'"),
])
def test_an_empty_or_invalid_environment_variable_is_named(tmp_path, monkeypatch, variable, value, overrides,
                                                            message):
    monkeypatch.setenv(variable, value)
    assert refused(tmp_path, *overrides).startswith(message)


@pytest.mark.parametrize("overrides,message", [
    (["trick=feature_matching", "trick.feature_matching._target_=gankit.tricks.nowhere.Nothing"],
     "trick.feature_matching._target_=gankit.tricks.nowhere.Nothing cannot be imported"),
    (["trainer.accelerator=quantum"], "trainer.accelerator must be one of: auto, cpu, cuda"),
    (["trainer.devices=0"], "trainer.devices must be >= 1, got 0"),
    (["trainer.precision=bf17"], "trainer.precision=bf17 is not a precision"),
    (["logger=wandb", "logger.mode=sometimes"], "logger.mode must be one of: online, offline"),
    (["callbacks.checkpoint.save_top_k=-2"], "callbacks.checkpoint.save_top_k must be >= -1, got -2"),
    (["trainer.log_every_n_steps=0"], "trainer.log_every_n_steps must be >= 1, got 0"),
])
def test_what_hydra_or_lightning_would_refuse_with_a_traceback_is_one_line(tmp_path, overrides, message):
    assert refused(tmp_path, *overrides).startswith(message)


def test_missing_files_name_the_keys_that_fix_them(tmp_path):
    text = refused(tmp_path / "run", "dataset=mnist", "metrics=none", f"paths.data_dir={tmp_path}",
                   "dataset.download=false")
    assert text.endswith("put them there or set dataset.download=true, or point paths.data_dir at the folder that "
                         "holds them"), text


def test_an_unknown_target_exits_with_status_2_and_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "logger=none", "~callbacks.progress_bar",
                             "trick=feature_matching", "trick.feature_matching._target_=gankit.nowhere.Nothing"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: trick.feature_matching._target_=gankit.nowhere.Nothing cannot be imported")


def test_a_folder_counts_only_the_images_that_decode(tmp_path):
    write_folder(tmp_path / "images", count=3)  # 3 decodable images, 2 corrupt ones
    text = refused(tmp_path / "run", "dataset=folder", "metrics=none", f"dataset.path={tmp_path / 'images'}",
                   "dataset.batch_size=4")
    assert text.startswith("dataset.batch_size=4 must be between 1 and the 3 decodable images of"), text
    assert "(5 image files)" in text


def test_a_folder_where_no_image_decodes_says_so(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("a.png", "b.jpg"):
        (tmp_path / "images" / name).write_bytes(b"not an image at all")
    text = refused(tmp_path / "run", "dataset=folder", "metrics=none", f"dataset.path={tmp_path / 'images'}",
                   "dataset.batch_size=1")
    assert text.startswith("none of the 2 image files decodes"), text


def test_an_output_folder_that_cannot_be_created_is_named(tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    output = tmp_path / "file" / "run"
    text = refused(output, "paths.output_dir=" + str(output))
    assert text.startswith(f"paths.output_dir={output} cannot be written"), text


def test_a_cache_folder_that_cannot_be_created_is_named(tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    text = refused(tmp_path / "run", f"paths.cache_dir={tmp_path / 'file' / 'cache'}")
    assert text.startswith(f"paths.cache_dir={tmp_path / 'file' / 'cache'} cannot be written"), text


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs mounted at tmp_path/disk (root only; skipped where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_while_saving_a_checkpoint_keeps_the_previous_one(small_disk):
    path = small_disk / "last.ckpt"
    save_atomically({"state_dict": {"w": torch.ones(1000)}, "global_step": 1}, path)  # 4 kB: fits
    with pytest.raises(WriteFailed) as error:
        save_atomically({"state_dict": {"w": torch.ones(400_000)}, "global_step": 2}, path)  # 1.6 MB: does not
    text = str(error.value)
    assert "\n" not in text and text.startswith(f"cannot write the checkpoint {path}: No space left on device"), text
    assert load_safely(path)["global_step"] == 1  # whole and loadable
    assert sorted(p.name for p in small_disk.iterdir()) == ["last.ckpt"]  # no temporary file left behind


def test_a_full_disk_while_drawing_a_picture_is_one_line(small_disk, tmp_path):
    (small_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 4096))  # leave less than a sample grid needs
    cfg = compose_config(tmp_path / "run", "trainer.max_steps=2", "metrics=none", "callbacks.samples.every_n_steps=1",
                         f"callbacks.samples.dirpath={small_disk / 'samples'}")
    with pytest.raises(WriteFailed) as error:
        train(cfg)
    text = str(error.value)
    assert "\n" not in text and text.startswith(f"cannot write the picture {small_disk / 'samples'}"), text
    assert "No space left on device" in text
