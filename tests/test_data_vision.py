"""torchvision sets on small files the test writes in each on-disk format: MNIST's IDX files, CIFAR-10's
pickled batches, SVHN's MATLAB files, CelebA's folder and partition list; loaded through the real datamodules."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.folder import ImageFilesDataModule
from gankit.data.vision import CelebAFiles, CIFAR10Files, FashionMNISTFiles, InMemoryImages, MNISTFiles, SVHNFiles
from gankit.errors import ConfigError
from gankit.run import build_run, train


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    """An IDX file (LeCun's MNIST format): magic 0x0000 08 <ndim>, big-endian int32 dims, uint8 data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with gzip.open(f"{path}.gz", "wb") if gz else open(path, "wb") as f:
        f.write(data)


def write_mnist(root: Path, folder: str = "MNIST", n_train: int = 12, n_test: int = 5, gz: bool = False):
    """train/t10k images [N, 28, 28] (each with a 0 and a 255 pixel) and labels; returns the train images."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0], images[:, 0, 1] = 0, 255
        write_idx(raw / f"{split}-images-idx3-ubyte", images, gz)
        write_idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, size=n, dtype=np.uint8), gz)
        out[split] = images
    return out["train"]


def write_cifar(root: Path, per_batch: int = 3) -> np.ndarray:
    """data_batch_1..5 and test_batch as torchvision reads them: {"data": [N, 3072] uint8, "labels": [...]}."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    train = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3 * 32 * 32), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [0] * per_batch, "batch_label": name}, f)
        if name != "test_batch":
            train.append(data.reshape(-1, 3, 32, 32))
    return np.concatenate(train)


def write_svhn(root: Path, n_train: int = 6, n_test: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train_32x32.mat and test_32x32.mat as torchvision reads them: X [32, 32, 3, N] uint8, y [N, 1] in 1..10
    (10 is the digit 0); returns {split: (X, y)}."""
    import scipy.io

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
        y[0] = 10
        scipy.io.savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
        written[split] = (x, y)
    return written


def in_range(x: torch.Tensor) -> bool:
    return x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1


def test_mnist_idx_files_load_exactly_and_batch_as_images(tmp_path):
    written = write_mnist(tmp_path)
    dm = InMemoryImages(MNISTFiles(str(tmp_path)), image_size=28, channels=1, batch_size=4, download=False)
    dm.prepare_data()
    dm.setup("fit")
    assert torch.equal(dm.train_images, torch.from_numpy(written).unsqueeze(1).float() / 127.5 - 1)
    batches = list(dm.train_dataloader())
    assert len(batches) == 3 and all(b.shape == (4, 1, 28, 28) and in_range(b) for b in batches)
    assert dm.test_images.shape == (5, 1, 28, 28)


@pytest.mark.parametrize("size", [16, 32])
def test_fashion_mnist_gz_files_resized_and_made_rgb(tmp_path, size):
    write_mnist(tmp_path, folder="FashionMNIST", gz=True)
    dm = InMemoryImages(FashionMNISTFiles(str(tmp_path)), image_size=size, channels=3, batch_size=5)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))  # [B, 3, S, S]
    assert batch.shape == (5, 3, size, size) and in_range(batch)
    assert torch.equal(batch[:, 0], batch[:, 1]) and torch.equal(batch[:, 1], batch[:, 2])  # gray as RGB
    assert dm.sample_real(7).shape == (7, 3, size, size)


def test_cifar_pickled_batches_load_as_rgb_and_as_grayscale(tmp_path):
    written = torch.from_numpy(write_cifar(tmp_path))  # [15, 3, 32, 32]
    rgb = InMemoryImages(CIFAR10Files(str(tmp_path)), image_size=32, channels=3, batch_size=5)
    assert torch.equal(rgb.train_images, written.float() / 127.5 - 1)
    assert rgb.test_images.shape == (3, 3, 32, 32)
    gray = InMemoryImages(CIFAR10Files(str(tmp_path)), image_size=16, channels=1, batch_size=5)
    gray.setup()
    batch = next(iter(gray.train_dataloader()))
    assert batch.shape == (5, 1, 16, 16) and in_range(batch)


def test_horizontal_flip_mirrors_some_images_and_keeps_the_rest(tmp_path):
    write_cifar(tmp_path, per_batch=20)
    dm = InMemoryImages(CIFAR10Files(str(tmp_path)), image_size=32, channels=3, batch_size=100, hflip=True)
    dm.setup()
    torch.manual_seed(0)
    batch = next(iter(dm.train_dataloader()))  # [100, 3, 32, 32], a permutation of the images, some mirrored
    images = dm.train_images
    same = (batch[:, None] == images[None]).flatten(2).all(-1).any(1)
    mirrored = (batch[:, None] == images.flip(-1)[None]).flatten(2).all(-1).any(1)
    assert bool((same | mirrored).all()) and 20 < int(mirrored.sum()) < 80


def test_celeba_folder_and_partition_list_give_cropped_rgb_batches(tmp_path):
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rows = []
    for i in range(6):
        Image.fromarray(np.full((218, 178, 3), 40 * i, dtype=np.uint8)).save(folder / f"{i + 1:06d}.jpg")
        rows.append(f"{i + 1:06d}.jpg {[0, 0, 0, 0, 1, 2][i]}")
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text("\n".join(rows) + "\n")
    dm = ImageFilesDataModule(CelebAFiles(str(tmp_path)), image_size=16, channels=3, batch_size=2,
                              crop_size=140, num_workers=0, hflip=True)
    dm.setup()
    assert len(dm.train_set) == 4
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (2, 3, 16, 16) and in_range(batch)
    assert dm.test_images.shape == (1, 3, 16, 16)
    assert dm.test_images.mean().item() == pytest.approx(200 / 127.5 - 1, abs=0.02)


@pytest.mark.parametrize("source,files", [
    (MNISTFiles, "MNIST/raw: expected train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte"),
    (FashionMNISTFiles, "FashionMNIST/raw: expected train-images-idx3-ubyte"),
    (CIFAR10Files, "cifar-10-batches-py: expected data_batch_1, data_batch_2"),
    (SVHNFiles, "SVHN: expected train_32x32.mat, test_32x32.mat"),
])
def test_missing_files_stop_with_one_line_naming_the_folder_and_the_files(tmp_path, make_config, source, files):
    dm = InMemoryImages(source(str(tmp_path)), download=False)
    with pytest.raises(ConfigError) as error:
        dm.prepare_data()
    message = str(error.value)  # built by hand: the datamodule's own argument
    assert "\n" not in message and f"{tmp_path}/{files}" in message and "set download=true" in message
    option = {MNISTFiles: "mnist", FashionMNISTFiles: "fashion_mnist", CIFAR10Files: "cifar10",
              SVHNFiles: "svhn"}[source]
    with pytest.raises(ConfigError) as error:
        nowhere_else = ["dataset.datamodule.source.also=[]"] if option == "fashion_mnist" else []  # not Debian's
        build_run(make_config(f"dataset={option}", "metrics=none", f"paths.data_dir={tmp_path}",
                              "dataset.download=false", *nowhere_else), load_data=True)
    message = str(error.value)  # from the config: the keys the user sets
    assert "\n" not in message and f"{tmp_path}/{files}" in message and "set dataset.download=true" in message
    assert message.endswith("or point paths.data_dir at the folder that holds them")


def test_svhn_mat_files_load_exactly_with_labels_0_to_9(tmp_path):
    written = write_svhn(tmp_path / "SVHN")
    dm = InMemoryImages(SVHNFiles(str(tmp_path)), image_size=32, channels=3, batch_size=2, download=False)
    dm.prepare_data()
    dm.setup("fit")
    x, y = written["train"]
    assert torch.equal(dm.train_images, torch.from_numpy(x.transpose(3, 2, 0, 1)).float() / 127.5 - 1)
    assert torch.equal(dm.train_labels, torch.from_numpy(np.where(y == 10, 0, y).reshape(-1).astype(np.int64)))
    assert dm.train_labels[0] == 0 and dm.test_images.shape == (4, 3, 32, 32) and len(dm.test_labels) == 4
    assert all(b.shape == (2, 3, 32, 32) and in_range(b) for b in dm.train_dataloader())


def test_missing_svhn_files_stop_with_one_line(tmp_path, make_config):
    cfg = make_config("dataset=svhn", "metrics=none", f"paths.data_dir={tmp_path}", "dataset.download=false")
    with pytest.raises(ConfigError, match=f"SVHN files not found in {tmp_path}/SVHN: expected train_32x32.mat, "
                                          "test_32x32.mat; put them there or set dataset.download=true"):
        build_run(cfg, load_data=True)


def test_mnist_and_cifar_labels_are_read_from_their_files(tmp_path):
    write_mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    expected = {train: torch.from_numpy(np.frombuffer((raw / f"{split}-labels-idx1-ubyte").read_bytes()[8:],
                                                      dtype=np.uint8).astype(np.int64))
                for train, split in ((True, "train"), (False, "t10k"))}
    mnist = InMemoryImages(MNISTFiles(str(tmp_path)), image_size=28, batch_size=4, download=False)
    assert torch.equal(mnist.train_labels, expected[True]) and torch.equal(mnist.test_labels, expected[False])
    write_cifar(tmp_path, per_batch=3)
    cifar = InMemoryImages(CIFAR10Files(str(tmp_path)), image_size=32, channels=3, batch_size=4, download=False)
    assert cifar.train_labels.tolist() == [0] * 15 and cifar.test_labels.tolist() == [0] * 3
    assert torch.equal(cifar.train_examples(torch.tensor([4, 1])), cifar.train_images[[4, 1]])


def test_missing_celeba_files_name_the_folder(tmp_path):
    dm = ImageFilesDataModule(CelebAFiles(str(tmp_path)), download=False)
    with pytest.raises(ConfigError, match=f"not found in {tmp_path}/celeba: expected img_align_celeba/"):
        dm.setup()


def test_train_on_mnist_files_writes_the_final_pictures(make_config, tmp_path):
    write_mnist(tmp_path / "data", n_train=16, n_test=8)
    cfg = make_config("dataset=mnist", f"paths.data_dir={tmp_path / 'data'}", "dataset.image_size=16",
                      "dataset.batch_size=4", "model.generator.width=8", "model.discriminator.width=8",
                      "metrics=none", "callbacks.samples.every_n_steps=2",
                      "callbacks.samples.final.final_grid.num_samples=40",
                      "callbacks.samples.final.final_grid.nrow=10")
    metrics = train(cfg)
    assert metrics["step"] == 6
    samples = tmp_path / "samples"
    assert Image.open(samples / "step_0000006.png").size == (8 * 18 + 2, 8 * 18 + 2)
    assert Image.open(samples / "final_grid.png").size == (10 * 18 + 2, 4 * 18 + 2)
    assert Image.open(samples / "interpolation.png").size == (10 * 18 + 2, 8 * 18 + 2)
    assert Image.open(samples / "animation.gif").n_frames == 3
    assert (tmp_path / "curves.png").is_file()


def test_missing_mnist_stops_the_run_at_start_up(make_config, tmp_path):
    cfg = make_config("dataset=mnist", f"paths.data_dir={tmp_path}", "dataset.download=false", "metrics=none",
                      "model.generator.width=8", "model.discriminator.width=8")
    with pytest.raises(ConfigError, match="MNIST files not found"):
        train(cfg)
    assert not (tmp_path / "checkpoints").exists()
