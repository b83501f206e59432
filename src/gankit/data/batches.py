"""Training batches that are a pure function of their position, so a run resumes exactly mid-epoch.

Batch i of epoch e is drawn with a generator seeded from (seed, rank, e, i), never from the global RNG;
`state_dict()` is the position of the next batch. Lightning saves it in the checkpoint and hands it back
with `load_state_dict()` before iterating again. The datamodules return these iterables themselves (not
a DataLoader), so Lightning knows their length and fetches one batch at a time: a batch handed out is a
batch trained on, and the position saved with a checkpoint is the next batch to train on.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import IterableDataset


def placement(datamodule, on_device: bool) -> tuple[torch.device | None, int]:
    """(the training device when `on_device`, else None; this process's rank) of the datamodule's trainer;
    (None, 0) before a trainer is attached."""
    trainer = datamodule.trainer
    if trainer is None:
        return None, 0
    return (trainer.strategy.root_device if on_device else None), trainer.global_rank


_MIX = 0x9E3779B97F4A7C15  # 2^64 / golden ratio: spreads consecutive positions over the seed space


def position_generator(*position: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on `device` seeded from a tuple of integers (seed, rank, epoch, batch)."""
    value = 0
    for part in position:
        value = (value * _MIX + int(part) + 1) % (1 << 64)
    return torch.Generator(device=device).manual_seed(value)


class PositionedBatches(IterableDataset):
    """An epoch of `length` batches; `batch(epoch, index)` draws only from `generator(epoch, index)` (on
    `device`, or the CPU)."""

    def __init__(self, length: int, seed: int | None = None, rank: int = 0, device: torch.device | None = None):
        super().__init__()
        self.length, self.rank, self.device = int(length), int(rank), device
        self.seed = torch.initial_seed() if seed is None else int(seed)  # seed_everything's seed
        self.epoch, self.index = 0, 0  # position of the next batch

    def __len__(self) -> int:
        return self.length

    def generator(self, epoch: int, index: int = -1, device: torch.device | str | None = None) -> torch.Generator:
        return position_generator(self.seed, self.rank, epoch, index, device=device or self.device or "cpu")

    def batch(self, epoch: int, index: int) -> Tensor:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Tensor]:
        if self.index >= self.length:  # the saved epoch was complete: go on with the next
            self.epoch, self.index = self.epoch + 1, 0
        while self.index < self.length:
            epoch, index = self.epoch, self.index
            self.index += 1  # handed out = trained on
            yield self.batch(epoch, index)

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seed, self.epoch, self.index = int(state["seed"]), int(state["epoch"]), int(state["index"])


class TensorBatches(PositionedBatches):
    """Each epoch shuffles `data` [N, ...] and yields len(self) batches [batch_size, ...]."""

    def __init__(self, data: Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = True,
                 seed: int | None = None, rank: int = 0):
        n, b = len(data), int(batch_size)
        super().__init__(n // b if drop_last else -(-n // b), seed, rank)
        self.data, self.batch_size, self.shuffle = data, b, shuffle
        self._order: tuple[int, Tensor] | None = None  # (epoch, permutation [N]) of the current epoch

    def order(self, epoch: int) -> Tensor:
        """The permutation [N] of epoch `epoch` (drawn on the CPU, so alike on every device), on the data's device."""
        if self._order is None or self._order[0] != epoch:
            n = len(self.data)
            perm = torch.randperm(n, generator=self.generator(epoch, device="cpu")) if self.shuffle else torch.arange(n)
            self._order = (epoch, perm.to(self.data.device))
        return self._order[1]

    def batch(self, epoch: int, index: int) -> Tensor:
        return self.data[self.order(epoch)[index * self.batch_size:(index + 1) * self.batch_size]]
