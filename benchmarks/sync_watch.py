"""Which code waits for the GPU inside training batches: a callback for benchmarks/cuda_check.py.

`SyncWatch` turns on torch's sync debug mode ("warn") from each batch's start to its end (listed after the other
callbacks, so their batch-end hooks are inside) and records every synchronizing operation's place: the innermost
frame in gankit or Lightning, or the place the warning names. Each batch is then labelled as one that measures and
logs values (`GAN.measures_this_batch`: a sync there is expected, Lightning reads logged values on the host) or a
plain batch, which should have none. The first `warm_up` batches are not watched (allocations, cuDNN's search)."""

from __future__ import annotations

import traceback
import warnings
from collections import Counter
from pathlib import Path

import lightning.pytorch as pl
import torch

OURS = ("gankit", "lightning")  # the frames named as a sync's place, innermost first


def place(filename: str, lineno: int) -> str:
    for frame in reversed(traceback.extract_stack()[:-2]):
        parts = Path(frame.filename).parts
        if any(p in OURS for p in parts) and "sync_watch" not in frame.filename:
            at = parts.index(next(p for p in parts if p in OURS))
            return f"{'/'.join(parts[at:])}:{frame.lineno} {frame.name}"
    return f"{Path(filename).name}:{lineno}"


class SyncWatch(pl.Callback):
    def __init__(self, warm_up: int = 5):
        self.warm_up, self.seen = warm_up, 0
        self.plain, self.measuring = Counter(), Counter()  # place -> syncs, in plain / measuring batches
        self.batches = Counter()  # "plain" / "measuring" -> watched batches
        self._catcher, self._found = None, []
        self.devices: set[str] = set()  # where the parameters were at the first batch (Lightning moves them back
        # to the CPU when fit ends)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.seen += 1
        if self.seen == 1:
            self.devices = {p.device.type for p in module.parameters()}
        if module.device.type != "cuda" or self.seen <= self.warm_up:
            return
        self._found = []
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("always")
        warnings.showwarning = self._record
        torch.cuda.set_sync_debug_mode("warn")

    def _record(self, message, category, filename, lineno, file=None, line=None) -> None:
        if "synchroniz" in str(message):
            self._found.append(place(filename, lineno))

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self._catcher is None:
            return
        torch.cuda.set_sync_debug_mode("default")
        self._catcher.__exit__(None, None, None)
        self._catcher = None
        kind = "measuring" if getattr(module, "measures_this_batch", True) else "plain"
        self.batches[kind] += 1
        (self.measuring if kind == "measuring" else self.plain).update(self._found)

    def summary(self) -> str:
        lines = [f"{self.batches['plain']} plain batches: {sum(self.plain.values())} syncs; "
                 f"{self.batches['measuring']} measuring batches: {sum(self.measuring.values())} syncs"]
        for kind, counts in (("plain", self.plain), ("measuring", self.measuring)):
            lines += [f"  {kind:<9} {n:>5}x {where}" for where, n in counts.most_common(8)]
        return "\n".join(lines)
