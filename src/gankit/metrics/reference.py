"""Features of a reference image set, computed once per (set, extractor) and cached on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from gankit.metrics.cache import digest, load_or_compute
from gankit.metrics.scores import feature_moments, psd_sqrt


@torch.no_grad()
def embed(extract: Callable[[Tensor], tuple[Tensor, Tensor]], images: Tensor, batch_size: int,
          device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """(features [N, F], logits [N, K]) of `images` [N, ...] in batches, on CPU."""
    out = [extract(images[i:i + batch_size].to(device)) for i in range(0, len(images), batch_size)]
    return torch.cat([f.cpu() for f, _ in out]), torch.cat([lg.cpu() for _, lg in out])


def reference_features(cache_dir: str | Path, name: str, extractor_id: str, images: Tensor,
                       extract: Callable[[Tensor], tuple[Tensor, Tensor]], batch_size: int,
                       device: torch.device | str = "cpu") -> tuple[dict, bool]:
    """({"features" [N, F] float32, "root" S^1/2 [F, F] float64, "num_images"}, whether it was cached).

    Keyed by the images' content and the extractor's identity (network, weights, layer, resize), so a
    change in data, split, image size or extractor gives a new entry.
    """
    key = digest(images, extractor_id)[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{name}-{extractor_id}")[:120]
    path = Path(cache_dir) / "reference" / f"{safe}-{key}.pt"

    def compute() -> dict:
        features, _ = embed(extract, images, batch_size, device)
        _, cov = feature_moments(features)
        return {"features": features.float(), "root": psd_sqrt(cov), "num_images": len(images)}

    return load_or_compute(path, compute)
