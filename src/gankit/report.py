"""Aggregates the runs of a sweep directory (the run-directory contract) into tables and plots.

A sweep directory holds `multirun.yaml` (Hydra's record of the sweep), optionally `sweep.yaml` (the study
sweep.py ran) and one folder a job with `.hydra/overrides.yaml` and, when the run finished, `metrics.json`
and `evaluations.json` (or `error.txt` when it failed).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from gankit.errors import ConfigError
from gankit.study import varied_overrides

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

    def mean_std(self, metric: str) -> tuple[float, float]:
        """(mean, sample std over seeds); nan where no run has it, std nan for a single run."""
        values = self.values(metric)
        if not values:
            return math.nan, math.nan
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def sweep_axes(sweep_dir: Path) -> tuple[list[str], list[list[str]]]:
    """(the varied keys, every job's overrides) from Hydra's multirun.yaml, in launch order."""
    record = sweep_dir / "multirun.yaml"
    if not record.is_file():
        raise ConfigError(f"{sweep_dir} is not a sweep directory: it has no multirun.yaml")
    task = list(OmegaConf.load(record).hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(task)
    axes = [o.key_or_group for o in parsed if o.is_sweep_override()]
    batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return axes, [list(job) for batch in batches for job in batch]


def _job_dirs(sweep_dir: Path, axes: list[str]) -> dict[tuple, Path]:
    """Job folders keyed by their parsed axis values (Hydra rewrites 1e-4 as 0.0001 in overrides.yaml)."""
    found = {}
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        overrides = [str(o) for o in OmegaConf.load(overrides_file)]
        found[tuple(sorted(varied_overrides(overrides, axes).items()))] = overrides_file.parent.parent
    return found


def _read_run(directory: Path | None, overrides: dict[str, str]) -> Run:
    if directory is None:
        return Run(overrides, "not run")
    metrics_file, error_file = directory / "metrics.json", directory / "error.txt"
    if metrics_file.is_file():
        data = json.loads(metrics_file.read_text())
        metrics = {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}
        evaluations = directory / "evaluations.json"
        history = json.loads(evaluations.read_text()) if evaluations.is_file() else []
        return Run(overrides, "ok", directory, metrics=metrics, history=history)
    if error_file.is_file():
        return Run(overrides, "failed", directory, error=error_file.read_text().strip())
    return Run(overrides, "incomplete", directory, error="no metrics.json: killed or still running")


def load_runs(sweep_dir: Path) -> tuple[list[str], list[Run]]:
    """(axes, one Run for every job the sweep declared), found or not."""
    axes, jobs = sweep_axes(sweep_dir)
    found = _job_dirs(sweep_dir, axes)
    runs = []
    for job in jobs:
        varied = varied_overrides(job, axes)
        runs.append(_read_run(found.get(tuple(sorted(varied.items()))), varied))
    return axes, runs


def group_runs(runs: list[Run], axes: list[str]) -> list[Row]:
    """Rows keyed by every axis but the seed, in first-seen order."""
    keys = [a for a in axes if a != SEED_AXIS]
    rows: dict[tuple, Row] = {}
    for run in runs:
        labels = {k: run.overrides.get(k, "") for k in keys}
        rows.setdefault(tuple(labels.values()), Row(labels, [])).runs.append(run)
    return list(rows.values())


def _cell(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.4g}" if math.isnan(std) else f"{mean:.4g} ± {std:.2g}"


def _status(row: Row) -> str:
    counts = {}
    for run in row.runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def markdown_table(rows: list[Row], metrics: list[str]) -> str:
    """Mean ± std over seeds per row; a `runs` column counts ok / failed / not run."""
    label_keys = list(rows[0].labels) if rows else []
    header = [*label_keys, *metrics, "runs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [*row.labels.values(), *(_cell(*row.mean_std(m)) for m in metrics), _status(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(runs: list[Run]) -> list[str]:
    """'overrides: status (reason)' for every run that did not finish."""
    return [f"{' '.join(f'{k}={v}' for k, v in run.overrides.items())}: {run.status}"
            + (f" ({run.error})" if run.error else "") for run in runs if run.status != "ok"]


def write_csv(rows: list[Row], runs: list[Run], metrics: list[str], out_dir: Path) -> None:
    """results.csv (one row per technique: mean, std, n) and runs.csv (one row per run)."""
    label_keys = list(rows[0].labels) if rows else []
    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*label_keys, *(f"{m} {s}" for m in metrics for s in ("mean", "std", "n")),
                         "ok", "not ok"])
        for row in rows:
            stats = [v for m in metrics for v in (*row.mean_std(m), len(row.values(m)))]
            writer.writerow([*row.labels.values(), *stats, len(row.ok), len(row.runs) - len(row.ok)])
    axes = list(runs[0].overrides) if runs else []
    with open(out_dir / "runs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*axes, "status", "directory", *metrics, "error"])
        for run in runs:
            writer.writerow([*(run.overrides.get(a, "") for a in axes), run.status, run.directory or "",
                             *(run.metrics.get(m, "") for m in metrics), run.error])


def _label(row: Row) -> str:
    return " ".join(row.labels.values()) or "all"


def plot_bars(rows: list[Row], metric: str, path: Path) -> None:
    """Bar chart of the mean of `metric` per row with std error bars, each seed's value as a dot."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1), 3.6), layout="constrained")
    means, stds = zip(*(row.mean_std(metric) for row in rows), strict=True) if rows else ((), ())
    positions = range(len(rows))
    ax.bar(positions, [0 if math.isnan(m) else m for m in means],
           yerr=[0 if math.isnan(s) else s for s in stds], capsize=4, color="tab:blue", alpha=0.7)
    for i, row in enumerate(rows):
        values = row.values(metric)
        ax.plot([i] * len(values), values, "k.", markersize=5)
    ax.set_xticks(list(positions), [_label(r) for r in rows], rotation=30, ha="right")
    ax.set_ylabel(metric)
    ax.set_title("mean ± std over seeds (dots: single runs)", fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_history(rows: list[Row], metric: str, path: Path) -> None:
    """`metric` over training steps: the mean over a row's runs, with its min..max band."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    for row in rows:
        by_step: dict[int, list[float]] = {}
        for run in row.ok:
            for point in run.history:
                if metric in point:
                    by_step.setdefault(int(point["step"]), []).append(float(point[metric]))
        if not by_step:
            continue
        steps = sorted(by_step)
        line, = ax.plot(steps, [statistics.fmean(by_step[s]) for s in steps], marker=".", label=_label(row))
        ax.fill_between(steps, [min(by_step[s]) for s in steps], [max(by_step[s]) for s in steps],
                        color=line.get_color(), alpha=0.15)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(metric)
    ax.set_title("during training (line: mean over seeds, band: min..max)", fontsize=10)
    if ax.lines:
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def log_wandb_table(rows: list[Row], metrics: list[str], images: list[Path], *, project: str, group: str | None,
                    save_dir: Path, mode: str) -> None:
    """The aggregate table (and plots) as a W&B run of its own, job_type `aggregate`, in the sweep's group."""
    import wandb

    label_keys = list(rows[0].labels) if rows else []
    columns = [*label_keys, *(f"{m} {s}" for m in metrics for s in ("mean", "std")), "ok", "runs"]
    table = wandb.Table(columns=columns)
    for row in rows:
        stats = [v for m in metrics for v in row.mean_std(m)]
        table.add_data(*row.labels.values(), *stats, len(row.ok), len(row.runs))
    run = wandb.init(project=project, group=group, job_type="aggregate", name=f"{group or 'sweep'} results",
                     dir=str(Path(save_dir).absolute()), mode=mode, reinit="create_new")  # absolute: a shared
    # wandb-core service (WANDB_SERVICE inherited from a parent process) resolves a relative dir in its own cwd
    run.log({"results": table, **{f"pictures/{p.stem}": wandb.Image(str(p)) for p in images if p.is_file()}})
    run.finish()
