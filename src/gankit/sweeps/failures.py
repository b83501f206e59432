"""A Hydra callback: a multirun whose runs failed with a config error exits non-zero, with one line."""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class ReportFailedRuns(Callback):
    """After a multirun, lists the runs that left an error.txt (train.py writes it) and exits 1."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        failed = sorted(Path(config.hydra.sweep.dir).glob("*/error.txt"))
        if failed:
            reasons = "; ".join(f"{p.parent.name}: {p.read_text().strip()}" for p in failed[:3])
            more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
            print(f"error: {len(failed)} run(s) of the multirun failed: {reasons}{more}", file=sys.stderr)
            sys.exit(1)
