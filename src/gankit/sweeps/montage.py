"""The final samples of every run of a sweep in one picture: one row per technique, one column per seed.

Toy data (runs that left `samples/final_points.pt`): each run's generated points over the real ones, every panel
on the same axes. Images: each run's last `samples/step_*.png` (else its `samples/final_grid.png`) side by side.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.sweeps.runs import SEED_AXIS, Row

CELL_INCHES = 2.4


def _points(run) -> dict | None:
    path = None if run.status != "ok" else run.directory / "samples" / "final_points.pt"
    return torch.load(path, weights_only=True) if path is not None and path.is_file() else None


def _picture(run) -> Path | None:
    """The last step figure (the fixed noise every run shares: 64 images for image data), else the final grid."""
    if run.status != "ok":
        return None
    samples = run.directory / "samples"
    steps, grid = sorted(samples.glob("step_*.png")), samples / "final_grid.png"
    return steps[-1] if steps else (grid if grid.is_file() else None)


def _axes_limits(points: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """Common limits for [N, D] points: the real data's range over all runs, padded by a quarter of its span."""
    real = torch.cat([p["real"] for p in points])
    lo, hi = real.min(0).values, real.max(0).values
    pad = 0.25 * (hi - lo).clamp(min=1e-3)
    return lo - pad, hi + pad


def _draw_points(ax, points: dict, lo: torch.Tensor, hi: torch.Tensor) -> None:
    fake, real = points["fake"], points["real"]
    if fake.shape[1] == 1:  # 1-D data: histograms of real and generated samples on the same bins
        bins = torch.linspace(float(lo[0]), float(hi[0]), 61).tolist()
        ax.hist(real[:, 0].tolist(), bins=bins, color="black", alpha=0.35, density=True)
        ax.hist(fake[:, 0].clamp(lo[0], hi[0]).tolist(), bins=bins, color="tab:orange", alpha=0.6, density=True)
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_yticks([])
    else:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="black", alpha=0.35, linewidths=0)
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:orange", alpha=0.6, linewidths=0)
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_ylim(float(lo[1]), float(hi[1]))
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    outside = int((~((fake >= lo) & (fake <= hi)).all(1)).sum())
    if outside:
        ax.text(0.02, 0.02, f"{outside} outside", transform=ax.transAxes, fontsize=6)


def _draw_picture(ax, path: Path) -> None:
    import matplotlib.image as mpimg

    image = mpimg.imread(str(path))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    ax.set_xticks([])
    ax.set_yticks([])


def write_montage(rows: list[Row], path: Path, metric: str | None = None) -> bool:
    """samples.png: rows x seeds panels of the runs' final samples; False when no run left any."""
    import matplotlib.pyplot as plt

    columns = max((len(row.runs) for row in rows), default=0)
    points = {id(run): p for row in rows for run in row.runs if (p := _points(run)) is not None}
    pictures = {id(run): p for row in rows for run in row.runs if (p := _picture(run)) is not None}
    if not columns or not (points or pictures):
        return False
    lo, hi = _axes_limits(list(points.values())) if points else (None, None)
    fig, axes = plt.subplots(len(rows), columns, figsize=(CELL_INCHES * columns + 1.2, CELL_INCHES * len(rows)),
                             squeeze=False, layout="constrained")
    for i, row in enumerate(rows):
        for j in range(columns):
            ax = axes[i][j]
            run = row.runs[j] if j < len(row.runs) else None
            if run is None or (id(run) not in points and id(run) not in pictures):
                ax.axis("off")
                if run is not None:
                    ax.text(0.5, 0.5, run.status, ha="center", va="center", transform=ax.transAxes, fontsize=8)
                continue
            if id(run) in points:
                _draw_points(ax, points[id(run)], lo, hi)
            else:
                _draw_picture(ax, pictures[id(run)])
            value = run.metrics.get(metric) if metric else None
            title = f"{SEED_AXIS} {run.overrides.get(SEED_AXIS, j)}" + ("" if value is None else f": {value:.3g}")
            ax.set_title(title, fontsize=8)
        axes[i][0].text(-0.22, 0.5, " ".join(row.labels.values()) or "all", rotation=90, ha="right", va="center",
                        transform=axes[i][0].transAxes, fontsize=9)  # (a label that stays when the panel is off)
    what = "generated (orange) over real (black), same axes" if points else "final samples"
    fig.suptitle(f"{what}; one row per technique, one column per seed" + (f"; title: {metric}" if metric else ""),
                 fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
