"""A sweep's rows (runs.py) as tables, CSV files and plots: mean +- standard error over seeds, the difference
from a reference row with its 95% interval, published values beside them, and a W&B table."""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from gankit.errors import ConfigError
from gankit.sweeps.runs import Row, Run, axis_text
from gankit.sweeps.statistics import Difference, Summary, welch_difference


@dataclass(frozen=True)
class Published:
    """A paper's values for one row: {metric: (mean, standard error or None)} and where they come from."""

    row: dict[str, str]
    source: str
    values: dict[str, tuple[float, float | None]]


def published_values(study) -> list[Published]:
    """The study's `published:` list ([{row: {axis: value}, source: str, values: {metric: [mean, se|null]}}])."""
    entries = study.get("published") or []
    found = []
    for i, entry in enumerate(entries):
        if not OmegaConf.is_dict(entry) or not OmegaConf.is_dict(entry.get("row")) \
                or not OmegaConf.is_dict(entry.get("values")):
            raise ConfigError(f"published[{i}] needs `row: {{axis: value}}`, `source: text` and "
                              "`values: {metric: [mean, standard error or null]}`")
        values = {}
        for metric, pair in entry["values"].items():
            pair = list(pair) if OmegaConf.is_list(pair) else [pair]
            if len(pair) != 2 or not isinstance(pair[0], (int, float)) \
                    or not (pair[1] is None or isinstance(pair[1], (int, float))):
                raise ConfigError(f"published[{i}].values.{metric} must be [mean, standard error or null], "
                                  f"got {pair}")
            values[str(metric)] = (float(pair[0]), None if pair[1] is None else float(pair[1]))
        found.append(Published({str(k): axis_text(v) for k, v in entry["row"].items()},
                               str(entry.get("source", "published")), values))
    return found


@dataclass(frozen=True)
class Reference:
    """Which row each row is compared with: the row with the `wanted` axis values and this row's own values on the
    other axes (`reference: {trick.semi_supervised.gan: false}` compares the GAN with the baseline at each label
    count; `reference: {trick: none}` in a one-axis study compares every row with the plain GAN)."""

    wanted: dict[str, str]
    rows: tuple[Row, ...]

    def of(self, row: Row) -> Row | None:
        target = {**row.labels, **self.wanted}
        return next((r for r in self.rows if r.matches(target)), None)

    @property
    def named(self) -> str:
        others = [k for k in (self.rows[0].labels if self.rows else {}) if k not in self.wanted]
        same = f" and the same {', '.join(others)}" if others else ""
        return " ".join(f"{k}={v}" for k, v in self.wanted.items()) + same


def choose_reference(rows: list[Row], wanted=None) -> tuple[Reference | None, str]:
    """(the reference, a note): the study's `reference: {axis: value}` (on the row's other axes, its own values),
    else the row with trick=none, else the first row; None (and the note says why) when no row has the named
    values."""
    if wanted:
        wanted = {str(k): axis_text(v) for k, v in dict(wanted).items()}  # false: as the rows spell it, False
        named = " ".join(f"{k}={v}" for k, v in wanted.items())
        found = any(row.matches(wanted) for row in rows)
        return (Reference(wanted, tuple(rows)), "") if found else (
            None, f"the reference row {named} is not among the rows: no differences")
    chosen = next((row for row in rows if row.labels.get("trick") == "none"), rows[0] if rows else None)
    return (Reference(dict(chosen.labels), tuple(rows)) if chosen else None), ""


def difference(row: Row, reference: Row, metric: str) -> Difference:
    """row - reference for `metric` over seeds, with Welch's 95% interval."""
    return welch_difference(row.values(metric), reference.values(metric))


def _number(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def _cell(summary: Summary) -> str:
    if math.isnan(summary.mean):
        return "-"
    return _number(summary.mean) if math.isnan(summary.sem) else f"{_number(summary.mean)} ± {summary.sem:.2g}"


def _difference_cell(row: Row, reference: Row | None, metric: str) -> str:
    if reference is None:
        return "no reference row"
    if row is reference:
        return "reference"
    found = difference(row, reference, metric)
    if math.isnan(found.estimate):
        return "-"
    if math.isnan(found.low):
        short = min(len(row.values(metric)), len(reference.values(metric))) < 2
        return f"{found.estimate:+.3g} ({'n < 2' if short else 'no spread'})"
    return f"{found.estimate:+.3g} [{found.low:.3g}, {found.high:.3g}]" + (" *" if found.excludes_zero else "")


def _published_cell(row: Row, published: list[Published], metric: str) -> str:
    cells = []
    for number, entry in enumerate(published, start=1):
        if metric in entry.values and row.matches(entry.row):
            mean, se = entry.values[metric]
            cells.append(f"{_number(mean)}{'' if se is None else f' ± {se:.2g}'} [{number}]")
    return "; ".join(cells)


def _status(row: Row) -> str:
    counts = {}
    for run in row.runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def markdown_table(rows: list[Row], metrics: list[str], reference: Reference | None = None,
                   published: list[Published] = ()) -> str:
    """Per row: mean ± standard error over seeds of each metric, n; with a reference row, the difference from it
    and its 95% Welch interval (* where it excludes 0); published values beside the metrics that have them; a
    `runs` column counting ok / failed / not run."""
    label_keys = list(rows[0].labels) if rows else []
    compared = reference is not None and len(rows) > 1
    header, cells_of = [*label_keys, "n"], [lambda row: str(len(row.ok))]
    for metric in metrics:
        header.append(metric)
        cells_of.append(lambda row, m=metric: _cell(row.summary(m)))
        if any(metric in entry.values for entry in published):
            header.append(f"{metric} published")
            cells_of.append(lambda row, m=metric: _published_cell(row, published, m))
        if compared:
            header.append(f"Δ {metric} [95% CI]")
            cells_of.append(lambda row, m=metric: _difference_cell(row, reference.of(row), m))
    header.append("runs")
    cells_of.append(_status)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([*row.labels.values(), *(cell(row) for cell in cells_of)]) + " |")
    return "\n".join(lines)


def table_notes(rows: list[Row], reference: Reference | None, published: list[Published], note: str = "") -> str:
    """The footer that says how to read the table: statistics, the reference, the interval, the sources."""
    lines = ["Cells: mean ± standard error of the mean over seeds; n: finished runs."]
    if reference is not None and len(rows) > 1:
        lines.append(f"Δ: row minus its reference row ({reference.named}), with a 95% confidence interval from "
                     "Welch's t (unequal variances, Welch-Satterthwaite degrees of freedom); * marks an interval that "
                     "excludes 0, i.e. a difference beyond seed noise at that level (not corrected for the number "
                     "of comparisons).")
    if note:
        lines.append(f"Note: {note}.")
    for number, entry in enumerate(published, start=1):
        shown = " ".join(f"{k}={v}" for k, v in entry.row.items())
        missing = "" if any(row.matches(entry.row) for row in rows) else " (that row is not in this table)"
        lines.append(f"[{number}] {entry.source}: published values for {shown}, mean ± standard error where given"
                     f"{missing}.")
    return "\n\n".join(lines)


STATISTICS = ("mean", "std", "sem", "n", "diff", "diff_low", "diff_high", "diff_excludes_0")


def statistic_columns(metrics: list[str]) -> list[str]:
    """'<metric> <statistic>' for every metric: see row_statistics."""
    return [f"{m} {s}" for m in metrics for s in STATISTICS]


def row_statistics(row: Row, metrics: list[str], reference: Reference | None) -> list:
    """Per metric: mean, std, standard error, n and row - its reference row with its 95% Welch bounds ('' without
    a reference or for the reference itself) and whether the interval excludes 0."""
    values = []
    reference = reference.of(row) if reference is not None else None
    for metric in metrics:
        summary = row.summary(metric)
        values += [summary.mean, summary.std, summary.sem, summary.n]
        if reference is None or row is reference:
            values += ["", "", "", ""]
        else:
            found = difference(row, reference, metric)
            values += [found.estimate, found.low, found.high, int(found.excludes_zero)]
    return values


def write_csv(rows: list[Row], runs: list[Run], metrics: list[str], out_dir: Path, reference: Reference | None = None
              ) -> None:
    """results.csv (one row per technique: row_statistics) and runs.csv (one row per run)."""
    label_keys = list(rows[0].labels) if rows else []
    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*label_keys, *statistic_columns(metrics), "ok", "not ok"])
        for row in rows:
            writer.writerow([*row.labels.values(), *row_statistics(row, metrics, reference), len(row.ok),
                             len(row.runs) - len(row.ok)])
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
    """Bar chart of the mean of `metric` per row with standard-error bars, each seed's value as a dot."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1), 3.6), layout="constrained")
    summaries = [row.summary(metric) for row in rows]
    means, stds = [s.mean for s in summaries], [s.sem for s in summaries]
    positions = range(len(rows))
    ax.bar(positions, [0 if math.isnan(m) else m for m in means],
           yerr=[0 if math.isnan(s) else s for s in stds], capsize=4, color="tab:blue", alpha=0.7)
    for i, row in enumerate(rows):
        values = row.values(metric)
        ax.plot([i] * len(values), values, "k.", markersize=5)
    ax.set_xticks(list(positions), [_label(r) for r in rows], rotation=30, ha="right")
    ax.set_ylabel(metric)
    ax.set_title("mean ± standard error over seeds\n(dots: single runs)", fontsize=10)  # two lines: fits two bars
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
                    save_dir: Path, mode: str, reference: Reference | None = None) -> None:
    """The aggregate table (and plots) as a W&B run of its own, job_type `aggregate`, in the sweep's group."""
    import wandb

    label_keys = list(rows[0].labels) if rows else []
    columns = [*label_keys, *statistic_columns(metrics), "ok", "runs"]
    table = wandb.Table(columns=columns)
    for row in rows:
        stats = [None if v == "" else v for v in row_statistics(row, metrics, reference)]
        table.add_data(*row.labels.values(), *stats, len(row.ok), len(row.runs))
    run = wandb.init(project=project, group=group, job_type="aggregate", name=f"{group or 'sweep'} results",
                     dir=str(Path(save_dir).absolute()), mode=mode, reinit="create_new")  # absolute: a shared
    # wandb-core service (WANDB_SERVICE inherited from a parent process) resolves a relative dir in its own cwd
    run.log({"results": table, **{f"pictures/{p.stem}": wandb.Image(str(p)) for p in images if p.is_file()}})
    run.finish()
