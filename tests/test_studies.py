"""Every study in conf/sweep/ launches runs that compose and build: each row (a combination of the non-seed
axes, at the first seed) is composed as `python sweep.py study=NAME` would run it, and enough rows to cover every
value of every axis have their objects built (building is ~1 s a row; composing every row catches the rest)."""

from __future__ import annotations

import itertools

import pytest
from omegaconf import OmegaConf

from gankit.run import build_run
from tests.conftest import CONF_DIR

STUDIES = sorted(p.stem for p in (CONF_DIR / "sweep").glob("*.yaml"))


def rows(name: str) -> list[list[str]]:
    """The overrides of each row of the study: its fixed overrides (Hydra's own left out) and one value per axis."""
    study = OmegaConf.load(CONF_DIR / "sweep" / f"{name}.yaml")
    fixed = [o for o in study.get("overrides", []) if not o.split("=")[0].lstrip("+~").startswith("hydra")]
    axes = {key: (values[:1] if key == "seed" else values) for key, values in study.axes.items()}
    combos = itertools.product(*axes.values())
    return [[*fixed, *(f"{k}={v}" for k, v in zip(axes, combo, strict=True))] for combo in combos]


def covering(rows_: list[list[str]]) -> list[list[str]]:
    """Rows that between them hold every override of every row (each axis value at least once)."""
    chosen, seen = [], set()
    for overrides in rows_:
        if not set(overrides) <= seen:
            chosen.append(overrides)
            seen |= set(overrides)
    return chosen


@pytest.mark.parametrize("name", STUDIES)
def test_every_row_of_every_study_composes_and_builds(make_config, name):
    every_row = rows(name)
    configs = {tuple(overrides): make_config(*overrides) for overrides in every_row}
    for overrides in covering(every_row):
        trainer, gan, datamodule = build_run(configs[tuple(overrides)])
        assert trainer.max_steps > 0 and gan is not None, overrides


def test_the_cpu_studies_follow_their_descriptions(make_config):
    grid = make_config(*rows("tricks_grid")[0])
    assert (grid.dataset.name, grid.dataset.batch_size, grid.trainer.max_steps) == ("grid", 256, 34000)
    assert grid.gan.optimizer_g.lr == grid.gan.optimizer_d.lr == 1e-3 and grid.gan.scheduler_g.gamma == 0.99
    study = OmegaConf.load(CONF_DIR / "sweep" / "tricks_grid.yaml")
    assert len(study.axes.seed) >= 5 and len(OmegaConf.load(CONF_DIR / "sweep" / "digits_tricks.yaml").axes.seed) >= 5
