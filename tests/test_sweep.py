"""sweep.py for real: a Hydra multirun of the smoke study, aggregated into tables, plots and a W&B table."""

import csv
import json
import shutil
import statistics
import subprocess
import sys

import pytest

from tests import wandb_files
from tests.conftest import ROOT

TINY = ["trainer.max_steps=12", "metrics.eval_every=6", "metrics.num_samples=300", "metrics.num_samples_periodic=300",
        "~callbacks.progress_bar", "+trainer.enable_progress_bar=false", "callbacks.samples.final={}"]


def sweep(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "sweep.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """2 techniques x 3 seeds where seed=oops fails its config check: 4 finished runs, 2 failed."""
    cwd = tmp_path_factory.mktemp("sweep")
    result = sweep("study=smoke", "seed=0,1,oops", "hydra.sweep.dir=out", *TINY, cwd=cwd)
    return cwd / "out", result


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_the_table_has_every_cell_and_equals_the_runs_metrics(smoke):
    sweep_dir, result = smoke
    assert result.returncode == 1, result.stderr[-3000:]  # some runs failed
    runs = read_csv(sweep_dir / "runs.csv")
    assert [(r["trick"], r["seed"], r["status"]) for r in runs] == [
        ("none", "0", "ok"), ("none", "1", "ok"), ("none", "oops", "failed"),
        ("label_smoothing", "0", "ok"), ("label_smoothing", "1", "ok"), ("label_smoothing", "oops", "failed")]
    results = {row["trick"]: row for row in read_csv(sweep_dir / "results.csv")}
    assert set(results) == {"none", "label_smoothing"}
    for trick, row in results.items():
        finished = [r for r in runs if r["trick"] == trick and r["status"] == "ok"]
        assert row["ok"] == "2" and row["not ok"] == "1"
        for metric in ("eval/reverse_kl", "eval/modes", "eval/high_quality"):
            values = [json.loads((sweep_dir / r["directory"].split("/")[-1] / "metrics.json").read_text())[metric]
                      for r in finished]
            assert float(row[f"{metric} mean"]) == pytest.approx(statistics.fmean(values), rel=1e-12)
            assert float(row[f"{metric} std"]) == pytest.approx(statistics.stdev(values), rel=1e-12, abs=1e-12)
            assert row[f"{metric} n"] == "2"
    table = (sweep_dir / "results.md").read_text()
    assert "| none |" in table and "| label_smoothing |" in table and table.count("2 ok, 1 failed") == 2
    assert "trick=none seed=oops: failed (ConfigError: seed must be an integer, got 'oops')" in table
    assert "trick=none seed=oops: failed" in result.stdout  # printed too
    history = json.loads((sweep_dir / "0" / "evaluations.json").read_text())  # every evaluation of a run
    assert [point["step"] for point in history] == [6, 12] and "eval/modes" in history[0]
    for picture in ("comparison.png", "history.png"):
        assert (sweep_dir / picture).stat().st_size > 10_000


def test_runs_of_a_sweep_share_a_wandb_group_and_carry_their_overrides_as_tags(smoke):
    sweep_dir, _ = smoke
    for job, tags in (("0", ["trick=none", "seed=0"]), ("4", ["trick=label_smoothing", "seed=1"])):
        run_file = wandb_files.run_file(sweep_dir / job)
        info = wandb_files.run_info(run_file)
        assert info.run_group == "smoke"
        assert list(info.tags) == tags
        config = wandb_files.config(run_file)
        assert config["study"]["overrides"] == dict(t.split("=") for t in tags)
    aggregate = wandb_files.run_file(sweep_dir)  # the table's own run, in the sweep directory
    info = wandb_files.run_info(aggregate)
    assert info.run_group == "smoke" and info.job_type == "aggregate"
    tables = list(aggregate.parent.glob("files/media/table/results_*.table.json"))
    assert len(tables) == 1
    table = json.loads(tables[0].read_text())
    assert [row[0] for row in table["data"]] == ["none", "label_smoothing"]


def test_aggregate_lists_runs_that_never_finished_or_never_started(smoke, tmp_path):
    sweep_dir, _ = smoke
    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy, ignore=shutil.ignore_patterns("wandb"))
    shutil.rmtree(copy / "1")  # trick=none seed=1 never started
    (copy / "3" / "metrics.json").unlink()  # trick=label_smoothing seed=0 was killed
    result = sweep("aggregate", str(copy), cwd=tmp_path)
    assert result.returncode == 1
    statuses = [r["status"] for r in read_csv(copy / "runs.csv")]
    assert statuses == ["ok", "not run", "failed", "incomplete", "ok", "failed"]
    assert "1 ok, 1 not run, 1 failed" in (copy / "results.md").read_text()


def test_bad_sweep_input_gives_one_line(tmp_path):
    unknown = "error: unknown study 'nope'; choose one of: cluster_smoke, smoke, tricks_grid"
    for args, message in ((["study=nope"], unknown),
                          (["aggregate", str(tmp_path)], "is not a sweep directory"),
                          ([], "usage: python sweep.py")):
        result = sweep(*args, cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
