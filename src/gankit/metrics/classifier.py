"""A small CNN classifier of a labelled image set: the offline stand-in for Inception (its penultimate layer gives a
"classifier FID", KID, precision and recall, its softmax an IS and the classes covered), trained deterministically on
the set's train split on first use and cached under a key of the data and the recipe."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import arguments
from gankit.errors import BadArgument
from gankit.metrics.cache import digest, load_or_compute


@dataclass(frozen=True)
class Recipe:
    """How a set's classifier is built and trained (the dataset's `classifier:` settings; the cache key holds it)."""

    input_size: int = 16  # images are resized to this (divisible by 4); 16 for the 8x8 digits, 28 for MNIST-likes
    width: int = 16  # channels of the first block (the second has 2 x width)
    epochs: int = 15
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    max_train: int | None = None  # the first N training images only (a quick recipe for tests); None: all

    def __post_init__(self):
        size = arguments.integer("input_size", self.input_size, at_least=4)
        if size % 4:
            raise BadArgument("input_size", f"must be divisible by 4 (two 2x2 poolings), got {size}")
        for name in ("width", "epochs", "batch_size"):
            arguments.integer(name, getattr(self, name), at_least=1)
        arguments.number("lr", self.lr, above=0.0)
        arguments.integer("seed", self.seed, at_least=0)
        arguments.optional(arguments.integer, "max_train", self.max_train, at_least=1)

    @classmethod
    def of(cls, settings) -> Recipe:
        """A Recipe from a mapping of its fields (a dataset's `classifier:`); an unknown field is one line."""
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(cls.__dataclass_fields__))
        if unknown:
            raise BadArgument(unknown[0], f"is not a classifier setting; use {', '.join(cls.__dataclass_fields__)}")
        return cls(**settings)

    @property
    def name(self) -> str:
        return "/".join(f"{k}={v}" for k, v in asdict(self).items())


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def resized(images: Tensor, size: int) -> Tensor:
    """float [B, C, size, size]: bilinear with antialiasing (a no-op at the size already)."""
    x = images.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


class ImageClassifier(nn.Module):
    """[B, C, S, S] in [-1, 1] -> (features [B, num_features], logits [B, num_classes]); two conv blocks of two
    3x3 convolutions each, 2x2 pooling after each, one hidden linear layer (the features)."""

    def __init__(self, channels: int = 1, input_size: int = 16, width: int = 16, num_features: int = 128,
                 num_classes: int = 10):
        super().__init__()
        self.channels, self.input_size = channels, input_size
        self.num_features, self.num_classes = num_features, num_classes
        quarter = input_size // 4
        self.body = nn.Sequential(
            *_block(channels, width), *_block(width, width), nn.MaxPool2d(2),  # [B, w, S/2, S/2]
            *_block(width, 2 * width), *_block(2 * width, 2 * width), nn.MaxPool2d(2),  # [B, 2w, S/4, S/4]
            nn.Flatten(), nn.Linear(2 * width * quarter * quarter, num_features), nn.ReLU(),  # [B, F]
        )
        self.head = nn.Linear(num_features, num_classes)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(resized(images, self.input_size))
        return features, self.head(features)


@torch.no_grad()
def accuracy(classifier: ImageClassifier, images: Tensor, labels: Tensor, batch_size: int = 512) -> float:
    classifier.eval()
    hits = sum(int((classifier(images[i:i + batch_size])[1].argmax(1) == labels[i:i + batch_size]).sum())
               for i in range(0, len(images), batch_size))
    return hits / len(images)


def train_classifier(images: Tensor, labels: Tensor, recipe: Recipe = Recipe()) -> ImageClassifier:
    """Adam with cosine decay on the train split; random +-1 px shifts; fixed seed, so deterministic on CPU.

    One CPU thread: for a net this small, more threads mostly wait on each other (10x slower on a busy host).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(images, labels, recipe)
    finally:
        torch.set_num_threads(threads)


def _train(images: Tensor, labels: Tensor, recipe: Recipe) -> ImageClassifier:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        classifier = ImageClassifier(images.shape[1], recipe.input_size, recipe.width,
                                     num_classes=int(labels.max()) + 1)
        optimizer = torch.optim.Adam(classifier.parameters(), lr=recipe.lr)
        steps = recipe.epochs * -(-len(images) // recipe.batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        x = resized(images, recipe.input_size)  # [N, C, s, s]
        classifier.train()
        for _ in range(recipe.epochs):
            order = torch.randperm(len(x))
            for i in range(0, len(x), recipe.batch_size):
                batch, target = x[order[i:i + recipe.batch_size]], labels[order[i:i + recipe.batch_size]]
                dy, dx = torch.randint(-1, 2, (2,)).tolist()
                batch = torch.roll(batch, shifts=(dy, dx), dims=(2, 3))  # [B, C, s, s]
                loss = F.cross_entropy(classifier(batch)[1], target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
    return classifier.eval().requires_grad_(False)


def load_or_train(cache_dir: str | Path, train_images: Tensor, train_labels: Tensor, test_images: Tensor,
                  test_labels: Tensor, recipe: Recipe = Recipe()) -> tuple[ImageClassifier, dict]:
    """The classifier for this train split and recipe (trained on first use, then read from `cache_dir`; a cache
    file that cannot be read is trained again) and its record: test accuracy, training seconds, cache path."""
    if recipe.max_train is not None:
        train_images, train_labels = train_images[:recipe.max_train], train_labels[:recipe.max_train]
    key = digest(train_images, train_labels, test_images, test_labels, f"ImageClassifier-v2/{recipe.name}")
    path = Path(cache_dir) / "classifier" / f"{key[:16]}.pt"

    def fit() -> dict:
        start = time.perf_counter()
        classifier = train_classifier(train_images, train_labels, recipe)
        seconds = time.perf_counter() - start
        return {"state_dict": classifier.state_dict(), "test_accuracy": accuracy(classifier, test_images, test_labels),
                "train_seconds": seconds, "recipe": recipe.name, "train_size": len(train_images),
                "num_classes": classifier.num_classes}

    record, cached = load_or_compute(path, fit)
    classifier = ImageClassifier(train_images.shape[1], recipe.input_size, recipe.width,
                                 num_classes=record["num_classes"])
    classifier.load_state_dict(record.pop("state_dict"))
    return classifier.eval().requires_grad_(False), {**record, "path": str(path), "cached": cached}
