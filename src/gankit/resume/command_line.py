"""Before Hydra starts: which run directory and overrides a resume continues.

`ckpt_path=last` continues the newest run under the configured output pattern (`outputs/*/*` by default; with
`-m`, the newest sweep, each job from its own subdirectory): the run's own directory, its overrides (the
ones given now added on top). `ckpt_path=PATH` inside a run directory does the same for that run. With
`hydra.run.dir=DIR ckpt_path=last` the command line is left as it is: DIR's checkpoint is resumed if there is
one (checkpoint.py), otherwise a new run starts there (a command a preemptible job can repeat unchanged).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from gankit.errors import ConfigError
from gankit.resume import LAST


def _key(override: str) -> str:
    parsed = OverridesParser.create().parse_overrides([override])[0]
    return parsed.key_or_group


def _value(args: list[str], key: str) -> str | None:
    values = [a.split("=", 1)[1] for a in args if "=" in a and a.split("=", 1)[0].lstrip("+~") == key]
    return values[-1] if values else None


def _pattern(conf_dir: Path, args: list[str], node: str) -> str:
    """hydra.run.dir (or hydra.sweep.dir) with every ${...} as a glob star: outputs/*/*."""
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
        cfg = compose("train", overrides=[a for a in args if a.startswith(("hydra.", "hydra/"))],
                      return_hydra_config=True)
    return re.sub(r"\$\{[^}]*\}", "*", OmegaConf.to_container(cfg.hydra, resolve=False)[node]["dir"])


def latest(paths: list[Path]) -> Path | None:
    return max(paths, key=lambda p: p.stat().st_mtime) if paths else None


def continue_run(conf_dir: Path, args: list[str]) -> list[str]:
    """The command-line overrides that resume the run `ckpt_path` points into (`args` unchanged otherwise)."""
    ckpt = _value(args, "ckpt_path")
    if ckpt in (None, "null") or any(a.startswith("-") and a not in ("-m", "--multirun") for a in args):
        return args
    if "-m" in args or "--multirun" in args:
        if ckpt != "last" or _value(args, "hydra.sweep.dir") is not None:
            return args
        pattern = _pattern(conf_dir, args, "sweep")
        sweep = latest([p.parent.parent.parent for p in Path().glob(f"{pattern}/*/{LAST}")])
        if sweep is None:
            raise ConfigError(f"ckpt_path=last: no sweep with a checkpoint under {pattern}/*/{LAST}; "
                              "start the sweep without ckpt_path, or give hydra.sweep.dir=DIR")
        return [*args, f"hydra.sweep.dir={sweep}"]
    if _value(args, "hydra.run.dir") is not None:  # the directory is given: resume it if it has a checkpoint
        return args
    if ckpt == "last":
        pattern = _pattern(conf_dir, args, "run")
        found = latest(list(Path().glob(f"{pattern}/{LAST}")))
        if found is None:
            raise ConfigError(f"ckpt_path=last: no run with a checkpoint under {pattern}/{LAST}; "
                              "start a run without ckpt_path, or give the file with ckpt_path=PATH")
        run_dir = found.parent.parent
    else:
        run_dir = Path(ckpt).parent.parent
        if not (run_dir / ".hydra" / "overrides.yaml").is_file():
            return args  # a checkpoint outside a run directory: a new run starts from it
    return [*inherited(run_dir, args), *args, f"hydra.run.dir={run_dir}"]


def inherited(run_dir: Path, args: list[str]) -> list[str]:
    """The run's own overrides, less those given again now (and its ckpt_path)."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    given = {_key(a) for a in args if not a.startswith("-")} | {"ckpt_path"}
    return [o for o in (yaml.safe_load(path.read_text()) or []) if _key(o) not in given]
