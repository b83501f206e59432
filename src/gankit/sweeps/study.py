"""Labels for the runs of one sweep: a shared W&B group and the varied overrides as tags and config."""

from __future__ import annotations

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict


def varied_overrides(task_overrides: list[str], axes: list[str] | None) -> dict[str, str]:
    """{key: value} of this job's overrides whose key is one of `axes` (all of them when axes is None).

    task_overrides are one job's `hydra.overrides.task`, e.g. ["trick=[a,b]", "seed=1", "+x=2"].
    """
    varied = {}
    for override in OverridesParser.create().parse_overrides(task_overrides):
        key = override.key_or_group
        if override.is_delete() or key == "ckpt_path" or (axes is not None and key not in axes):  # resuming: no axis
            continue
        value = override.value()
        varied[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return varied


def label_run(cfg: DictConfig) -> None:
    """Fill cfg.study (group, tags, overrides) from Hydra's record of this job; no-op outside Hydra."""
    if not HydraConfig.initialized():
        return
    hydra = HydraConfig.get()
    axes = cfg.study.axes
    varied = varied_overrides(list(hydra.overrides.task), None if axes is None else list(axes))
    with open_dict(cfg):
        if cfg.study.name is None and hydra.mode == RunMode.MULTIRUN:
            cfg.study.name = str(hydra.sweep.dir)
        cfg.study.overrides = varied
        cfg.study.tags = [f"{key}={value}"[:64] for key, value in varied.items()]  # W&B caps tags at 64
