"""A W&B workspace for one study, built with W&B's own workspace API (the `wandb-workspaces` package).

The workspace shows the study's runs (its W&B group) grouped by technique (the non-seed axes, which every run
carries as `study.overrides.<axis>` in its config): line plots of the main metrics over steps, the sample figures
and end-of-run pictures, and the aggregate run's table and plots. Offline it is only written down as the view
specification W&B would store; online it is saved and gets a URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws

from gankit.report import SEED_AXIS

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
