"""Image metrics: FID, IS and KID with torch-fidelity's InceptionV3 against the dataset's test split
(train split where it has none); the reference features are computed once and cached."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit import arguments
from gankit.errors import ConfigError
from gankit.metrics.inception import InceptionFeatures, to_uint8_rgb
from gankit.metrics.reference import reference_features
from gankit.metrics.scores import Scores


class ImageEvaluator(nn.Module):
    """FID (Heusel et al. 2017), IS (Salimans et al. 2016), KID (Binkowski et al. 2018) on Inception."""

    def __init__(self, extractor: InceptionFeatures, cache_dir: str, dataset: str = "images",
                 is_splits: int = 10, kid_subsets: int = 100, kid_subset_size: int = 1000, batch_size: int = 50):
        super().__init__()
        self.extractor, self.cache_dir = extractor, arguments.writable_folder("cache_dir", cache_dir)
        self.dataset = arguments.text("dataset", dataset)
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.is_splits = arguments.integer("is_splits", is_splits, at_least=1)
        arguments.integer("kid_subsets", kid_subsets, at_least=1)
        arguments.integer("kid_subset_size", kid_subset_size, at_least=2)
        self.scores = Scores(extractor.num_features, num_classes=extractor.num_classes, kid=True,
                             is_splits=is_splits, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size)
        self.reference: dict[str, float] = {}
        self._protocol: dict = {}

    def setup(self, datamodule, rank: int = 0, world_size: int = 1) -> None:
        datamodule.setup("fit")
        split = "test" if getattr(datamodule, "test_images", None) is not None else "train"
        images = getattr(datamodule, f"{split}_images", None)  # [N, C, H, W] in [-1, 1]
        if images is None:
            raise ConfigError("metrics=image needs an image dataset (with train_images); "
                              "use metrics=toy for toy data or metrics=none")
        device = next(self.extractor.parameters()).device
        ref, _ = reference_features(self.cache_dir, f"{self.dataset}-{split}", self.extractor.identity,
                                    to_uint8_rgb(images), self.extractor, self.batch_size, device)
        self.scores.set_reference(ref["features"], ref["root"], rank, world_size)
        size = tuple(images.shape[-2:])
        self._protocol = {
            "feature_extractor": f"torch-fidelity InceptionV3 (inception-v3-compat), {self.extractor.num_features}-d "
                                 "pool features (FID, KID), unbiased logits (IS)",
            "weights": self.extractor.weights,
            "resize": f"{size} -> (299, 299), {self.extractor.resize_name} "
                      f"(metrics.antialias={str(self.extractor.antialias).lower()}); uint8 by rounding",
            "reference": f"{self.dataset} {split} split ({len(images)} images)",
            "is_splits": self.is_splits,
        }

    def reset(self) -> None:
        self.scores.reset()

    @torch.no_grad()
    def update(self, fake: Tensor, gan=None) -> None:
        """Generated images [B, C, H, W] in [-1, 1]."""
        self.scores.update(*self.extractor(to_uint8_rgb(fake)))

    def compute(self) -> dict[str, float]:
        return self.scores.compute()

    def protocol(self) -> dict:
        kid = self.scores.kid
        return {**self._protocol, "kid_subsets": kid.subsets, "kid_subset_size": kid.used_subset_size}
