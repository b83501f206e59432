"""dataset=folder on a small tree of images the test writes: formats, modes, nesting, corrupt files, empty folders."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.folder import ImageFilesDataModule, ImageFolder
from gankit.errors import ConfigError
from gankit.run import build_run, train

CORRUPT = ("nested/deeper/broken.jpg", "truncated.png")


def write_folder(root, count: int = 6):
    """`count` readable images of mixed formats, modes and sizes in nested folders, two corrupt ones, a text file."""
    rng = np.random.default_rng(0)
    modes = [("RGB", ".jpg"), ("L", ".png"), ("RGBA", ".png"), ("P", ".gif"), ("RGB", ".bmp"), ("RGB", ".JPEG")]
    for i in range(count):
        mode, ext = modes[i % len(modes)]
        folder = root / ("nested" if i % 2 else "") / ("deeper" if i % 3 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(20 + 4 * i, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(folder / f"image_{i}{ext}")
    (root / "nested" / "deeper").mkdir(parents=True, exist_ok=True)
    (root / CORRUPT[0]).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.fromarray(rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)).save(root / CORRUPT[1])
    (root / CORRUPT[1]).write_bytes((root / CORRUPT[1]).read_bytes()[:200])
    (root / "notes.txt").write_text("not an image")


def in_range(x: torch.Tensor) -> bool:
    return x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("channels", [3, 1])
def test_a_folder_yields_square_images_and_skips_the_corrupt_files_by_path(tmp_path, caplog, channels):
    write_folder(tmp_path)
    dm = ImageFilesDataModule(ImageFolder(str(tmp_path)), image_size=16, channels=channels, batch_size=2,
                              num_workers=0)
    dm.setup()
    assert len(dm.train_set) == 8  # 6 images + 2 corrupt ones; the text file is no image
    with caplog.at_level(logging.WARNING, logger="gankit.data.folder"):
        batches = list(dm.train_dataloader())
    assert len(batches) == 4 and all(b.shape == (2, channels, 16, 16) and in_range(b) for b in batches)
    assert dm.train_set.skipped == 2
    for name in CORRUPT:
        assert sum(str(tmp_path / name) in r.getMessage() for r in caplog.records) == 1  # once, by path
    list(dm.train_dataloader())  # a second epoch does not report them again
    assert sum("skipped unreadable image" in r.getMessage() for r in caplog.records) == 2
    with caplog.at_level(logging.WARNING, logger="gankit.data.folder"):
        dm.teardown("fit")
    assert "skipped 2 unreadable of 8 images" in caplog.records[-1].getMessage()


def test_workers_count_the_corrupt_files_for_the_main_process(tmp_path):
    write_folder(tmp_path)
    dm = ImageFilesDataModule(ImageFolder(str(tmp_path)), image_size=16, batch_size=2, num_workers=2)
    dm.setup()
    assert sum(len(b) for b in dm.train_dataloader()) == 8
    assert dm.train_set.skipped == 2


def test_reference_images_for_metrics_are_a_fixed_subset_of_the_folder(tmp_path):
    write_folder(tmp_path)
    dm = ImageFilesDataModule(ImageFolder(str(tmp_path)), image_size=16, batch_size=2, num_workers=0,
                              reference_size=5)
    assert dm.test_images is None  # a folder has no test split: metrics use train_images
    assert dm.train_images.shape == (5, 3, 16, 16) and in_range(dm.train_images)
    assert dm.sample_real(3).shape == (3, 3, 16, 16)


@pytest.mark.parametrize("make,message", [
    (lambda p: p.mkdir(), "holds no images"),
    (lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), "holds no images"),
    (lambda p: None, "is not a folder"),
])
def test_an_empty_or_missing_folder_is_refused_at_setup(tmp_path, make_config, make, message):
    make(tmp_path / "pictures")
    dm = ImageFilesDataModule(ImageFolder(str(tmp_path / "pictures")), num_workers=0)
    with pytest.raises(ConfigError, match=f"source.path={tmp_path / 'pictures'} {message}"):  # built by hand
        dm.setup()
    cfg = make_config("dataset=folder", "metrics=none", f"dataset.path={tmp_path / 'pictures'}")
    with pytest.raises(ConfigError, match=f"^dataset.path={tmp_path / 'pictures'} {message}"):  # from the config
        build_run(cfg, load_data=True)


def test_train_on_a_folder_with_corrupt_files_finishes(make_config, tmp_path, caplog):
    write_folder(tmp_path / "pictures")
    cfg = make_config("dataset=folder", f"dataset.path={tmp_path / 'pictures'}", "dataset.image_size=16",
                      "dataset.batch_size=2", "dataset.num_workers=1", "metrics=none",
                      "model.generator.width=8", "model.discriminator.width=8")
    with caplog.at_level(logging.WARNING, logger="gankit.data.folder"):
        metrics = train(cfg)
    assert metrics["step"] == 6
    assert any("skipped 2 unreadable of 8 images" in r.getMessage() for r in caplog.records)
