"""When a periodic callback is due: each time global_step reaches a new multiple of n."""

from __future__ import annotations


class EveryNSteps:
    """`due(step)` is True once per multiple of n reached; a batch may advance the step by k + 1."""

    def __init__(self, n: int):
        self.n = int(n)
        self._next = self.n

    def start(self, step: int) -> None:
        """At fit start (also after a resume): the next multiple of n above `step`."""
        if self.n > 0:
            self._next = (step // self.n + 1) * self.n

    def due(self, step: int) -> bool:
        if self.n <= 0 or step < self._next:
            return False
        self.start(step)
        return True
