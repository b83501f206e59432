"""Launching a study: conf/sweep/NAME.yaml (fixed overrides, axes) as one `python train.py -m` Hydra multirun,
then its aggregate."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from gankit.errors import ConfigError
from gankit.sweeps.aggregate import aggregate


def load_study(studies: Path, name: str):
    """studies/NAME.yaml (conf/sweep/): description, overrides (every run), axes (key: [values]), metrics, main."""
    path = studies / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in studies.glob("*.yaml")))
        raise ConfigError(f"unknown study {name!r}; choose one of: {choices}")
    study = OmegaConf.load(path)
    if not study.get("axes"):
        raise ConfigError(f"{path.name} declares no axes; add e.g. `axes: {{seed: [0, 1, 2]}}`")
    return study


def study_launcher(study) -> str | None:
    """The study's own `hydra/launcher=...` override (None: Hydra's default)."""
    return next((o for o in study.get("overrides", []) if o.partition("=")[0] == "hydra/launcher"), None)


def launch_command(train_script: Path, name: str, study, extra: list[str], sweep_dir: Path) -> list[str]:
    """`python train.py -m ...` for the study: fixed overrides, one sweep override per axis, labels."""
    axes = {str(key): ",".join(map(str, values)) for key, values in study.axes.items()}
    fixed = {override.partition("=")[0]: override for override in study.get("overrides", [])}
    given = {override.partition("=")[0] for override in extra}
    rest = []
    for override in extra:
        key, _, value = override.partition("=")
        if key in axes:
            axes[key] = value  # seed=0,1 narrows or widens an axis
        elif key in fixed:
            fixed[key] = override  # the user's value for a key the study sets (Hydra refuses a key twice)
        else:
            rest.append(override)
    if fixed.get("hydra/launcher") != study_launcher(study):  # another launcher: the study's settings were its own
        fixed = {k: v for k, v in fixed.items() if k in given or not k.lstrip("+~").startswith("hydra.launcher.")}
    return [sys.executable, str(train_script), "-m", *fixed.values(),
            *(f"{k}={v}" for k, v in axes.items()), f"study.name={name}",
            f"study.axes=[{','.join(axes)}]", f"hydra.sweep.dir={sweep_dir}", *rest]


def run_study(root: Path, name: str, extra: list[str]) -> int:
    """Launch conf/sweep/NAME.yaml of the repository at `root` with `extra` overrides, then aggregate it."""
    study = load_study(root / "conf" / "sweep", name)
    chosen = [o.partition("=")[2] for o in extra if o.startswith("hydra.sweep.dir=")]
    sweep_dir = Path(chosen[-1] if chosen else f"sweeps/{name}/{datetime.now():%Y-%m-%d_%H-%M-%S}")
    extra = [o for o in extra if not o.startswith("hydra.sweep.dir=")]
    command = launch_command(root / "train.py", name, study, extra, sweep_dir)
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
