"""OmegaConf resolvers gankit's configs use: `${gankit.product:a,b,...}`, the product of integers (a preset's
batch of 100 groups of m samples: `${gankit.product:100,${oc.select:trick.pacgan.pack,1}}`)."""

from __future__ import annotations

import math

from omegaconf import OmegaConf


def product(*values) -> int:
    return math.prod(int(v) for v in values)


def register() -> None:
    """Register the resolvers (once per process; again is a no-op)."""
    if not OmegaConf.has_resolver("gankit.product"):
        OmegaConf.register_new_resolver("gankit.product", product)
