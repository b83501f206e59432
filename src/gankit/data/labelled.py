"""A small labelled subset of a training split (semi-supervised learning) and batches that cycle through it.

The subset is `per_class` examples of each class, drawn with its own seed (as the authors of Salimans et
al. 2016 draw theirs with a data seed apart from the training seed); the rest of the split is used without
its labels. The batches are a pure function of their position, so a resumed run continues the same cycle.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.data.batches import position_generator
from gankit.errors import BadArgument, ConfigError


def labelled_subset(labels: Tensor, num_classes: int, per_class: int, seed: int) -> Tensor:
    """Indices [num_classes * per_class] into `labels` [N]: `per_class` of each class 0..K-1, drawn with `seed`
    (the same seed gives the same subset; the drawing does not touch the global RNG)."""
    labels = labels.cpu().long()
    found = sorted(int(k) for k in labels.unique())
    if any(k < 0 or k >= num_classes for k in found):
        raise BadArgument("num_classes", f"the dataset's labels are {found[0]}..{found[-1]}, not classes "
                                         f"0..{num_classes - 1}; set {{key}} to the number of classes")
    generator = torch.Generator().manual_seed(int(seed))
    chosen = []
    for k in range(num_classes):
        members = (labels == k).nonzero().flatten()  # [N_k]
        if len(members) < per_class:
            raise BadArgument("per_class", f"class {k} has {len(members)} training examples, fewer than the "
                                           f"{per_class} labelled ones asked for; lower {{key}}")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen)


class CyclingBatches:
    """Batch u [batch_size] of indices 0..size-1: positions u B .. (u + 1) B of an endless stream of passes
    through the set, pass p in the order of its own permutation (drawn from (seed, rank, p)). A batch larger
    than the set spans consecutive passes."""

    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0):
        if int(size) < 1 or int(batch_size) < 1:
            raise ConfigError(f"a labelled batch needs a non-empty set and batch size >= 1, got {size}, {batch_size}")
        self.size, self.batch_size, self.seed, self.rank = int(size), int(batch_size), int(seed), int(rank)
        self._passes: dict[int, Tensor] = {}  # pass -> permutation [size], the latest two kept

    def permutation(self, p: int) -> Tensor:
        if p not in self._passes:
            generator = position_generator(self.seed, self.rank, p)
            self._passes = {q: v for q, v in self._passes.items() if q >= p - 1}
            self._passes[p] = torch.randperm(self.size, generator=generator)
        return self._passes[p]

    def indices(self, u: int) -> Tensor:
        """Indices [batch_size] of batch u (u = 0, 1, ...)."""
        positions = torch.arange(u * self.batch_size, (u + 1) * self.batch_size)  # [B]
        passes, offsets = positions // self.size, positions % self.size
        out = torch.empty_like(positions)
        for p in passes.unique().tolist():
            here = passes == p
            out[here] = self.permutation(p)[offsets[here]]
        return out
