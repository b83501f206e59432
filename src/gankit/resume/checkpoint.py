"""Inside the run: the checkpoint `ckpt_path` names, whether it fits the model, and which W&B run it continues.

`ckpt_path=last` (or a requeued SLURM job, SLURM_RESTART_COUNT > 0) resumes the run directory's `last.ckpt` when
there is one; `ckpt_path=PATH` resumes that file. Which directory the run writes into was settled before Hydra
started (command_line.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig
from torch import nn

from gankit import arguments
from gankit.checkpoint_io import load_safely
from gankit.errors import ConfigError
from gankit.resume import LAST
from gankit.resume.command_line import checked_file
from gankit.resume.state import saved_wandb_run_id

log = logging.getLogger(__name__)


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
    return checked_file(Path(str(value)))


def requeued(cfg: DictConfig) -> Path | None:
    """The run directory's last.ckpt when this is a SLURM job SLURM restarted (requeued after a preemption or
    a time-limit notice) and the interrupted attempt saved one; None otherwise."""
    restarts = arguments.environment_integer("SLURM_RESTART_COUNT")
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


def logger_overrides(logger: DictConfig, checkpoint: dict | None) -> dict:
    """What a logger needs to continue the checkpoint's run: W&B its run (a config with an `id` key; an id set
    there wins), the CSV logger the step its rows continue after (a config with a `continue_after` key)."""
    if checkpoint is None:
        return {}
    overrides = {}
    run_id = saved_wandb_run_id(checkpoint)
    if run_id is not None and "id" in logger and logger.get("id") is None:
        overrides.update(id=run_id, resume="allow")
    if "continue_after" in logger and logger.get("continue_after") is None:
        overrides["continue_after"] = int(checkpoint.get("global_step", 0))
    return overrides
