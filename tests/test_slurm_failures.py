"""What a cluster user meets when SLURM says no, or a job dies on the node: one line each, on the local cluster."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.slurm_cluster import local_slurm, run  # noqa: F401 (the fixture `slurm`)

TINY = ["hydra/launcher=slurm", "dataset=ring", "model=mlp", "trainer.max_steps=4", "metrics=none", "logger=none",
        "~callbacks.progress_bar", "+trainer.enable_progress_bar=false", "hydra.sweep.dir=sweep"]


@pytest.mark.parametrize("request_, expected", [
    ("hydra.launcher.partition=gpu-a100", "Invalid partition name specified; partitions here: debug"),
    pytest.param("hydra.launcher.mem_gb=100000", "Requested node configuration is not available; no node has that much",
                 marks=pytest.mark.slow),  # the same path as the partition case; 10 s of the suite's budget
])
def test_a_job_slurm_refuses_stops_the_sweep_with_one_line(slurm, tmp_path, request_, expected):
    result = run(str(ROOT / "train.py"), "-m", "seed=0,1", request_, *TINY, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: SLURM refused run 0 (") and expected in line, line


def test_a_job_that_dies_on_the_node_is_listed_as_failed_with_the_last_line_of_its_log(slurm, tmp_path):
    setup = "hydra.launcher.setup=['echo loading the CUDA module', 'echo module cuda/12.4 not found >&2', 'exit 3']"
    result = run(str(ROOT / "sweep.py"), "study=cluster_smoke", "logger.name=twin_a,twin_b", "hydra/launcher=slurm",
                 setup, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert "Traceback" not in result.stderr
    assert "error: 2 run(s) of the multirun failed: 0: SLURM job " in result.stderr  # train.py -m's one line
    runs = (tmp_path / "sweep" / "runs.csv").read_text()
    assert runs.count(",failed,") == 2, runs
    error = (tmp_path / "sweep" / "0" / "error.txt").read_text()
    assert error.startswith("SLURM job ") and " FAILED without a result; last line of its log: module cuda/12.4 not " \
        "found (log: " in error, error
    assert "logger.name=twin_a: failed (SLURM job" in (tmp_path / "sweep" / "results.md").read_text()
