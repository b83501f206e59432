"""Aggregating a sweep directory: its tables (results.md, results.csv, runs.csv), plots (comparison.png,
history.png, samples.png) and, for W&B runs, a W&B table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from omegaconf import OmegaConf

from gankit.sweeps import report
from gankit.sweeps.montage import write_montage
from gankit.sweeps.runs import SEED_AXIS, Run, failures, group_runs, load_runs


def _run_config(runs: list[Run]):
    for run in runs:
        if run.directory is not None and (run.directory / ".hydra" / "config.yaml").is_file():
            return OmegaConf.load(run.directory / ".hydra" / "config.yaml")
    return OmegaConf.create({})


def columns(study, config, runs: list[Run]) -> list[str]:
    """The table's metrics: the study's list, else the main metric then every other eval/ value."""
    main = study.get("main") or OmegaConf.select(config, "metrics.main", default=None)
    if study.get("metrics"):
        listed = [str(m) for m in study.metrics]
        return listed if main is None or main in listed else [main, *listed]
    found = sorted({k for r in runs for k in r.metrics if k.startswith("eval/") and k != "eval/seconds"})
    columns = [main, *(m for m in found if m != main)] if main else found
    return columns or ["train/g_loss"]


def load_sweep(sweep_dir: Path, metrics_name: str = "metrics.json"):
    """(axes, runs, the study spec sweep.py saved (empty for a plain multirun), one run's config) of a sweep dir."""
    axes, runs = load_runs(sweep_dir, metrics_name)
    spec_file = sweep_dir / "sweep.yaml"
    study = OmegaConf.load(spec_file) if spec_file.is_file() else OmegaConf.create({})
    return axes, runs, study, _run_config(runs)


def aggregate(sweep_dir: Path, metrics_name: str = "metrics.json", out_dir: Path | None = None) -> int:
    """Tables (results.md, results.csv, runs.csv) and plots into `out_dir` (the sweep directory by default) from
    each run's `metrics_name`; 1 when any run did not finish."""
    sweep_dir = Path(sweep_dir)
    axes, runs, study, config = load_sweep(sweep_dir, metrics_name)
    out_dir = Path(out_dir) if out_dir is not None else sweep_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = list(dict.fromkeys(columns(study, config, runs)))
    rows = group_runs(runs, axes)
    reference, note = report.choose_reference(rows, study.get("reference"))
    published = report.published_values(study)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    main = metrics[0]
    images = [out_dir / "comparison.png", out_dir / "history.png"]
    report.plot_bars(rows, main, images[0])
    report.plot_history(rows, main, images[1])
    if write_montage(rows, out_dir / "samples.png", main):
        images.append(out_dir / "samples.png")
    report.write_csv(rows, runs, metrics, out_dir, reference)
    table = report.markdown_table(rows, metrics, reference, published)
    failed = failures(runs)
    title = study.get("study") or sweep_dir.name
    seeds = SEED_AXIS in axes
    text = "\n".join([
        f"# {title}", "", str(study.get("description", "")).strip(), "",
        f"{'Over seeds' if seeds else 'One run each (no seed axis)'}; main metric {main}.", "", table, "",
        report.table_notes(rows, reference, published, note), "",
        *(["Runs that did not finish:", "", *(f"- {f}" for f in failed), ""] if failed else []),
        f"Reproduce: `{study.get('sweep', 'see multirun.yaml')}`", "",
    ])
    (out_dir / "results.md").write_text(text)
    print(text)
    print(f"written: {', '.join(p.name for p in [*images, out_dir / 'results.md'])}, results.csv, runs.csv "
          f"in {out_dir}")
    if "WandbLogger" in str(OmegaConf.select(config, "logger._target_", default="")):
        report.log_wandb_table(rows, metrics, images, project=str(config.logger.get("project", "gankit")),
                               group=OmegaConf.select(config, "study.name", default=None) or str(sweep_dir),
                               save_dir=out_dir, mode=os.environ.get("WANDB_MODE", "offline"),
                               reference=reference)
    return 1 if failed else 0
