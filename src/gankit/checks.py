"""Input checks that run before anything heavy: command-line group choices and config values."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
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


# key -> (expected type, lowest allowed value or None); checked before instantiation.
VALUE_RULES: dict[str, tuple[type, float | None]] = {
    "seed": (int, None),
    "trainer.max_steps": (int, -1),
    "dataset.batch_size": (int, 1),
    "dataset.image_size": (int, 1),
    "model.latent_dim": (int, 1),
    "gan.d_steps": (int, 1),
    "gan.g_steps": (int, 1),
    "gan.optimizer_g.lr": (float, 0.0),
    "gan.optimizer_d.lr": (float, 0.0),
}


def check_config(cfg: DictConfig) -> None:
    """Types and ranges of the keys every run depends on -> ConfigError naming the key."""
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
