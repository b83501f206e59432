"""Metrics of a labelled image set without downloads: FID, KID and IS under the set's own small classifier
(metrics/classifier.py), the classes covered, precision/recall/density/coverage on the same features, and the
floor, FID(test split, train split), recorded as the reference value."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from gankit import arguments
from gankit.errors import ConfigError
from gankit.metrics.classifier import Recipe, load_or_train
from gankit.metrics.prdc import PrecisionRecallCoverage
from gankit.metrics.reference import embed, reference_features
from gankit.metrics.scores import Scores, feature_moments, frechet_distance
from gankit.metrics.toy import reverse_kl_to_uniform

NEEDED = ("train_images", "train_labels", "test_images", "test_labels")


class ClassCoverage(Metric):
    """Classes the generator covers: those predicted for at least `min_share` of a uniform share (N / K) of the
    samples; and KL(predicted class histogram || uniform)."""

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


class ClassifierEvaluator(nn.Module):
    """Generated images against the train split (the data G fits) under a classifier trained on that split:
    `dataset` names the set in the protocol and the cache; `classifier` is its Recipe's settings."""

    def __init__(self, cache_dir: str, dataset: str = "digits", classifier: dict | None = None, is_splits: int = 10,
                 min_class_share: float = 0.1, nearest_k: int = 3, prdc_reference_size: int = 10000,
                 kid_subsets: int = 100, kid_subset_size: int = 1000, batch_size: int = 500):
        super().__init__()
        self.cache_dir = arguments.writable_folder("cache_dir", cache_dir)
        self.dataset = arguments.text("dataset", dataset)
        self.recipe = arguments.call("classifier", Recipe.of, classifier)
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.is_splits = arguments.integer("is_splits", is_splits, at_least=1)
        self.min_class_share = arguments.number("min_class_share", min_class_share, above=0.0, at_most=10.0)
        self.nearest_k = arguments.integer("nearest_k", nearest_k, at_least=1)
        self.prdc_reference_size = arguments.integer("prdc_reference_size", prdc_reference_size, at_least=2)
        self.kid_subsets = arguments.integer("kid_subsets", kid_subsets, at_least=1)
        self.kid_subset_size = arguments.integer("kid_subset_size", kid_subset_size, at_least=2)
        self.classifier: nn.Module | None = None
        self.scores: Scores | None = None
        self.coverage: ClassCoverage | None = None
        self.prdc = PrecisionRecallCoverage(self.nearest_k)
        self.reference: dict[str, float] = {}
        self._protocol: dict = {}

    def setup(self, datamodule, rank: int = 0, world_size: int = 1) -> None:
        datamodule.setup("fit")
        try:
            ok = all(getattr(datamodule, k, None) is not None for k in NEEDED)
        except ConfigError:  # a set without labels
            ok = False
        if not ok:
            raise ConfigError(f"metrics=classifier needs a labelled image set (digits, mnist, fashion_mnist, "
                              f"svhn, cifar10); {self.dataset} has none: use metrics=image, metrics=toy or "
                              "metrics=none")
        train, test = datamodule.train_images, datamodule.test_images  # [N, C, S, S] in [-1, 1]
        self.classifier, record = load_or_train(self.cache_dir, train, datamodule.train_labels, test,
                                                datamodule.test_labels, self.recipe)
        classes = self.classifier.num_classes
        extractor_id = f"classifier-{Path(record['path']).stem}"
        ref, _ = reference_features(self.cache_dir, f"{self.dataset}-train", extractor_id, train, self.classifier,
                                    self.batch_size)
        self.scores = Scores(self.classifier.num_features, num_classes=classes, kid=True, is_splits=self.is_splits,
                             kid_subsets=self.kid_subsets, kid_subset_size=self.kid_subset_size)
        self.scores.set_reference(ref["features"], ref["root"], rank, world_size)
        self.coverage = ClassCoverage(classes, self.min_class_share)
        real = ref["features"][torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
                               [:self.prdc_reference_size]]  # a fixed subset of the train features [R, F]
        self.prdc.set_reference(real)
        # The floor: the FID of real held-out images, under the same extractor and reference.
        test_features, _ = embed(self.classifier, test, self.batch_size)
        floor = frechet_distance(*feature_moments(ref["features"]), *feature_moments(test_features), ref["root"])
        self.reference = {"fid_floor": float(floor)}
        self._protocol = {
            "feature_extractor": f"gankit ImageClassifier of {self.dataset}, {self.classifier.num_features}-d "
                                 f"penultimate features (FID, KID, precision, recall, density, coverage) and "
                                 f"{classes}-class softmax (IS, classes)",
            "weights": f"trained on the {self.dataset} train split ({record['train_size']} images; "
                       f"{record['recipe']}) on first use, cached at {record['path']}",
            "classifier_test_accuracy": record["test_accuracy"],
            "classifier_test_split": f"{len(test)} images",
            "resize": f"{tuple(train.shape[-2:])} -> ({self.recipe.input_size}, {self.recipe.input_size}) bilinear, "
                      "antialias=True",
            "reference": f"{self.dataset} train split ({len(train)} images)",
            "fid_floor": f"FID of the {self.dataset} test split ({len(test)} images) against the reference",
            "is_splits": self.is_splits,
            "classes_rule": f"a class is covered if >= {self.min_class_share} x N/{classes} samples are predicted "
                            "as it",
            "prdc": f"k = {self.nearest_k} nearest neighbours; real set: {len(real)} train features (fixed subset); "
                    "precision/recall Kynkaanniemi et al. 2019 (torch-fidelity), density/coverage Naeem et al. 2020",
        }

    def reset(self) -> None:
        self.scores.reset()
        self.coverage.reset()
        self.prdc.reset()

    @torch.no_grad()
    def update(self, fake: Tensor, gan=None) -> None:
        """Generated images [B, C, S, S] in [-1, 1]."""
        features, logits = self.classifier(fake)
        self.scores.update(features, logits)
        self.coverage.update(logits)
        self.prdc.update(features)

    def compute(self) -> dict[str, float]:
        return {**self.scores.compute(), **{k: float(v) for k, v in self.coverage.compute().items()},
                **self.prdc.compute()}

    def protocol(self) -> dict:
        kid = self.scores.kid
        return {**self._protocol, "kid_subsets": kid.subsets, "kid_subset_size": kid.used_subset_size}
