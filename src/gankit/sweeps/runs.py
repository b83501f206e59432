"""The runs of a sweep directory (the run-directory contract), read back: which jobs the sweep declared, what
each left behind, and rows of runs that differ only by their seed.

A sweep directory holds `multirun.yaml` (Hydra's record of the sweep), optionally `sweep.yaml` (the study
sweep.py ran) and one folder a job with `.hydra/overrides.yaml` and, when the run finished, `metrics.json`
and `evaluations.json` (or `error.txt` when it failed).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from gankit.errors import ConfigError
from gankit.sweeps.statistics import Summary, summarise
from gankit.sweeps.study import varied_overrides

SEED_AXIS = "seed"


@dataclass
class Run:
    """One job of the sweep: its varied overrides and what it left behind."""

    overrides: dict[str, str]  # axis -> value
    status: str  # ok, failed, incomplete (started, never finished) or not run
    directory: Path | None = None
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # [{"step": N, "eval/x": v}, ...]


@dataclass
class Row:
    """One technique (the non-seed axes) with its runs' statistics."""

    labels: dict[str, str]
    runs: list[Run]

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if r.status == "ok"]

    def values(self, metric: str) -> list[float]:
        return [r.metrics[metric] for r in self.ok if metric in r.metrics]

    def summary(self, metric: str) -> Summary:
        """Mean, std, standard error and n over the finished runs that report `metric`."""
        return summarise(self.values(metric))

    def matches(self, wanted: dict) -> bool:
        """Whether this row's axis values are `wanted` ({axis: value}, compared as text)."""
        return all(str(self.labels.get(str(k), "")) == axis_text(v) for k, v in wanted.items())


def axis_text(value) -> str:
    """An axis value as the overrides spell it: lists as a,b (as varied_overrides writes them), booleans as Hydra's
    parser reads them (false, "false" and False are False)."""
    if isinstance(value, (list, tuple)) or OmegaConf.is_list(value):
        return ",".join(map(str, value))
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.capitalize()
    return str(value)


def sweep_axes(sweep_dir: Path) -> tuple[list[str], list[list[str]]]:
    """(the varied keys, every job's overrides) from Hydra's multirun.yaml, in launch order: the product of the
    sweep overrides' values in the order given, as Hydra's basic sweeper launches them."""
    record = sweep_dir / "multirun.yaml"
    if not record.is_file():
        raise ConfigError(f"{sweep_dir} is not a sweep directory: it has no multirun.yaml")
    task = list(OmegaConf.load(record).hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(task)
    axes = [o.key_or_group for o in parsed if o.is_sweep_override()]
    choices: dict[str, list[str]] = {}  # key -> its "key=value" choices; a key given twice keeps its first place
    for override in parsed:
        key = override.get_key_element()
        values = override.sweep_string_iterator() if override.is_sweep_override() else \
            [override.get_value_element_as_str()]
        choices[key] = [f"{key}={value}" for value in values]
    return axes, [list(job) for job in itertools.product(*choices.values())]


def _job_dirs(sweep_dir: Path, axes: list[str]) -> dict[tuple, Path]:
    """Job folders keyed by their parsed axis values (Hydra rewrites 1e-4 as 0.0001 in overrides.yaml)."""
    found = {}
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        overrides = [str(o) for o in OmegaConf.load(overrides_file)]
        found[tuple(sorted(varied_overrides(overrides, axes).items()))] = overrides_file.parent.parent
    return found


def _read_run(directory: Path | None, overrides: dict[str, str], metrics_name: str = "metrics.json") -> Run:
    if directory is None:
        return Run(overrides, "not run")
    metrics_file, error_file = directory / metrics_name, directory / "error.txt"
    if metrics_file.is_file():
        data = json.loads(metrics_file.read_text())
        metrics = {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}
        evaluations = directory / "evaluations.json"
        history = json.loads(evaluations.read_text()) if evaluations.is_file() else []
        return Run(overrides, "ok", directory, metrics=metrics, history=history)
    if error_file.is_file():
        return Run(overrides, "failed", directory, error=error_file.read_text().strip())
    return Run(overrides, "incomplete", directory, error=f"no {metrics_name}: killed or still running")


def load_runs(sweep_dir: Path, metrics_name: str = "metrics.json") -> tuple[list[str], list[Run]]:
    """(axes, one Run for every job the sweep declared), found or not; a run's values are read from its
    `metrics_name` (metrics.json: its end; reevaluated/<tag>.json: `sweep.py evaluate`'s)."""
    axes, jobs = sweep_axes(sweep_dir)
    found = _job_dirs(sweep_dir, axes)
    runs = []
    for job in jobs:
        varied = varied_overrides(job, axes)
        runs.append(_read_run(found.get(tuple(sorted(varied.items()))), varied, metrics_name))
    return axes, runs


def group_runs(runs: list[Run], axes: list[str]) -> list[Row]:
    """Rows keyed by every axis but the seed, in first-seen order."""
    keys = [a for a in axes if a != SEED_AXIS]
    rows: dict[tuple, Row] = {}
    for run in runs:
        labels = {k: run.overrides.get(k, "") for k in keys}
        rows.setdefault(tuple(labels.values()), Row(labels, [])).runs.append(run)
    return list(rows.values())


def failures(runs: list[Run]) -> list[str]:
    """'overrides: status (reason)' for every run that did not finish."""
    return [f"{' '.join(f'{k}={v}' for k, v in run.overrides.items())}: {run.status}"
            + (f" ({run.error})" if run.error else "") for run in runs if run.status != "ok"]
