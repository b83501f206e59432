"""Before Hydra starts: which run directory and overrides a resume continues, and what it may not do to a run.

`ckpt_path=last` continues the newest run under the configured output pattern (`outputs/*/*` by default; with
`-m`, the newest sweep, each job from its own subdirectory); `hydra.run.dir=DIR ckpt_path=last` continues DIR's
run (or starts a new run there when DIR has no checkpoint yet: a command a preemptible job can repeat unchanged);
`ckpt_path=PATH` inside a run directory continues that run. A continued run is rebuilt from its own record: the
overrides of its newest `.hydra/` record, the ones given now added on top.

Every run directory keeps its record: Hydra writes a resume's own config and command beside the original, in
`.hydra/resume_<N>/` (the run's `.hydra/*.yaml` stay as it was trained). A finished run (its `metrics.json` at
`trainer.max_steps`) is refused in one line here, before anything is written; continuing it needs a larger
`trainer.max_steps`. A new run is never started in a directory that already holds one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from gankit.errors import ConfigError
from gankit.resume import LAST

RECORD = ".hydra"  # Hydra's hydra.output_subdir: the run's config.yaml, hydra.yaml and overrides.yaml
RESUME_RECORD = "resume_"  # .hydra/resume_<N>/: the record of the N-th resume of the run


def _key(override: str) -> str:
    parsed = OverridesParser.create().parse_overrides([override])[0]
    return parsed.key_or_group


def _value(args: list[str], key: str) -> str | None:
    values = [a.split("=", 1)[1] for a in args if "=" in a and a.split("=", 1)[0].lstrip("+~") == key]
    return values[-1] if values else None


def _compose(conf_dir: Path, overrides: list[str], hydra: bool = False):
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
        return compose("train", overrides=overrides, return_hydra_config=hydra)


def _pattern(conf_dir: Path, args: list[str], node: str) -> str:
    """hydra.run.dir (or hydra.sweep.dir) with every ${...} as a glob star: outputs/*/*."""
    cfg = _compose(conf_dir, [a for a in args if a.startswith(("hydra.", "hydra/"))], hydra=True)
    return re.sub(r"\$\{[^}]*\}", "*", OmegaConf.to_container(cfg.hydra, resolve=False)[node]["dir"])


def latest(paths: list[Path]) -> Path | None:
    return max(paths, key=lambda p: p.stat().st_mtime) if paths else None


def holds_a_run(folder: Path) -> bool:
    """Whether `folder` holds what a run wrote (its record, a checkpoint or its final metrics)."""
    return any((folder / name).exists() for name in (RECORD, LAST, "metrics.json"))


def continue_run(conf_dir: Path, args: list[str], steps_key: str) -> list[str]:
    """The command-line overrides that resume the run `ckpt_path` points into (`args` unchanged otherwise).
    `steps_key`: the config key of the run's length in optimizer steps (a finished run is refused)."""
    ckpt = _value(args, "ckpt_path")
    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in args):
        return args
    if "-m" in args or "--multirun" in args:
        return continue_sweep(conf_dir, args, ckpt)
    given = _value(args, "hydra.run.dir")
    if ckpt in (None, "null"):
        if given is not None and holds_a_run(Path(given)):
            raise ConfigError(f"hydra.run.dir={given} already holds a run; continue it with ckpt_path=last, or "
                              "give a new directory (nothing there was changed)")
        return args
    if ckpt == "last":
        if given is not None:
            if not (Path(given) / LAST).is_file():
                return args  # a new run there (gankit.resume.checkpoint logs it)
            source = Path(given)
        else:
            pattern = _pattern(conf_dir, args, "run")
            found = latest(list(Path().glob(f"{pattern}/{LAST}")))
            if found is None:
                raise ConfigError(f"ckpt_path=last: no run with a checkpoint under {pattern}/{LAST}; "
                                  "start a run without ckpt_path, or give the file with ckpt_path=PATH")
            source = found.parent.parent
    else:
        checkpoint = checked_file(Path(ckpt))
        source = checkpoint.parent.parent
        if not (source / RECORD / "overrides.yaml").is_file():
            return args  # a checkpoint outside a run directory: a new run starts from it
    target = Path(given) if given is not None else source
    overrides = [*inherited(source, args), *args]
    if target.resolve() != source.resolve():  # a new run from another run's checkpoint
        if holds_a_run(target):
            raise ConfigError(f"hydra.run.dir={given} already holds a run; give a new directory to start from "
                              f"{ckpt}, or ckpt_path=last to continue the run there")
        return overrides
    if ckpt == "last" or checkpoint.resolve() == (source / LAST).resolve():
        refuse_finished(conf_dir, overrides, source, steps_key)
    return [*overrides, *([] if given is not None else [f"hydra.run.dir={source}"]),
            f"hydra.output_subdir={RECORD}/{RESUME_RECORD}{resumes([source]) + 1}"]


def continue_sweep(conf_dir: Path, args: list[str], ckpt: str | None) -> list[str]:
    """`-m ... ckpt_path=last`: the newest sweep with a checkpoint, each job's resume record beside its own."""
    if ckpt != "last":
        return args
    sweep = _value(args, "hydra.sweep.dir")
    if sweep is None:
        pattern = _pattern(conf_dir, args, "sweep")
        found = latest([p.parent.parent.parent for p in Path().glob(f"{pattern}/*/{LAST}")])
        if found is None:
            raise ConfigError(f"ckpt_path=last: no sweep with a checkpoint under {pattern}/*/{LAST}; "
                              "start the sweep without ckpt_path, or give hydra.sweep.dir=DIR")
        args = [*args, f"hydra.sweep.dir={found}"]
        sweep = str(found)
    number = resumes([p for p in Path(sweep).iterdir() if p.is_dir()] if Path(sweep).is_dir() else []) + 1
    return [*args, f"hydra.output_subdir={RECORD}/{RESUME_RECORD}{number}"]


def checked_file(path: Path) -> Path:
    """`ckpt_path=PATH` names a file (a folder: one line with the file to give)."""
    if not path.is_dir():
        return path
    for candidate in (path / LAST, path / Path(LAST).name):
        if candidate.is_file():
            raise ConfigError(f"ckpt_path={path} is a folder; give the file ckpt_path={candidate} "
                              "(or ckpt_path=last)")
    raise ConfigError(f"ckpt_path={path} is a folder with no {Path(LAST).name}; give a .ckpt file "
                      "(or ckpt_path=last)")


def resumes(run_dirs: list[Path]) -> int:
    """How many resume records the runs hold (the highest N of their `.hydra/resume_<N>/`)."""
    numbers = [int(p.name.removeprefix(RESUME_RECORD)) for run in run_dirs
               for p in (run / RECORD).glob(f"{RESUME_RECORD}*") if p.name.removeprefix(RESUME_RECORD).isdigit()]
    return max(numbers, default=0)


def newest_record(run_dir: Path) -> Path:
    """The overrides of the run's newest command: its last resume's, or the original's."""
    number = resumes([run_dir])
    folder = run_dir / RECORD / (f"{RESUME_RECORD}{number}" if number else "")
    return folder / "overrides.yaml"


def inherited(run_dir: Path, args: list[str]) -> list[str]:
    """The run's own overrides (its newest record), less those given again now (and its ckpt_path)."""
    path = newest_record(run_dir)
    if not path.is_file():
        return []
    given = {_key(a) for a in args if not a.startswith("-")} | {"ckpt_path"}
    return [o for o in (yaml.safe_load(path.read_text()) or []) if _key(o) not in given]


def finished_at(run_dir: Path) -> int | None:
    """The step a run finished at (its metrics.json), or None when it has not finished."""
    try:
        step = json.loads((run_dir / "metrics.json").read_text()).get("step")
    except (OSError, ValueError, AttributeError):
        return None
    return step if isinstance(step, int) else None


def refuse_finished(conf_dir: Path, overrides: list[str], run_dir: Path, steps_key: str) -> None:
    """ConfigError when the run finished at or beyond the length (`steps_key`) this command asks for."""
    step = finished_at(run_dir)
    if step is None:
        return
    try:
        max_steps = OmegaConf.select(_compose(conf_dir, overrides), steps_key)
    except Exception:
        return  # the composition error is reported by the checks that follow, in one line
    message = finished_message(run_dir, step, max_steps, steps_key)
    if message:
        raise ConfigError(message)


def finished_message(run_dir: Path, step, max_steps, steps_key: str) -> str | None:
    """Why a run at `step` has nothing to train up to `max_steps` (-1: no limit), or None when it has."""
    if not (isinstance(step, int) and isinstance(max_steps, int) and 0 <= max_steps <= step):
        return None
    return (f"the run in {run_dir} finished at step {step} ({steps_key}={max_steps}); to continue it, give a "
            f"larger {steps_key} (e.g. {steps_key}={2 * step}); nothing was changed")
