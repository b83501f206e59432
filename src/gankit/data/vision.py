"""torchvision's MNIST, Fashion-MNIST, CIFAR-10 and CelebA under `paths.data_dir`, in their own file layouts.

MNIST-size sets are read once into one uint8 tensor [N, C, S, S] held on the training device
(`InMemoryImages`); CelebA is decoded per image by `gankit.data.folder.ImageFilesDataModule`.
Downloads go through torchvision; reading is gankit's own, so the files are checked for presence,
not checksums (a test can write small files in the same formats).
"""

from __future__ import annotations

import gzip
import pickle
import shutil
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import torchvision.datasets as tvd
from torch import Tensor

from gankit.data.batches import TensorBatches
from gankit.data.sources import ensure_available
from gankit.data.transforms import check_image_options, fit_images, random_hflip, to_signed
from gankit.errors import ConfigError

# --- sources: where the files are and how to read them --------------------------------------


class MNISTFiles:
    """`<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte` (IDX files, or .gz of them)."""

    dataset = tvd.MNIST

    def __init__(self, root: str):
        self.root = Path(root).expanduser()
        self.name = self.dataset.__name__
        self.folder = self.root / self.name / "raw"
        self.files = [Path(url).stem for url, _ in self.dataset.resources]  # the names without .gz
        self.expected = ", ".join(self.files) + " (or the same with .gz)"

    def available(self) -> bool:
        return all((self.folder / f).is_file() or (self.folder / f"{f}.gz").is_file() for f in self.files)

    def download(self) -> None:
        self.dataset(str(self.root), train=True, download=True)

    def read(self, train: bool = True) -> Tensor:
        """uint8 [N, 1, 28, 28]."""
        for name in self.files:  # torchvision reads the uncompressed files only
            packed = self.folder / f"{name}.gz"
            if not (self.folder / name).is_file() and packed.is_file():
                with gzip.open(packed, "rb") as src, open(self.folder / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        return self.dataset(str(self.root), train=train, download=False).data.unsqueeze(1)


class FashionMNISTFiles(MNISTFiles):
    """`<root>/FashionMNIST/raw/`, the same IDX files as MNIST (Xiao et al. 2017)."""

    dataset = tvd.FashionMNIST


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, strings and NumPy arrays only (what CIFAR-10's batches hold); any other
    class or function named in the file is refused instead of imported and called."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


class CIFAR10Files:
    """`<root>/cifar-10-batches-py/{data_batch_1..5, test_batch}`: pickled dicts with `data` [N, 3072] uint8."""

    train_batches = [name for name, _ in tvd.CIFAR10.train_list]
    test_batches = [name for name, _ in tvd.CIFAR10.test_list]

    def __init__(self, root: str):
        self.root, self.name = Path(root).expanduser(), "CIFAR-10"
        self.folder = self.root / tvd.CIFAR10.base_folder
        self.expected = ", ".join(self.train_batches + self.test_batches)

    def available(self) -> bool:
        return all((self.folder / f).is_file() for f in self.train_batches + self.test_batches)

    def download(self) -> None:
        tvd.CIFAR10(str(self.root), train=True, download=True)

    def read(self, train: bool = True) -> Tensor:
        """uint8 [N, 3, 32, 32]."""
        parts = []
        for name in self.train_batches if train else self.test_batches:
            with open(self.folder / name, "rb") as f:
                try:
                    entry = _ArraysOnly(f, encoding="latin1").load()
                except pickle.UnpicklingError as error:
                    raise ConfigError(f"{self.folder / name} is not a CIFAR-10 batch ({error})") from None
            parts.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        return torch.from_numpy(np.concatenate(parts))


class CelebAFiles:
    """`<root>/celeba/img_align_celeba/*.jpg` and `list_eval_partition.txt` (0 train, 1 valid, 2 test)."""

    splits = {"train": "0", "valid": "1", "test": "2"}

    def __init__(self, root: str):
        self.root, self.name = Path(root).expanduser(), "CelebA"
        self.folder = self.root / tvd.CelebA.base_folder
        self.expected = "img_align_celeba/ (the aligned JPEGs) and list_eval_partition.txt"

    def available(self) -> bool:
        return (self.folder / "img_align_celeba").is_dir() and (self.folder / "list_eval_partition.txt").is_file()

    def download(self) -> None:
        tvd.CelebA(str(self.root), split="train", target_type=[], download=True)  # from Google Drive, needs gdown

    def files(self, split: str = "train") -> list[Path]:
        """The image paths of one split, in the partition file's order."""
        lines = (self.folder / "list_eval_partition.txt").read_text().split("\n")
        rows = [line.split() for line in lines if line.strip()]
        return [self.folder / "img_align_celeba" / name for name, part in rows if part == self.splits[split]]


# --- the in-memory datamodule ---------------------------------------------------------------


class ImageTensorBatches(TensorBatches):
    """Each epoch shuffles uint8 `images` [N, C, S, S] and yields float batches [B, C, S, S] in [-1, 1]
    on the images' device (optionally mirrored at random)."""

    def __init__(self, images: Tensor, batch_size: int, hflip: bool = False, seed: int | None = None,
                 rank: int = 0):
        super().__init__(images, batch_size, seed=seed, rank=rank)
        self.hflip = hflip

    def batch(self, epoch: int, index: int) -> Tensor:
        batch = to_signed(super().batch(epoch, index))
        return random_hflip(batch, self.generator(epoch, index, device="cpu")) if self.hflip else batch


class InMemoryImages(pl.LightningDataModule):
    """A torchvision set read once, fitted to [C, S, S] and held as one uint8 tensor on the training device."""

    def __init__(self, source, image_size: int = 32, channels: int = 1, batch_size: int = 64,
                 hflip: bool = False, crop_size: int | None = None, download: bool = True,
                 on_device: bool = True):
        super().__init__()
        check_image_options(image_size, channels, crop_size)
        self.source, self.download, self.on_device = source, bool(download), bool(on_device)
        self.image_size, self.channels, self.batch_size = int(image_size), int(channels), int(batch_size)
        self.crop_size = None if crop_size is None else int(crop_size)
        self.hflip = bool(hflip)
        self._train: Tensor | None = None  # uint8 [N, C, S, S], on the training device
        self._test: Tensor | None = None  # float [M, C, S, S] in [-1, 1], CPU, read on first use
        self._prepared = False

    def prepare_data(self) -> None:
        ensure_available(self.source, self.download)
        self._prepared = True

    def setup(self, stage: str | None = None) -> None:
        if self._train is not None:
            return
        if not self._prepared:  # a process that did not run prepare_data, or a direct call
            self.prepare_data()
        train = self._fit(self.source.read(train=True))
        if not 1 <= self.batch_size <= len(train):
            raise ConfigError(f"dataset.batch_size={self.batch_size} must be between 1 and the {len(train)} "
                              f"training images in {self.source.folder}")
        self._train = train  # moved to the training device by train_dataloader (setup may run before fit)

    def _fit(self, images: Tensor) -> Tensor:
        return fit_images(images, self.image_size, self.channels, self.crop_size)

    def train_dataloader(self) -> ImageTensorBatches:
        self.setup()
        rank = self.trainer.global_rank if self.trainer else 0
        if self.on_device and self.trainer is not None:
            self._train = self._train.to(self.trainer.strategy.root_device)
        return ImageTensorBatches(self._train, self.batch_size, self.hflip, rank=rank)

    @property
    def train_images(self) -> Tensor:
        """All training images, float [N, C, S, S] in [-1, 1] on the CPU."""
        self.setup()
        return to_signed(self._train.cpu())

    @property
    def test_images(self) -> Tensor:
        """The test split, float [M, C, S, S] in [-1, 1] on the CPU (read on first use)."""
        if self._test is None:
            self.setup()
            self._test = to_signed(self._fit(self.source.read(train=False)))
        return self._test

    def sample_real(self, n: int) -> Tensor:
        """n random training images, float [n, C, S, S] in [-1, 1] on the CPU."""
        self.setup()
        index = torch.randperm(len(self._train), device=self._train.device)[:n]
        return to_signed(self._train[index]).cpu()
