"""`python sweep.py publish DIR`: a study's report, as the aggregate wrote it, into docs/results/<study>/ for the
documentation to link to (the tables in the docs are then the report's own output, not copies by hand):
results.md and results.csv unchanged, comparison.png, and the montage of final samples as a smaller JPEG."""

from __future__ import annotations

import shutil
from pathlib import Path

from omegaconf import OmegaConf

from gankit.errors import ConfigError

COPIED = ("results.md", "results.csv", "comparison.png", "history.png")
MONTAGE_WIDTH = 1000  # pixels: the montage (samples.png) is a few MB at full size


def publish(sweep_dir: Path, docs_dir: Path) -> Path:
    """Copy the report of `sweep_dir` into docs_dir/results/<study>/; the folder written."""
    record = sweep_dir / "sweep.yaml"
    if not (sweep_dir / "results.md").is_file() or not record.is_file():
        raise ConfigError(f"{sweep_dir} has no results.md and sweep.yaml: give a study's sweep directory after "
                          "`python sweep.py aggregate` (only sweeps launched by `sweep.py study=...` are named)")
    out = docs_dir / "results" / str(OmegaConf.load(record).study)
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (sweep_dir / name).is_file():
            shutil.copyfile(sweep_dir / name, out / name)
    if (sweep_dir / "samples.png").is_file():
        from PIL import Image

        with Image.open(sweep_dir / "samples.png") as montage:
            montage = montage.convert("RGB")
            if montage.width > MONTAGE_WIDTH:
                montage = montage.resize((MONTAGE_WIDTH, round(montage.height * MONTAGE_WIDTH / montage.width)))
            montage.save(out / "samples.jpg", quality=80)
    return out
