"""Images decoded from files by DataLoader workers: any folder of images (recursive), and CelebA.

An unreadable or corrupt file is logged once by path and replaced by the next readable one, so a long
run never stops on it; the count of skipped files is logged when training ends.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import lightning.pytorch as pl
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2.functional import pil_to_tensor

from gankit import arguments
from gankit.data.sources import ensure_available
from gankit.data.transforms import check_image_options, fit_images, random_hflip, to_signed
from gankit.errors import BadArgument, ConfigError

log = logging.getLogger(__name__)

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def default_workers() -> int:
    """DataLoader workers when the config leaves it open: the usable cores, at most 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(4, cores)


class ImageFolder:
    """Every image file (EXTENSIONS, any case) under `path`, recursively, in sorted order."""

    def __init__(self, path: str):
        self.path = Path(arguments.text("path", path)).expanduser()
        self.name = str(self.path)

    def files(self, split: str = "train") -> list[Path] | None:
        """All images for "train"; None for other splits (a folder has no test split)."""
        if split != "train":
            return None
        if not self.path.is_dir():
            raise BadArgument("path", f"is not a folder; point it at a folder of images (searched recursively for "
                                      f"{', '.join(EXTENSIONS)})", value=self.path, show_value=True)
        files = sorted(p for p in self.path.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
        if not files:
            raise BadArgument("path", f"holds no images ({', '.join(EXTENSIONS)}, searched recursively); point it "
                                      "at a folder of images", value=self.path, show_value=True)
        return files


class ImageFiles(Dataset):
    """files[i] -> float [C, S, S] in [-1, 1]; unreadable files are flagged in shared memory, logged once
    by path and replaced by the next readable file."""

    def __init__(self, files: list[Path], image_size: int, channels: int, crop_size: int | None = None,
                 hflip: bool = False):
        super().__init__()
        self.files, self.image_size, self.channels = [str(f) for f in files], image_size, channels
        self.crop_size, self.hflip = crop_size, hflip
        self.bad = torch.zeros(len(files), dtype=torch.bool).share_memory_()  # [N], seen by every worker

    def __len__(self) -> int:
        return len(self.files)

    @property
    def skipped(self) -> int:
        return int(self.bad.sum())

    def load(self, i: int) -> Tensor:
        """uint8 [C, S, S] of files[i]; raises on an unreadable file."""
        with Image.open(self.files[i]) as image:
            image = image.convert("RGB" if self.channels == 3 else "L")
        return fit_images(pil_to_tensor(image)[None], self.image_size, self.channels, self.crop_size)[0]

    def __getitem__(self, index: int) -> Tensor:
        for offset in range(len(self.files)):
            i = (index + offset) % len(self.files)
            if self.bad[i]:
                continue
            try:
                image = to_signed(self.load(i))  # [C, S, S]
            except Exception as error:  # any decoder failure: truncated, not an image, bomb, ...
                self.bad[i] = True
                log.warning("skipped unreadable image %s (%s: %s)", self.files[i], type(error).__name__, error)
                continue
            return random_hflip(image[None])[0] if self.hflip else image
        raise ConfigError(f"none of the {len(self.files)} image files could be decoded (e.g. {self.files[0]})")

    def decodable(self, enough: int) -> int:
        """How many images decode, counted until `enough` do (so a large folder costs `enough` decodes); a folder
        where none decodes is a ConfigError."""
        found, failure = 0, ""
        for i in range(len(self.files)):
            try:
                self.load(i)
                found += 1
            except Exception as error:  # logged by path when training reaches it
                failure = failure or f"{self.files[i]}: {type(error).__name__}"
            if found >= enough:
                break
        if found == 0:
            raise ConfigError(f"none of the {len(self.files)} image files decodes (e.g. {failure})")
        return found


class ImageFilesDataModule(pl.LightningDataModule):
    """Batches [B, C, S, S] in [-1, 1] decoded by `num_workers` workers from `source.files(split)`."""

    def __init__(self, source, image_size: int = 64, channels: int = 3, batch_size: int = 64,
                 hflip: bool = False, crop_size: int | None = None, download: bool = False,
                 num_workers: int | None = None, pin_memory: bool | None = None, reference_size: int = 10000):
        super().__init__()
        check_image_options(image_size, channels, crop_size)
        self.source, self.download = source, arguments.boolean("download", download)
        self.image_size, self.channels, self.crop_size = image_size, channels, crop_size
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.hflip = arguments.boolean("hflip", hflip)
        self.reference_size = arguments.integer("reference_size", reference_size, at_least=2)
        workers = arguments.optional(arguments.integer, "num_workers", num_workers, at_least=0)
        self.num_workers = default_workers() if workers is None else workers
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.train_set: ImageFiles | None = None
        self._reference: dict[str, Tensor | None] = {}

    def prepare_data(self) -> None:
        if hasattr(self.source, "download"):
            ensure_available(self.source, self.download)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.prepare_data()
        try:
            files = self.source.files("train")
        except BadArgument as error:
            raise error.below("source") from None
        self.train_set = self._dataset(files, hflip=self.hflip)
        decodable = self.train_set.decodable(self.batch_size)
        if decodable < self.batch_size:
            raise BadArgument("batch_size", f"must be between 1 and the {decodable} decodable images of "
                              f"{self.source.name} ({len(files)} image files)", value=self.batch_size, show_value=True)

    def _dataset(self, files: list[Path], hflip: bool = False) -> ImageFiles:
        return ImageFiles(files, self.image_size, self.channels, self.crop_size, hflip)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True, drop_last=True,
                          num_workers=self.num_workers, pin_memory=self.pin_memory,
                          persistent_workers=self.num_workers > 0)

    def teardown(self, stage: str | None = None) -> None:
        if self.train_set is not None and self.train_set.skipped:
            log.warning("skipped %d unreadable of %d images in %s", self.train_set.skipped,
                        len(self.train_set), self.source.name)

    def _images(self, split: str) -> Tensor | None:
        """Up to reference_size images of a split (a fixed random subset), float [N, C, S, S] in [-1, 1]."""
        if split not in self._reference:
            self.setup()
            files = self.source.files(split)
            if files is None:
                self._reference[split] = None
            else:
                keep = torch.randperm(len(files), generator=torch.Generator().manual_seed(0))[:self.reference_size]
                dataset = self._dataset([files[i] for i in sorted(keep.tolist())])
                loader = DataLoader(dataset, batch_size=256, num_workers=self.num_workers)
                self._reference[split] = torch.cat(list(loader))
        return self._reference[split]

    @property
    def train_images(self) -> Tensor:
        """A fixed subset of the training images (reference_size at most), for metrics."""
        return self._images("train")

    @property
    def test_images(self) -> Tensor | None:
        """A fixed subset of the test split, or None where the source has none (a folder)."""
        return self._images("test")

    def sample_real(self, n: int) -> Tensor:
        """n random training images, float [n, C, S, S] in [-1, 1]."""
        self.setup()
        index = torch.randperm(len(self.train_set))[:n]
        return torch.stack([self.train_set[int(i)] for i in index])
