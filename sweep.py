"""Run a named comparison and turn it into tables and plots (see README.md, "Comparing techniques").

    python sweep.py study=NAME [key=value ...]   launch conf/sweep/NAME.yaml as a Hydra multirun, then aggregate
    python sweep.py aggregate DIR                 re-aggregate a sweep directory (also a plain `train.py -m` one)
    python sweep.py dashboard DIR                 a W&B workspace for the sweep (offline: its specification)
    python sweep.py list                          the studies

Extra key=value pairs go to every run; one whose key is an axis replaces that axis' values
(`seed=0,1`), and `hydra.sweep.dir=DIR` chooses the sweep directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from gankit import report
from gankit.errors import ConfigError
from gankit.montage import write_montage

ROOT = Path(__file__).resolve().parent
STUDIES = ROOT / "conf" / "sweep"
USAGE = ("usage: python sweep.py study=NAME [key=value ...] | python sweep.py aggregate DIR | "
         "python sweep.py dashboard DIR | python sweep.py list")


def load_study(name: str):
    """conf/sweep/NAME.yaml: description, overrides (every run), axes (key: [values]), metrics, main."""
    path = STUDIES / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in STUDIES.glob("*.yaml")))
        raise ConfigError(f"unknown study {name!r}; choose one of: {choices}")
    study = OmegaConf.load(path)
    if not study.get("axes"):
        raise ConfigError(f"{path.name} declares no axes; add e.g. `axes: {{seed: [0, 1, 2]}}`")
    return study


def launch_command(name: str, study, extra: list[str], sweep_dir: Path) -> list[str]:
    """`python train.py -m ...` for the study: fixed overrides, one sweep override per axis, labels."""
    axes = {str(key): ",".join(map(str, values)) for key, values in study.axes.items()}
    rest = []
    for override in extra:
        key, _, value = override.partition("=")
        if key in axes:
            axes[key] = value  # seed=0,1 narrows or widens an axis
        else:
            rest.append(override)
    return [sys.executable, str(ROOT / "train.py"), "-m", *study.get("overrides", []),
            *(f"{k}={v}" for k, v in axes.items()), f"study.name={name}",
            f"study.axes=[{','.join(axes)}]", f"hydra.sweep.dir={sweep_dir}", *rest]


def run_study(name: str, extra: list[str]) -> int:
    study = load_study(name)
    chosen = [o.partition("=")[2] for o in extra if o.startswith("hydra.sweep.dir=")]
    sweep_dir = Path(chosen[-1] if chosen else f"sweeps/{name}/{datetime.now():%Y-%m-%d_%H-%M-%S}")
    extra = [o for o in extra if not o.startswith("hydra.sweep.dir=")]
    command = launch_command(name, study, extra, sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    shown = " ".join(["python train.py", *command[2:]])
    OmegaConf.save({"study": name, "command": shown, "sweep": " ".join(["python sweep.py", f"study={name}", *extra]),
                    **OmegaConf.to_container(study)}, sweep_dir / "sweep.yaml")
    print(f"sweep {name}: {shown}", flush=True)
    launched = subprocess.run(command, cwd=os.getcwd())
    if launched.returncode != 0:
        print(f"sweep {name}: some runs failed (exit {launched.returncode}); aggregating what there is",
              file=sys.stderr)
    return aggregate(sweep_dir)


def _run_config(runs: list[report.Run]):
    for run in runs:
        if run.directory is not None and (run.directory / ".hydra" / "config.yaml").is_file():
            return OmegaConf.load(run.directory / ".hydra" / "config.yaml")
    return OmegaConf.create({})


def _columns(study, config, runs: list[report.Run]) -> list[str]:
    """The table's metrics: the study's list, else the main metric then every other eval/ value."""
    main = study.get("main") or OmegaConf.select(config, "metrics.main", default=None)
    if study.get("metrics"):
        listed = [str(m) for m in study.metrics]
        return listed if main is None or main in listed else [main, *listed]
    found = sorted({k for r in runs for k in r.metrics if k.startswith("eval/") and k != "eval/seconds"})
    columns = [main, *(m for m in found if m != main)] if main else found
    return columns or ["train/g_loss"]


def _load_sweep(sweep_dir: Path):
    """(axes, runs, the study spec sweep.py saved (empty for a plain multirun), one run's config) of a sweep dir."""
    axes, runs = report.load_runs(sweep_dir)
    spec_file = sweep_dir / "sweep.yaml"
    study = OmegaConf.load(spec_file) if spec_file.is_file() else OmegaConf.create({})
    return axes, runs, study, _run_config(runs)


def aggregate(sweep_dir: Path) -> int:
    """Tables (results.md, results.csv, runs.csv) and plots into sweep_dir; 1 when any run did not finish."""
    sweep_dir = Path(sweep_dir)
    axes, runs, study, config = _load_sweep(sweep_dir)
    metrics = list(dict.fromkeys(_columns(study, config, runs)))
    rows = report.group_runs(runs, axes)
    reference, note = report.choose_reference(rows, study.get("reference"))
    published = report.published_values(study)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    main = metrics[0]
    images = [sweep_dir / "comparison.png", sweep_dir / "history.png"]
    report.plot_bars(rows, main, images[0])
    report.plot_history(rows, main, images[1])
    if write_montage(rows, sweep_dir / "samples.png", main):
        images.append(sweep_dir / "samples.png")
    report.write_csv(rows, runs, metrics, sweep_dir, reference)
    table = report.markdown_table(rows, metrics, reference, published)
    failed = report.failures(runs)
    title = study.get("study") or sweep_dir.name
    seeds = report.SEED_AXIS in axes
    text = "\n".join([
        f"# {title}", "", str(study.get("description", "")).strip(), "",
        f"{'Over seeds' if seeds else 'One run each (no seed axis)'}; main metric {main}.", "", table, "",
        report.table_notes(rows, reference, published, note), "",
        *(["Runs that did not finish:", "", *(f"- {f}" for f in failed), ""] if failed else []),
        f"Reproduce: `{study.get('sweep', 'see multirun.yaml')}`", "",
    ])
    (sweep_dir / "results.md").write_text(text)
    print(text)
    print(f"written: {', '.join(p.name for p in [*images, sweep_dir / 'results.md'])}, results.csv, runs.csv "
          f"in {sweep_dir}")
    if "WandbLogger" in str(OmegaConf.select(config, "logger._target_", default="")):
        report.log_wandb_table(rows, metrics, images, project=str(config.logger.get("project", "gankit")),
                               group=OmegaConf.select(config, "study.name", default=None) or str(sweep_dir),
                               save_dir=sweep_dir, mode=os.environ.get("WANDB_MODE", "offline"),
                               reference=reference)
    return 1 if failed else 0


def dashboard(sweep_dir: Path) -> int:
    """A W&B workspace for the sweep: offline its specification in dashboard.json; online saved, its URL printed."""
    from gankit import dashboard as board

    sweep_dir = Path(sweep_dir)
    axes, runs, study, config = _load_sweep(sweep_dir)
    if "WandbLogger" not in str(OmegaConf.select(config, "logger._target_", default="")):
        raise ConfigError(f"the runs of {sweep_dir} did not log to W&B (logger={config.get('logger')}); "
                          "a dashboard needs logger=wandb")
    group = OmegaConf.select(config, "study.name", default=None) or str(sweep_dir)
    project = str(config.logger.get("project") or "gankit")
    online = os.environ.get("WANDB_MODE", str(config.logger.get("mode") or "offline")) == "online"
    entity = config.logger.get("entity") or os.environ.get("WANDB_ENTITY")
    if online and not entity:
        import wandb

        try:
            entity = wandb.Api().default_entity
        except Exception as error:  # no API key: one line
            raise ConfigError(f"cannot publish the dashboard: {str(error).splitlines()[0]} (or set WANDB_API_KEY); "
                              f"without WANDB_MODE=online it writes {sweep_dir / 'dashboard.json'} instead") from error
    metrics = list(dict.fromkeys(_columns(study, config, runs)))
    workspace = board.build_workspace(entity=str(entity or "ENTITY"), project=project, group=group, axes=axes,
                                      metrics=metrics)
    path = board.write_specification(workspace, sweep_dir / "dashboard.json")
    if not online:
        print(f"dashboard: wrote the W&B workspace specification to {path} (group {group!r}, project {project!r}, "
              f"grouped by {', '.join(a for a in axes if a != report.SEED_AXIS) or 'nothing'}). To publish it: "
              f"`wandb sync {sweep_dir}/*/wandb/offline-run-* {sweep_dir}/wandb/offline-run-*`, then "
              f"`WANDB_MODE=online python sweep.py dashboard {sweep_dir}` after `wandb login`"
              + ("" if entity else " (set logger.entity or WANDB_ENTITY, else your default entity is used)"))
        return 0
    try:
        url = board.publish(workspace)
    except Exception as error:  # no login, no network, no such project: say so in one line
        raise ConfigError(f"could not publish the dashboard to W&B ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''}); its specification is in {path}") \
            from error
    print(f"dashboard: {url}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        for path in sorted(STUDIES.glob("*.yaml")):
            description = " ".join(str(OmegaConf.load(path).get("description", "")).split())
            print(f"{path.stem:16} {description.split('. ')[0]}")
        return 0
    if argv[:1] == ["aggregate"] and len(argv) == 2:
        return aggregate(Path(argv[1]))
    if argv[:1] == ["dashboard"] and len(argv) == 2:
        return dashboard(Path(argv[1]))
    if argv and argv[0].startswith("study="):
        return run_study(argv[0].partition("=")[2], argv[1:])
    raise ConfigError(USAGE)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
