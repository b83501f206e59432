"""sweep.py for real: a Hydra multirun of the smoke study, aggregated into tables, plots and a W&B table."""

import csv
import json
import shutil
import statistics
import subprocess
import sys

import pytest
import torch

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
    for picture in ("comparison.png", "history.png", "samples.png"):  # samples: one panel per run, same axes
        assert (sweep_dir / picture).stat().st_size > 10_000
    points = torch.load(sweep_dir / "0" / "samples" / "final_points.pt", weights_only=True)
    assert points["step"] == 12 and points["fake"].shape == points["real"].shape == (1000, 2)


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
    logged = {p.name.split("_")[0] for p in aggregate.parent.glob("files/media/images/pictures/*.png")}
    assert logged == {"comparison", "history", "samples"}


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
    for args, message in ((["study=nope"], "error: unknown study 'nope'; choose one of: "),
                          (["aggregate", str(tmp_path)], "is not a sweep directory"),
                          ([], "usage: python sweep.py")):
        result = sweep(*args, cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr


def test_dashboard_offline_writes_the_workspace_it_would_publish(smoke, tmp_path):
    sweep_dir, _ = smoke
    result = sweep("dashboard", str(sweep_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "To publish it: `wandb sync" in result.stdout
    assert "WANDB_MODE=online python sweep.py dashboard" in result.stdout
    view = json.loads((sweep_dir / "dashboard.json").read_text())
    assert view["project"] == "gankit" and view["displayName"] == "study smoke"
    runset = view["spec"]["section"]["runSets"][0]
    assert runset["filters"]["filters"] == [{"key": {"section": "run", "name": "group"}, "op": "=", "value": "smoke",
                                             "disabled": False}]
    assert runset["grouping"] == [{"section": "config", "name": "study.value.overrides.trick"}]  # not by seed
    panels = [p for s in view["spec"]["section"]["panelBankConfig"]["sections"] for p in s["panels"]]
    lines = {p["config"]["metrics"][0] for p in panels if p["viewType"] == "Run History Line Plot"}
    assert {"eval/modes", "eval/reverse_kl", "eval/high_quality", "train/g_loss"} <= lines
    media = {k for p in panels if p["viewType"] == "Media Browser" for k in p["config"].get("mediaKeys", [])}
    assert {"samples", "pictures/samples", "pictures/comparison"} <= media
    assert any("results" in json.dumps(p) for p in panels if p["viewType"] == "Weave")  # the aggregate table


def test_dashboard_online_without_a_login_says_so_in_one_line(smoke, tmp_path):
    sweep_dir, _ = smoke
    result = subprocess.run([sys.executable, str(ROOT / "sweep.py"), "dashboard", str(sweep_dir)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "WANDB_MODE": "online", "WANDB_API_KEY": "",
                                 "HOME": str(tmp_path), "NETRC": str(tmp_path / "none")})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "cannot publish the dashboard" in lines[0], result.stderr


def test_a_sweep_is_evaluated_again_under_one_protocol_without_changing_its_files(smoke, tmp_path):
    original, _ = smoke
    sweep_dir = tmp_path / "out"
    shutil.copytree(original, sweep_dir)
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()}
    result = sweep("evaluate", str(sweep_dir), "metrics.num_samples=200", cwd=original.parent)
    assert result.returncode == 1, result.stderr[-3000:]  # the failed runs have no result, as in the report
    assert result.stdout.count("evaluated ") == 4
    assert all(p.read_bytes() == content for p, content in before.items())  # the sweep's own files are kept
    runs = {(r["trick"], r["seed"]): r for r in read_csv(sweep_dir / "reevaluated" / "metrics.num_samples=200" /
                                                          "runs.csv")}
    record = json.loads((sweep_dir / "0" / "reevaluated" / "metrics.num_samples=200.json").read_text())
    assert record["protocol"]["num_samples"] == 200
    assert float(runs[("none", "0")]["eval/reverse_kl"]) == pytest.approx(record["eval/reverse_kl"])
    again = sweep("evaluate", str(sweep_dir), "metrics.num_samples=200", cwd=original.parent)
    assert "evaluated " not in again.stdout  # done already: read, not evaluated again


def test_an_override_the_study_sets_already_is_given_once_with_the_users_value(tmp_path):
    """`python sweep.py study=fashion_tricks ~callbacks.progress_bar` (the study removes the bar itself) and a new
    value for a key the study fixes: each key reaches Hydra once (it refuses one twice)."""
    from omegaconf import OmegaConf

    from gankit.sweeps.launch import launch_command

    study = OmegaConf.create({"overrides": ["~callbacks.progress_bar", "trainer.max_steps=5000", "logger=csv"],
                              "axes": {"seed": [0, 1], "trick": ["none", "pacgan2"]}})
    command = launch_command(ROOT / "train.py", "demo", study,
                             ["~callbacks.progress_bar", "trainer.max_steps=20", "seed=3", "+x=1"], tmp_path)
    words = command[3:]
    keys = [w.partition("=")[0] for w in words]
    assert len(keys) == len(set(keys)), words
    assert "trainer.max_steps=20" in words and "seed=3" in words and "trick=none,pacgan2" in words
    assert words.count("~callbacks.progress_bar") == 1 and "+x=1" in words


def test_another_launcher_drops_the_settings_of_the_studys_own():
    """`python sweep.py study=tricks_grid hydra/launcher=slurm ...`: joblib's n_jobs is not the SLURM launcher's."""
    from omegaconf import OmegaConf

    from gankit.sweeps.launch import launch_command

    study = OmegaConf.create({"overrides": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "logger=csv"],
                              "axes": {"seed": [0, 1]}})
    words = launch_command(ROOT / "train.py", "demo", study, ["hydra/launcher=slurm"], ROOT)[3:]
    assert "hydra/launcher=slurm" in words and "logger=csv" in words
    assert not [w for w in words if w.startswith("hydra.launcher.")]
    kept = launch_command(ROOT / "train.py", "demo", study, ["hydra.launcher.n_jobs=1"], ROOT)[3:]
    assert "hydra.launcher.n_jobs=1" in kept and "hydra/launcher=joblib" in kept


def test_publish_copies_the_report_for_the_docs_and_refuses_a_folder_without_one(smoke, tmp_path):
    from gankit.errors import ConfigError
    from gankit.sweeps.publish import publish

    out_dir, _ = smoke
    published = publish(out_dir, tmp_path / "docs")
    assert published == tmp_path / "docs" / "results" / "smoke"
    assert (published / "results.md").read_text() == (out_dir / "results.md").read_text()  # the report's own text
    assert {p.name for p in published.iterdir()} >= {"results.md", "results.csv", "comparison.png", "samples.jpg"}
    with pytest.raises(ConfigError, match="has no results.md and sweep.yaml"):
        publish(tmp_path, tmp_path / "docs")
