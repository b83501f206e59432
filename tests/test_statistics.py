"""The comparison statistics on made-up run values with known answers, and the report built from them."""

import csv
import json
import math

import pytest
from omegaconf import OmegaConf
from scipy import stats

from gankit.sweeps.aggregate import aggregate
from gankit.sweeps.statistics import summarise, welch_difference

# Hand-computed: a = [4, 5, 6], b = [1, 2, 3]: both variances 1, se = sqrt(1/3 + 1/3) = 0.81650, Welch df =
# (2/3)^2 / (2 (1/3)^2 / 2) = 4, t_0.975(4) = 2.776445, half-width 2.267000.
HALF = 2.776445 * math.sqrt(2 / 3)


def test_mean_and_standard_error():
    summary = summarise([1.0, 2.0, 3.0, 6.0])
    assert summary.mean == 3.0 and summary.n == 4
    assert summary.std == pytest.approx(math.sqrt(14 / 3))
    assert summary.sem == pytest.approx(math.sqrt(14 / 3) / 2)
    assert math.isnan(summarise([2.0]).sem) and summarise([]).n == 0


def test_a_difference_whose_interval_excludes_zero():
    found = welch_difference([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
    assert found.estimate == 3.0 and found.df == pytest.approx(4.0)
    assert (found.low, found.high) == pytest.approx((3 - HALF, 3 + HALF), abs=1e-5)  # (0.733, 5.267)
    assert found.excludes_zero


def test_a_difference_whose_interval_contains_zero():
    found = welch_difference([1.5, 2.5, 3.5], [1.0, 2.0, 3.0])
    assert (found.low, found.high) == pytest.approx((0.5 - HALF, 0.5 + HALF), abs=1e-5)  # (-1.767, 2.767)
    assert not found.excludes_zero
    assert welch_difference([0.0, -1.0, -2.0], [3.0, 4.0, 5.0]).excludes_zero  # below 0 counts too


def test_unequal_variances_and_sizes_agree_with_scipy():
    a, b = [17.0, 19.0, 18.0, 22.0, 16.0], [12.0, 25.0, 8.0]
    found = welch_difference(a, b)
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (found.low, found.high) == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert not found.excludes_zero


def test_no_interval_without_two_runs_or_any_spread():
    for a, b in (([1.0], [2.0, 3.0]), ([8.0, 8.0, 8.0], [8.0, 8.0])):
        found = welch_difference(a, b)
        assert math.isnan(found.low) and not found.excludes_zero
    assert welch_difference([8.0, 8.0, 8.0], [5.0, 5.5, 6.0]).excludes_zero  # one side without spread is fine


def fake_sweep(root, values, study):
    """A sweep directory as Hydra and train.py leave it, with made-up final metrics: {trick: [modes per seed]}."""
    tricks, seeds = list(values), range(len(next(iter(values.values()))))
    OmegaConf.save({"hydra": {"overrides": {"task": [f"trick={','.join(tricks)}",
                                                     f"seed={','.join(map(str, seeds))}"]}}},
                   root / "multirun.yaml")
    OmegaConf.save(study, root / "sweep.yaml")
    job = 0
    for trick in tricks:
        for seed in seeds:
            folder = root / str(job) / ".hydra"
            folder.mkdir(parents=True)
            OmegaConf.save([f"trick={trick}", f"seed={seed}"], folder / "overrides.yaml")
            (folder.parent / "metrics.json").write_text(json.dumps({"eval/modes": values[trick][seed]}))
            job += 1


def test_the_report_marks_differences_names_the_test_and_prints_published_values(tmp_path, capsys):
    values = {"none": [1.0, 2.0, 3.0], "pacgan": [4.0, 5.0, 6.0], "label_smoothing": [1.5, 2.5, 3.5]}
    study = {"study": "made_up", "metrics": ["eval/modes"], "reference": {"trick": "none"},
             "published": [{"row": {"trick": "none"}, "source": "Lin et al. 2018, Table 1",
                            "values": {"eval/modes": [17.3, 0.8]}}]}
    fake_sweep(tmp_path, values, study)
    assert aggregate(tmp_path) == 0
    text = (tmp_path / "results.md").read_text()
    lines = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert lines["trick"].split(" | ") == ["| trick", "n", "eval/modes", "eval/modes published",
                                           "Δ eval/modes [95% CI]", "runs |"]
    assert "| none | 3 | 2 ± 0.58 | 17.3 ± 0.8 [1] | reference |" in lines["none"]
    assert "| pacgan | 3 | 5 ± 0.58 |  | +3 [0.733, 5.27] * |" in lines["pacgan"]
    assert "+0.5 [-1.77, 2.77] |" in lines["label_smoothing"]  # no marker
    assert "Welch's t" in text and "[1] Lin et al. 2018, Table 1" in text
    with open(tmp_path / "results.csv") as f:
        rows = {r["trick"]: r for r in csv.DictReader(f)}
    assert float(rows["pacgan"]["eval/modes diff_low"]) == pytest.approx(3 - HALF, abs=1e-5)
    assert rows["pacgan"]["eval/modes diff_excludes_0"] == "1" and rows["none"]["eval/modes diff"] == ""
    assert float(rows["none"]["eval/modes sem"]) == pytest.approx(1 / math.sqrt(3))

    study["reference"] = {"trick": "pacgan"}  # the study names another reference row
    OmegaConf.save(study, tmp_path / "sweep.yaml")
    aggregate(tmp_path)
    assert "| none | 3 | 2 ± 0.58 | 17.3 ± 0.8 [1] | -3 [-5.27, -0.733] * |" in (tmp_path / "results.md").read_text()

    study["reference"] = {"trick": "unrolled"}  # not run: the table is still written, without differences
    OmegaConf.save(study, tmp_path / "sweep.yaml")
    assert aggregate(tmp_path) == 0
    assert "Δ" not in (tmp_path / "results.md").read_text()
    assert "the reference row trick=unrolled is not among the rows" in capsys.readouterr().err


def test_a_reference_on_one_axis_compares_each_row_with_its_own_counterpart(tmp_path):
    """reference: {gan: false} with a second axis: the GAN at each label count against the baseline at that count."""
    study = {"study": "two_axes", "metrics": ["eval/test_error"], "reference": {"gan": "false"}}
    errors = {("5", "false"): [20.0, 22.0], ("5", "True"): [10.0, 12.0],
              ("10", "False"): [8.0, 9.0], ("10", "True"): [7.0, 8.0]}
    OmegaConf.save({"hydra": {"overrides": {"task": ["per_class=5,10", "gan=false,true", "seed=0,1"]}}},
                   tmp_path / "multirun.yaml")
    OmegaConf.save(study, tmp_path / "sweep.yaml")
    jobs = [(per_class, gan, seed) for (per_class, gan) in errors for seed in (0, 1)]
    for job, (per_class, gan, seed) in enumerate(jobs):
        values = errors[(per_class, gan)]
        folder = tmp_path / str(job) / ".hydra"
        folder.mkdir(parents=True)
        OmegaConf.save([f"per_class={per_class}", f"gan={gan}", f"seed={seed}"], folder / "overrides.yaml")
        (folder.parent / "metrics.json").write_text(json.dumps({"eval/test_error": values[seed]}))
    assert aggregate(tmp_path) == 0
    with open(tmp_path / "results.csv") as f:
        rows = {(r["per_class"], r["gan"]): r for r in csv.DictReader(f)}
    assert float(rows[("5", "True")]["eval/test_error diff"]) == pytest.approx(-10.0)  # 11 - 21
    assert float(rows[("10", "True")]["eval/test_error diff"]) == pytest.approx(-1.0)  # 7.5 - 8.5, not 7.5 - 21
    assert rows[("10", "False")]["eval/test_error diff"] == "" and rows[("5", "False")]["eval/test_error diff"] == ""
    text = (tmp_path / "results.md").read_text()
    assert "its reference row (gan=False and the same per_class)" in text
