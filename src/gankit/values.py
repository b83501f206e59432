"""The run's latest values, one place that writes and reads them: the GAN publishes each batch's training values,
the evaluation its eval/... values and its final record, the mode-collapse guard its flag; the training curves
read what is new since they last looked, the guard the evaluation's values, the final record (metrics.json)
everything. "New" is a publication count, not a tensor's identity. Lives on the GAN (`gan.values`), so every
callback reaches it through the module its hooks receive."""

from __future__ import annotations

from collections.abc import Mapping

import torch


class RunValues:
    def __init__(self):
        self._values: dict[str, tuple[int, object]] = {}  # name -> (publication number, value)
        self._published = 0
        self.final: dict = {}  # the evaluation's final values and their protocol (metrics.json adds them)

    def publish(self, values: Mapping[str, object]) -> None:
        """Scalars (floats, or 1-element tensors: converted only when read, so publishing never syncs a device)."""
        self._published += 1
        for name, value in values.items():
            self._values[name] = (self._published, value)

    @property
    def published(self) -> int:
        """How many publications so far: a reader keeps it to ask for what came after (`since`)."""
        return self._published

    def stamp(self, name: str) -> int | None:
        """The publication number of `name`'s latest value (None: never published)."""
        entry = self._values.get(name)
        return None if entry is None else entry[0]

    def get(self, name: str) -> float | None:
        entry = self._values.get(name)
        return None if entry is None else _float(entry[1])

    def since(self, published: int) -> dict[str, float]:
        """{name: value} of the values published after publication number `published`."""
        return {name: _float(value) for name, (number, value) in self._values.items() if number > published}

    def latest(self) -> dict[str, float]:
        return self.since(0)


def _float(value) -> float:
    return float(value.detach()) if torch.is_tensor(value) else float(value)
