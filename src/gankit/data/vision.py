"""torchvision's MNIST, Fashion-MNIST, CIFAR-10, SVHN and CelebA under `paths.data_dir`, in their own file layouts.

MNIST-size sets are read once into one uint8 tensor [N, C, S, S] held on the training device
(`InMemoryImages`); CelebA is decoded per image by `gankit.data.folder.ImageFilesDataModule`.
Downloads go through torchvision; reading is gankit's own, so the files are checked for presence,
not checksums (a test can write small files in the same formats).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import torchvision.datasets as tvd
from torch import Tensor

from gankit import arguments
from gankit.data.batches import TensorBatches, placement
from gankit.data.idx import read_idx
from gankit.data.sources import ensure_available
from gankit.data.transforms import check_image_options, fit_images, random_hflip, to_signed
from gankit.errors import BadArgument, ConfigError

# --- sources: where the files are and how to read them --------------------------------------


class MNISTFiles:
    """`{train,t10k}-{images-idx3,labels-idx1}-ubyte` (IDX files, or .gz of them) in the first of its places that
    holds them all: `<root>/MNIST/raw/` (torchvision's layout), then each folder of `also` (e.g. the folder a
    system package installs them in)."""

    dataset = tvd.MNIST

    def __init__(self, root: str, also: list[str] | tuple[str, ...] = ()):
        self.root = Path(root).expanduser()
        self.name = self.dataset.__name__
        also = arguments.sequence("also", also, arguments.text, non_empty=False)
        self.places = [self.root / self.name / "raw", *(Path(p).expanduser() for p in also)]
        self.files = [Path(url).stem for url, _ in self.dataset.resources]  # the names without .gz
        self.expected = ", ".join(self.files) + " (or the same with .gz)"

    def _path(self, folder: Path, name: str) -> Path | None:
        return next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)

    @property
    def folder(self) -> Path:
        """The first place that holds every file (the first place when none does)."""
        complete = [p for p in self.places if all(self._path(p, f) for f in self.files)]
        return complete[0] if complete else self.places[0]

    def available(self) -> bool:
        return any(all(self._path(p, f) for f in self.files) for p in self.places)

    def download(self) -> None:
        self.dataset(str(self.root), train=True, download=True)

    def _read(self, train: bool, kind: str) -> Tensor:
        prefix = "train" if train else "t10k"
        name = next(f for f in self.files if f.startswith(f"{prefix}-{kind}"))
        return read_idx(self._path(self.folder, name))

    def read(self, train: bool = True) -> Tensor:
        """uint8 [N, 1, 28, 28]."""
        return self._read(train, "images").unsqueeze(1)

    def read_labels(self, train: bool = True) -> Tensor:
        """int64 [N], classes 0..9."""
        return self._read(train, "labels").long()


class FashionMNISTFiles(MNISTFiles):
    """`<root>/FashionMNIST/raw/` or a folder of `also`, the same IDX files as MNIST (Xiao et al. 2017)."""

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

    def _entries(self, train: bool) -> list[dict]:
        entries = []
        for name in self.train_batches if train else self.test_batches:
            with open(self.folder / name, "rb") as f:
                try:
                    entries.append(_ArraysOnly(f, encoding="latin1").load())
                except pickle.UnpicklingError as error:
                    raise ConfigError(f"{self.folder / name} is not a CIFAR-10 batch ({error})") from None
        return entries

    def read(self, train: bool = True) -> Tensor:
        """uint8 [N, 3, 32, 32]."""
        parts = [np.asarray(e["data"], dtype=np.uint8).reshape(-1, 3, 32, 32) for e in self._entries(train)]
        return torch.from_numpy(np.concatenate(parts))

    def read_labels(self, train: bool = True) -> Tensor:
        """int64 [N], classes 0..9."""
        return torch.tensor([int(k) for e in self._entries(train) for k in e["labels"]], dtype=torch.long)


class SVHNFiles:
    """`<root>/SVHN/{train,test}_32x32.mat` (torchvision's SVHN layout, Netzer et al. 2011, cropped digits): MATLAB
    files with `X` [32, 32, 3, N] uint8 and `y` [N, 1] in 1..10, where 10 is the digit 0."""

    splits = {True: "train", False: "test"}

    def __init__(self, root: str):
        self.root, self.name = Path(root).expanduser() / "SVHN", "SVHN"  # torchvision's root for SVHN
        self.folder = self.root
        self.files = [tvd.SVHN.split_list[split][1] for split in self.splits.values()]
        self.expected = ", ".join(self.files)

    def available(self) -> bool:
        return all((self.folder / f).is_file() for f in self.files)

    def download(self) -> None:
        for split in self.splits.values():
            tvd.SVHN(str(self.root), split=split, download=True)

    def _load(self, train: bool) -> dict:
        import scipy.io  # a dependency of scikit-learn, which gankit requires

        path = self.folder / tvd.SVHN.split_list[self.splits[train]][1]
        try:
            return scipy.io.loadmat(str(path), variable_names=["X", "y"])
        except (ValueError, TypeError, OSError) as error:
            raise ConfigError(f"{path} is not an SVHN .mat file ({error})") from None

    def read(self, train: bool = True) -> Tensor:
        """uint8 [N, 3, 32, 32]."""
        return torch.from_numpy(np.ascontiguousarray(self._load(train)["X"].transpose(3, 2, 0, 1)))

    def read_labels(self, train: bool = True) -> Tensor:
        """int64 [N], classes 0..9 (SVHN's label 10 is the digit 0, as torchvision maps it)."""
        labels = torch.from_numpy(self._load(train)["y"].astype(np.int64).reshape(-1))
        return torch.where(labels == 10, 0, labels)


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
        self.source, self.download = source, arguments.boolean("download", download)
        self.on_device, self.hflip = arguments.boolean("on_device", on_device), arguments.boolean("hflip", hflip)
        self.image_size, self.channels, self.crop_size = image_size, channels, crop_size
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self._train: Tensor | None = None  # uint8 [N, C, S, S], on the training device
        self._test: Tensor | None = None  # float [M, C, S, S] in [-1, 1], CPU, read on first use
        self._labels: dict[bool, Tensor] = {}  # train (True) / test (False) labels [N], read on first use
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
            raise BadArgument("batch_size", f"must be between 1 and the {len(train)} training images in "
                              f"{self.source.folder}", value=self.batch_size, show_value=True)
        self._train = train  # moved to the training device by train_dataloader (setup may run before fit)

    def _fit(self, images: Tensor) -> Tensor:
        return fit_images(images, self.image_size, self.channels, self.crop_size)

    def train_dataloader(self) -> ImageTensorBatches:
        self.setup()
        device, rank = placement(self, self.on_device)
        if device is not None:
            self._train = self._train.to(device)
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

    def train_examples(self, index: Tensor) -> Tensor:
        """The training images at `index` [n], float [n, C, S, S] in [-1, 1] on the CPU."""
        self.setup()
        return to_signed(self._train[index.to(self._train.device)].cpu())

    def _read_labels(self, train: bool) -> Tensor:
        if not hasattr(self.source, "read_labels"):
            raise ConfigError(f"{self.source.name} has no class labels in gankit")
        if train not in self._labels:
            self.setup()
            self._labels[train] = self.source.read_labels(train=train)
        return self._labels[train]

    @property
    def train_labels(self) -> Tensor:
        """Classes [N] of the training images (int64, CPU)."""
        return self._read_labels(True)

    @property
    def test_labels(self) -> Tensor:
        """Classes [M] of the test images (int64, CPU)."""
        return self._read_labels(False)

    @property
    def test_split_description(self) -> str:
        return f"{self.source.name}'s official test split"

    def sample_real(self, n: int) -> Tensor:
        """n random training images, float [n, C, S, S] in [-1, 1] on the CPU."""
        self.setup()
        index = torch.randperm(len(self._train), device=self._train.device)[:n]
        return to_signed(self._train[index]).cpu()
