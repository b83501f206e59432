"""A W&B workspace for one study, built with W&B's own workspace API (the `wandb-workspaces` package).

The workspace shows the study's runs (its W&B group) grouped by technique (the non-seed axes, which every run
carries as `study.overrides.<axis>` in its config): line plots of the main metrics over steps, the sample figures
and end-of-run pictures, and the aggregate run's table and plots. Offline it is only written down as the view
specification W&B would store; online it is saved and gets a URL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws
from omegaconf import OmegaConf

from gankit.errors import ConfigError, first_line
from gankit.sweeps.aggregate import columns, load_sweep
from gankit.sweeps.runs import SEED_AXIS

STEP = "trainer/global_step"  # Lightning's W&B logger records every value with it (optimizer steps)
TRAINING = ["train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"]
RUN_PICTURES = ["samples", "pictures/final_grid", "pictures/animation", "pictures/curves"]
AGGREGATE_PICTURES = ["pictures/comparison", "pictures/history", "pictures/samples"]


def build_workspace(*, entity: str, project: str, group: str, axes: list[str], metrics: list[str]) -> ws.Workspace:
    """The study's workspace: runs of `group`, grouped by the non-seed `axes`, panels for `metrics`."""
    techniques = [a for a in axes if a != SEED_AXIS]
    evaluation = ws.Section(name="evaluation (mean over seeds, band: min..max)", is_open=True, panels=[
        wr.LinePlot(title=m, x=STEP, y=[m], groupby_aggfunc="mean", groupby_rangefunc="minmax")
        for m in metrics])
    training = ws.Section(name="training", is_open=False, panels=[
        wr.LinePlot(title=m, x=STEP, y=[m], groupby_aggfunc="mean", groupby_rangefunc="minmax") for m in TRAINING])
    pictures = ws.Section(name="samples", is_open=True, panels=[
        wr.MediaBrowser(title=key, media_keys=[key], num_columns=3) for key in RUN_PICTURES])
    aggregate = ws.Section(name="aggregate (the study's table and plots)", is_open=True, panels=[
        wr.WeavePanelSummaryTable(table_name="results"),
        *(wr.MediaBrowser(title=key, media_keys=[key], num_columns=1) for key in AGGREGATE_PICTURES)])
    return ws.Workspace(
        entity=entity, project=project, name=f"study {group}",
        sections=[evaluation, pictures, aggregate, training],
        settings=ws.WorkspaceSettings(x_axis=STEP, max_runs=100),
        runset_settings=ws.RunsetSettings(
            filters=[ws.Metric("Group") == group],
            groupby=[ws.Config(f"study.overrides.{axis}") for axis in techniques]),
    )


def write_specification(workspace: ws.Workspace, path: Path) -> Path:
    """The view W&B would store for this workspace (its JSON), without contacting W&B."""
    path.write_text(json.dumps(workspace._spec, indent=1, default=str))  # the package's own serialisation
    return path


def publish(workspace: ws.Workspace) -> str:
    """Saves the workspace on W&B (needs a login) and returns its URL."""
    return workspace.save().url


def make_dashboard(sweep_dir: Path) -> int:
    """A W&B workspace for the sweep: offline its specification in dashboard.json; online saved, its URL printed."""
    sweep_dir = Path(sweep_dir)
    axes, runs, study, config = load_sweep(sweep_dir)
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
            raise ConfigError(f"cannot publish the dashboard: {first_line(str(error))} (or set WANDB_API_KEY); "
                              f"without WANDB_MODE=online it writes {sweep_dir / 'dashboard.json'} instead") from error
    metrics = list(dict.fromkeys(columns(study, config, runs)))
    workspace = build_workspace(entity=str(entity or "ENTITY"), project=project, group=group, axes=axes,
                                metrics=metrics)
    path = write_specification(workspace, sweep_dir / "dashboard.json")
    if not online:
        print(f"dashboard: wrote the W&B workspace specification to {path} (group {group!r}, project {project!r}, "
              f"grouped by {', '.join(a for a in axes if a != SEED_AXIS) or 'nothing'}). To publish it: "
              f"`wandb sync {sweep_dir}/*/wandb/offline-run-* {sweep_dir}/wandb/offline-run-*`, then "
              f"`WANDB_MODE=online python sweep.py dashboard {sweep_dir}` after `wandb login`"
              + ("" if entity else " (set logger.entity or WANDB_ENTITY, else your default entity is used)"))
        return 0
    try:
        url = publish(workspace)
    except Exception as error:  # no login, no network, no such project: say so in one line
        raise ConfigError(f"could not publish the dashboard to W&B ({type(error).__name__}: "
                          f"{first_line(str(error))}); its specification is in {path}") from error
    print(f"dashboard: {url}")
    return 0
