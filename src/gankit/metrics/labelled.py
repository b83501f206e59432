"""Digits metrics (offline, no Inception): FID and IS under a small digits classifier, classes covered,
and the floor, FID(test split, train split), recorded as the reference value."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from gankit import arguments
from gankit.errors import ConfigError
from gankit.metrics.classifier import load_or_train
from gankit.metrics.reference import embed, reference_features
from gankit.metrics.scores import Scores, feature_moments, frechet_distance
from gankit.metrics.toy import reverse_kl_to_uniform


class ClassCoverage(Metric):
    """Digit classes the generator covers: those predicted for at least `min_share` of a uniform share
    (N / K) of the samples; and KL(predicted class histogram || uniform)."""

    full_state_update = False

    def __init__(self, num_classes: int = 10, min_share: float = 0.1):
        super().__init__()
        self.num_classes, self.min_share = num_classes, float(min_share)
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")  # [K]

    def update(self, logits: Tensor) -> None:
        self.counts += torch.bincount(logits.argmax(1), minlength=self.num_classes)

    def compute(self) -> dict[str, Tensor]:
        enough = self.counts >= self.min_share * self.counts.sum() / self.num_classes
        return {"classes": enough.sum().float(), "class_kl": reverse_kl_to_uniform(self.counts).float()}


class DigitsEvaluator(nn.Module):
    """FID/IS of generated digits under the digits classifier against the train split (the data G fits)."""

    def __init__(self, cache_dir: str, classifier_epochs: int = 15, is_splits: int = 10,
                 min_class_share: float = 0.1, batch_size: int = 500):
        super().__init__()
        self.cache_dir = arguments.writable_folder("cache_dir", cache_dir)
        self.epochs = arguments.integer("classifier_epochs", classifier_epochs, at_least=1)
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.is_splits = arguments.integer("is_splits", is_splits, at_least=1)
        self.min_class_share = arguments.number("min_class_share", min_class_share, above=0.0, at_most=10.0)
        self.classifier: nn.Module | None = None
        self.scores: Scores | None = None
        self.coverage = ClassCoverage(min_share=min_class_share)
        self.reference: dict[str, float] = {}
        self._protocol: dict = {}

    def setup(self, datamodule, rank: int = 0, world_size: int = 1) -> None:
        datamodule.setup("fit")
        if not all(hasattr(datamodule, k) for k in ("train_images", "train_labels", "test_images", "test_labels")):
            raise ConfigError("metrics=digits needs labelled digit images (dataset=digits); "
                              "use metrics=toy for toy data or metrics=none")
        train, test = datamodule.train_images, datamodule.test_images  # [N, 1, S, S] in [-1, 1]
        self.classifier, record = load_or_train(self.cache_dir, train, datamodule.train_labels, test,
                                                datamodule.test_labels, epochs=self.epochs)
        extractor_id = f"digits-classifier-{Path(record['path']).stem}"
        ref, _ = reference_features(self.cache_dir, "digits-train", extractor_id, train, self.classifier,
                                    self.batch_size)
        self.scores = Scores(self.classifier.num_features, num_classes=self.classifier.num_classes,
                             is_splits=self.is_splits)
        self.scores.set_reference(ref["features"], ref["root"], rank, world_size)
        # The floor: the FID of real held-out digits, under the same extractor and reference.
        test_features, _ = embed(self.classifier, test, self.batch_size)
        floor = frechet_distance(*feature_moments(ref["features"]), *feature_moments(test_features), ref["root"])
        self.reference = {"fid_floor": float(floor)}
        self._protocol = {
            "feature_extractor": f"gankit DigitsClassifier, {self.classifier.num_features}-d penultimate "
                                 "features (FID) and 10-class softmax (IS, classes)",
            "weights": f"trained on the digits train split ({record['train_size']} images, {record['epochs']} "
                       f"epochs, seed {record['seed']}) on first use, cached at {record['path']}",
            "classifier_test_accuracy": record["test_accuracy"],
            "resize": f"{tuple(train.shape[-2:])} -> (16, 16) bilinear, antialias=True",
            "reference": f"digits train split ({len(train)} images)",
            "fid_floor": f"FID of the digits test split ({len(test)} images) against the reference",
            "is_splits": self.is_splits,
            "classes_rule": f"a class is covered if >= {self.min_class_share} x N/10 samples are predicted as it",
        }

    def reset(self) -> None:
        self.scores.reset()
        self.coverage.reset()

    @torch.no_grad()
    def update(self, fake: Tensor, gan=None) -> None:
        """Generated images [B, 1, S, S] in [-1, 1]."""
        features, logits = self.classifier(fake)
        self.scores.update(features, logits)
        self.coverage.update(logits)

    def compute(self) -> dict[str, float]:
        return {**self.scores.compute(), **{k: float(v) for k, v in self.coverage.compute().items()}}

    def protocol(self) -> dict:
        return dict(self._protocol)
