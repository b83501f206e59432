"""Batch clocks for benchmarks/end_to_end.py: the wall time of each batch's start, written as JSON at the end.

`Stamps` is a callback train.py takes (`+callbacks.clock._target_=benchmarks.clock.Stamps +callbacks.clock.path=F`);
the plain loop calls `BatchClock.tick` itself. One `time.perf_counter()` a batch (under a microsecond), so the
clock does not slow what it measures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning.pytorch as pl
import torch


class BatchClock:
    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None  # None: given to write
        self.first_wall: float | None = None  # time.time() at the first batch: the time to the first step
        self.starts: list[float] = []  # perf_counter() at each batch's start

    def tick(self) -> None:
        if self.first_wall is None:
            self.first_wall = time.time()
        self.starts.append(time.perf_counter())

    def write(self, path: Path | None = None) -> None:
        (path or self.path).write_text(json.dumps({"first_wall": self.first_wall, "starts": self.starts}))


class Stamps(pl.Callback):
    """Listed after the other callbacks: a batch's stretch holds their batch-end hooks, and the last one ends when
    its batch-end hooks have run (not at on_train_end, after the final evaluation and pictures)."""

    def __init__(self, path: str | None = None):  # None: clock.json in the run directory (sweeps)
        self.clock, self.batch_end = BatchClock(path), None

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.clock.tick()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.device.type == "cuda" and trainer.global_step >= trainer.max_steps:
            torch.cuda.synchronize()  # the last batch ends when the GPU has done its work (the plain loop waits too)
        self.batch_end = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        self.clock.starts.append(self.batch_end)  # the end of the last batch
        self.clock.write(self.clock.path or Path(trainer.default_root_dir) / "clock.json")


def starts(path: str | Path) -> list[float]:
    return json.loads(Path(path).read_text())["starts"]


def steady_window(path: str | Path, warm_up: float) -> tuple[float, float]:
    """(from, to) in perf_counter time, a system-wide clock: the run's batches after the first `warm_up` fraction
    (start-up, first allocations) to its end."""
    ticks = starts(path)
    return ticks[max(1, int(warm_up * (len(ticks) - 1)))], ticks[-1]


def seconds_per_batch(path: str | Path, window: tuple[float, float]) -> float:
    """Mean seconds a batch of the batches that started inside `window` (from the first to the last of them)."""
    inside = [t for t in starts(path) if window[0] <= t <= window[1]]
    if len(inside) < 3:
        raise ValueError(f"{path}: only {len(inside)} batches inside the window")
    return (inside[-1] - inside[0]) / (len(inside) - 1)


def first_step_wall(path: str | Path) -> float:
    return json.loads(Path(path).read_text())["first_wall"]
