"""Batches sliced from one in-memory tensor: no per-sample indexing or collation."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import IterableDataset


class TensorBatches(IterableDataset):
    """Each pass shuffles `data` [N, ...] and yields len(self) batches [batch_size, ...]."""

    def __init__(self, data: Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = True):
        super().__init__()
        self.data, self.batch_size, self.shuffle, self.drop_last = data, batch_size, shuffle, drop_last

    def __len__(self) -> int:
        n, b = len(self.data), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Tensor]:
        n, device = len(self.data), self.data.device  # indices where the data are (held on the GPU or not)
        order = torch.randperm(n, device=device) if self.shuffle else torch.arange(n, device=device)
        for i in range(len(self)):
            yield self.data[order[i * self.batch_size : (i + 1) * self.batch_size]]
