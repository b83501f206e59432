"""Resuming a run: which checkpoint `ckpt_path` names, whether it fits the model, and which run it continues.

`ckpt_path=last` continues the newest run under the configured output pattern (`outputs/*/*` by default; with
`-m`, the newest sweep, each job from its own subdirectory): the run's own directory, its overrides (the
ones given now added on top) and its W&B run id. `ckpt_path=PATH` inside a run directory does the same for
that run. With `hydra.run.dir=DIR ckpt_path=last`, DIR's checkpoint is resumed if there is one, otherwise
a new run starts there (a command a preemptible job can repeat unchanged). A SLURM job that was requeued
(SLURM_RESTART_COUNT > 0) resumes its run directory's checkpoint without being asked.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf
from torch import nn

from gankit.checkpoint_io import load_safely
from gankit.errors import ConfigError

log = logging.getLogger(__name__)
LAST = "checkpoints/last.ckpt"  # a run directory's latest checkpoint (conf/callbacks: checkpoint.dirpath)


# --- before Hydra starts: which run directory and overrides a resume continues -----------------------


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


# --- inside the run: the checkpoint itself -------------------------------------------------------------


def checkpoint_path(cfg: DictConfig) -> Path | None:
    """The checkpoint this run resumes from, or None (ckpt_path unset, or `last` with no checkpoint yet)."""
    value = cfg.get("ckpt_path")
    if value is None:
        return requeued(cfg)
    if str(value) == "last":
        path = Path(cfg.paths.output_dir) / LAST
        if not path.is_file():
            log.info("ckpt_path=last: no checkpoint in %s yet, starting a new run there", cfg.paths.output_dir)
            return None
        return path
    path = Path(str(value))
    if path.is_dir():
        raise ConfigError(f"ckpt_path={value} is a folder; give its checkpoints/last.ckpt (or ckpt_path=last)")
    return path


def requeued(cfg: DictConfig) -> Path | None:
    """The run directory's last.ckpt when this is a SLURM job SLURM restarted (requeued after a preemption or
    a time-limit notice) and the interrupted attempt saved one; None otherwise."""
    restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
    path = Path(cfg.paths.output_dir) / LAST
    if restarts < 1 or not path.is_file():
        return None
    log.warning("SLURM job %s restarted (%d): resuming from %s", os.environ.get("SLURM_JOB_ID"), restarts, path)
    return path


def read(path: Path) -> dict:
    """The checkpoint's contents; missing, corrupt or unsafe files give one ConfigError line."""
    checkpoint = load_safely(path)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise ConfigError(f"ckpt_path={path} is not a Lightning checkpoint (it has no state_dict)")
    return checkpoint


def check_fits(checkpoint: dict, gan: nn.Module, path: Path) -> None:
    """ConfigError unless the checkpoint's weights load into `gan` exactly (names and shapes)."""
    saved, own = checkpoint["state_dict"], gan.state_dict()
    problems = [f"{k} is {list(v.shape)} there, {list(own[k].shape)} here"
                for k, v in saved.items() if k in own and hasattr(v, "shape") and v.shape != own[k].shape]
    if not problems:
        result = gan.load_state_dict(saved, strict=False)  # registers lazily created buffers too
        problems = [f"{k} is missing there" for k in result.missing_keys]
        problems += [f"{k} is not in this model" for k in result.unexpected_keys]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(
            f"ckpt_path={path} was saved by another model: {problems[0]}{more}; resume with the overrides "
            "it was trained with (its run's .hydra/overrides.yaml)"
        )


def wandb_run_id(checkpoint: dict | None) -> str | None:
    return ((checkpoint or {}).get("gankit") or {}).get("wandb_run_id")


def logger_overrides(logger: DictConfig, checkpoint: dict | None) -> dict:
    """The W&B run of the checkpoint, continued (a logger config with an `id` key; an id set there wins)."""
    run_id = wandb_run_id(checkpoint)
    if run_id is None or "id" not in logger or logger.get("id") is not None:
        return {}
    return {"id": run_id, "resume": "allow"}
