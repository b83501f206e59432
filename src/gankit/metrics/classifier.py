"""A small CNN digit classifier: the offline stand-in for Inception on 8x8 digits (its penultimate layer
gives a "digits FID", its softmax a digits IS), trained deterministically on the train split and cached."""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.metrics.cache import digest, load_or_compute

INPUT_SIZE = 16  # every image is resized to 16x16: the 8x8 digits hold no more detail than that


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class DigitsClassifier(nn.Module):
    """[B, 1, S, S] in [-1, 1] -> (features [B, num_features], logits [B, 10])."""

    def __init__(self, width: int = 16, num_features: int = 128, num_classes: int = 10):
        super().__init__()
        self.num_features, self.num_classes = num_features, num_classes
        self.body = nn.Sequential(
            *_block(1, width), *_block(width, width), nn.MaxPool2d(2),  # [B, w, 8, 8]
            *_block(width, 2 * width), *_block(2 * width, 2 * width), nn.MaxPool2d(2),  # [B, 2w, 4, 4]
            nn.Flatten(), nn.Linear(2 * width * 16, num_features), nn.ReLU(),  # [B, F]
        )
        self.head = nn.Linear(num_features, num_classes)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = images.float()
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                              antialias=True)
        features = self.body(x)
        return features, self.head(features)


@torch.no_grad()
def accuracy(classifier: DigitsClassifier, images: Tensor, labels: Tensor, batch_size: int = 512) -> float:
    classifier.eval()
    hits = sum(int((classifier(images[i:i + batch_size])[1].argmax(1) == labels[i:i + batch_size]).sum())
               for i in range(0, len(images), batch_size))
    return hits / len(images)


def train_classifier(images: Tensor, labels: Tensor, epochs: int = 15, batch_size: int = 64,
                     lr: float = 2e-3, seed: int = 0) -> DigitsClassifier:
    """Adam with cosine decay on the train split; random +-1 px shifts; fixed seed, so deterministic on CPU.

    One CPU thread: for a net this small, more threads mostly wait on each other (10x slower on a busy host).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(images, labels, epochs, batch_size, lr, seed)
    finally:
        torch.set_num_threads(threads)


def _train(images: Tensor, labels: Tensor, epochs: int, batch_size: int, lr: float, seed: int) -> DigitsClassifier:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = DigitsClassifier()
        optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
        steps = epochs * -(-len(images) // batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        x = F.interpolate(images.float(), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                          align_corners=False, antialias=True)  # [N, 1, 16, 16]
        classifier.train()
        for _ in range(epochs):
            order = torch.randperm(len(x))
            for i in range(0, len(x), batch_size):
                batch, target = x[order[i:i + batch_size]], labels[order[i:i + batch_size]]
                dy, dx = torch.randint(-1, 2, (2,)).tolist()
                batch = torch.roll(batch, shifts=(dy, dx), dims=(2, 3))  # [B, 1, 16, 16]
                loss = F.cross_entropy(classifier(batch)[1], target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
    return classifier.eval().requires_grad_(False)


def load_or_train(cache_dir: str | Path, train_images: Tensor, train_labels: Tensor, test_images: Tensor,
                  test_labels: Tensor, epochs: int = 15, seed: int = 0) -> tuple[DigitsClassifier, dict]:
    """The classifier for this train split (trained on first use, then read from `cache_dir`) and its record:
    test accuracy, training seconds, cache path."""
    key = digest(train_images, train_labels, test_images, test_labels, f"DigitsClassifier-v1/{epochs}/{seed}")
    path = Path(cache_dir) / "digits_classifier" / f"{key[:16]}.pt"

    def fit() -> dict:
        start = time.perf_counter()
        classifier = train_classifier(train_images, train_labels, epochs=epochs, seed=seed)
        seconds = time.perf_counter() - start
        return {"state_dict": classifier.state_dict(), "test_accuracy": accuracy(classifier, test_images, test_labels),
                "train_seconds": seconds, "epochs": epochs, "seed": seed, "train_size": len(train_images)}

    record, cached = load_or_compute(path, fit)
    classifier = DigitsClassifier()
    classifier.load_state_dict(record.pop("state_dict"))
    return classifier.eval().requires_grad_(False), {**record, "path": str(path), "cached": cached}
