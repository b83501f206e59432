"""`python sweep.py evaluate DIR [overrides]`: every finished run of a sweep evaluated again under one protocol (its
checkpoint rebuilt by gankit.trained), each result in `<run>/reevaluated/<tag>.json`, then aggregated as the report
does into `DIR/reevaluated/<tag>/` (results.md, results.csv, plots). A run already evaluated under the tag is read,
not evaluated again, so an interrupted re-evaluation continues; nothing the sweep wrote is changed."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gankit.resume import LAST
from gankit.sweeps.aggregate import aggregate
from gankit.sweeps.runs import load_runs
from gankit.trained import evaluate, load_run, write_json

FOLDER = "reevaluated"


def tag_of(overrides: list[str]) -> str:
    """A file name for the protocol: the overrides joined, with what a file name cannot hold replaced."""
    return re.sub(r"[^\w.=,-]+", "_", "_".join(overrides))[:100] or "run_protocol"


def first_process() -> bool:
    """False in the other processes of a multi-device evaluation (Lightning starts them with these variables)."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def evaluate_sweep(sweep_dir: Path, conf_dir: Path, overrides: list[str]) -> int:
    """Evaluate, then aggregate (the first process alone); the aggregate's status (1 when a run has no result)."""
    sweep_dir, tag = Path(sweep_dir), tag_of(overrides)
    _, runs = load_runs(sweep_dir)
    finished = [r for r in runs if r.status == "ok"]
    for number, run in enumerate(finished, start=1):
        target = run.directory / FOLDER / f"{tag}.json"
        if target.is_file():
            continue
        path = run.directory / LAST
        cfg, checkpoint = load_run(path, conf_dir, overrides)
        record = evaluate(cfg, checkpoint, path)
        if record is None:  # another process of a multi-device evaluation: the first one writes
            continue
        write_json(record, target)
        print(f"evaluated {number}/{len(finished)}: {run.directory.name} {run.overrides}")
    if not first_process():  # it helped evaluate; the first process writes the aggregate
        return 0
    return aggregate(sweep_dir, f"{FOLDER}/{tag}.json", sweep_dir / FOLDER / tag)
