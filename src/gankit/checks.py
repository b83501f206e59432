"""Input checks that run before anything heavy: command-line group choices, overrides that do not compose,
and config values. Checks that need a built object live beside it and raise the same ConfigError (image
sizes in models/dcgan.py, data folders in data/sources.py and data/folder.py, batch sizes against the data
in the datamodules' setup, checkpoints in resume/checkpoint.py, Inception weights in metrics/inception.py)."""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from lightning.fabric.plugins.precision.precision import _PRECISION_INPUT
from omegaconf import DictConfig, OmegaConf

from gankit.errors import ConfigError


def group_options(conf_dir: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


def _chosen(override) -> Iterable[str]:
    values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [
        override.value()
    ]
    for value in values:
        if isinstance(value, list):
            yield from map(str, value)
        elif isinstance(value, str):
            yield from (v.strip() for v in value.strip("[]").split(",") if v.strip())


def check_group_choices(conf_dir: Path, overrides: list[str]) -> None:
    """Unknown options such as model=foo -> ConfigError naming the valid choices."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # malformed syntax: Hydra reports it with its own message
        return
    for override in parsed:
        group = override.key_or_group
        if override.is_delete() or group.startswith("hydra/") or not (conf_dir / group).is_dir():
            continue  # hydra/... groups also hold plugins' options (joblib, optuna): Hydra checks those
        options = group_options(conf_dir, group)
        for choice in _chosen(override):
            if choice not in options:
                raise ConfigError(
                    f"unknown option {group}={choice}; choose one of: {', '.join(options)}"
                )


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _unknown_key(conf_dir: Path, overrides: list[str], bad: str) -> str:
    """`unknown key gan.dsteps=2; gan has: d_steps, ...` with the closest spelling first."""
    given = next((o for o in overrides if o.split("=", 1)[0] == bad), bad)
    parent, _, leaf = bad.rpartition(".")
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            cfg = compose("train", overrides=[o for o in overrides if o.split("=", 1)[0] != bad])
        node = OmegaConf.select(cfg, parent) if parent else cfg
        keys = sorted(str(k) for k in node.keys()) if isinstance(node, DictConfig) else []
    except Exception:  # another override is wrong too: report this one without the list
        keys = []
    close = difflib.get_close_matches(leaf, keys, n=1)
    hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
    where = f"{parent or 'the config'} has: {', '.join(keys)}; " if keys else ""
    return f"unknown key {given}; {hint}{where}add a new key with +{given} only if its target takes it"


def check_composes(conf_dir: Path, overrides: list[str]) -> None:
    """Hydra's multi-line composition errors (a misspelt key, malformed syntax) as one ConfigError line.
    Multirun sweeps and --flags are left to Hydra."""
    if any(o.startswith("-") for o in overrides):
        return
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            compose("train", overrides=overrides, return_hydra_config=True)
    except Exception as error:
        missing = re.match(r"Could not override '([^']+)'", str(error))
        if missing and "not in struct" in str(error.__cause__ or ""):
            raise ConfigError(_unknown_key(conf_dir, overrides, missing.group(1))) from None
        cause = f": {_first_line(error.__cause__)}" if error.__cause__ else ""
        raise ConfigError(f"cannot use the overrides {' '.join(overrides)}: {_first_line(error)}{cause}") from None


# key -> (expected type, lowest allowed value or None); checked before instantiation.
VALUE_RULES: dict[str, tuple[type, float | None]] = {
    "seed": (int, None),
    "trainer.max_steps": (int, -1),
    "trainer.log_every_n_steps": (int, 1),
    "dataset.batch_size": (int, 1),
    "dataset.image_size": (int, 1),
    "dataset.batches_per_epoch": (int, 1),
    "model.latent_dim": (int, 1),
    "gan.d_steps": (int, 1),
    "gan.g_steps": (int, 1),
    "gan.optimizer_g.lr": (float, 0.0),
    "gan.optimizer_d.lr": (float, 0.0),
    "callbacks.samples.every_n_steps": (int, 0),
    "callbacks.checkpoint.every_n_train_steps": (int, 0),
}
PRECISIONS = sorted({str(p) for arg in typing.get_args(_PRECISION_INPUT) for p in typing.get_args(arg)})


def check_config(cfg: DictConfig) -> None:
    """Types, ranges and choices of the keys every run depends on -> ConfigError naming the key."""
    _check_values(cfg)
    for player in ("g", "d"):
        betas = OmegaConf.select(cfg, f"gan.optimizer_{player}.betas", default=None)
        if betas is not None and (not OmegaConf.is_list(betas) or len(betas) != 2
                                  or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise ConfigError(f"gan.optimizer_{player}.betas must be two numbers in [0, 1), got {_show(betas)}")
    precision = OmegaConf.select(cfg, "trainer.precision", default=None)
    if precision is not None and str(precision) not in PRECISIONS:
        raise ConfigError(f"trainer.precision={precision} is not a precision; choose one of: {', '.join(PRECISIONS)}")


def _show(value) -> str:
    return str(OmegaConf.to_container(value)) if OmegaConf.is_config(value) else repr(value)


def _check_values(cfg: DictConfig) -> None:
    for key, (kind, lowest) in VALUE_RULES.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is None:
            continue
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (kind is int and not isinstance(value, int)):
            name = "an integer" if kind is int else "a number"
            raise ConfigError(f"{key} must be {name}, got {value!r}")
        if lowest is not None and (value <= lowest if kind is float else value < lowest):
            bound = f"> {lowest}" if kind is float else f">= {lowest}"
            raise ConfigError(f"{key} must be {bound}, got {value!r}")
