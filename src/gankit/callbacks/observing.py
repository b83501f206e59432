"""Hooks of callbacks that only observe a run (figures, evaluations): how often a run is observed must not change
what it learns, so such a hook leaves every random generator as it found it."""

from __future__ import annotations

import functools

from lightning.pytorch.utilities.seed import isolate_rng


def observing(hook):
    """`hook` run inside Lightning's isolate_rng: the torch, CUDA, NumPy and Python generator states are restored
    after it (samples, real batches for figures and evaluation noise draw from them)."""

    @functools.wraps(hook)
    def wrapped(*args, **kwargs):
        with isolate_rng(include_cuda=True):
            return hook(*args, **kwargs)

    return wrapped
