"""scikit-learn's bundled 8x8 handwritten digits (1797 images), resized and scaled to [-1, 1]."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import Tensor

from gankit import arguments
from gankit.data.batches import TensorBatches, placement
from gankit.data.transforms import check_image_options
from gankit.errors import BadArgument


def load_digit_images(image_size: int, test_fraction: float = 0.2, split_seed: int = 0):
    """(train images, train labels, test images, test labels); images [N, 1, S, S] in [-1, 1]."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [N, 1, 8, 8]
    if image_size != 8:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear",
                               align_corners=False, antialias=True)
    images = (images.clamp(0, 1) * 2 - 1).contiguous()
    labels = torch.tensor(digits.target)
    idx_train, idx_test = train_test_split(
        torch.arange(len(images)).numpy(), test_size=test_fraction, random_state=split_seed,
        stratify=labels.numpy(),
    )
    return images[idx_train], labels[idx_train], images[idx_test], labels[idx_test]


class DigitsDataModule(pl.LightningDataModule):
    """Train batches [B, 1, S, S] from a fixed stratified split held as one tensor (on the training
    device when `on_device`: no host-to-device copy per batch)."""

    def __init__(self, image_size: int = 32, batch_size: int = 64, test_fraction: float = 0.2,
                 split_seed: int = 0, on_device: bool = True):
        super().__init__()
        check_image_options(image_size, 1)
        self.on_device = arguments.boolean("on_device", on_device)
        self.image_size, self.batch_size = image_size, arguments.integer("batch_size", batch_size, at_least=1)
        self.test_fraction = arguments.number("test_fraction", test_fraction, above=0.0, below=1.0)
        self.split_seed = arguments.integer("split_seed", split_seed, at_least=0)
        self.train_images: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_images is not None:
            return
        self.train_images, self.train_labels, self.test_images, self.test_labels = (
            load_digit_images(self.image_size, self.test_fraction, self.split_seed)
        )
        if not 1 <= self.batch_size <= len(self.train_images):
            raise BadArgument("batch_size", f"must be between 1 and the {len(self.train_images)} training digits",
                              value=self.batch_size, show_value=True)

    def train_examples(self, index: Tensor) -> Tensor:
        """The training images at `index` [n], [n, 1, S, S] in [-1, 1] on the CPU."""
        self.setup()
        return self.train_images[index.to(self.train_images.device)].cpu()

    @property
    def test_split_description(self) -> str:
        return (f"scikit-learn digits, {self.test_fraction:.0%} held out stratified by class with split seed "
                f"{self.split_seed} (never trained on)")

    def train_dataloader(self) -> TensorBatches:
        device, rank = placement(self, self.on_device)
        images = self.train_images if device is None else self.train_images.to(device)  # 1437 at 32 px: 6 MB
        return TensorBatches(images, self.batch_size, rank=rank)

    def sample_real(self, n: int) -> Tensor:
        self.setup()
        return self.train_images[torch.randperm(len(self.train_images))[:n]]
