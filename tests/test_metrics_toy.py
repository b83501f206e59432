"""Toy metrics (VEEGAN/PacGAN protocol) on samples of the real distributions and of one Gaussian;
the evaluation callback in a run: periodic eval/ values, final values and protocol in metrics.json."""

import json
import math

import pytest
import torch

from gankit.callbacks.evaluation import Evaluation
from gankit.data.toy import Circle, Gaussian1D, Grid, Ring, ToyDataModule
from gankit.errors import ConfigError
from gankit.metrics.toy import ModeCoverage, ToyEvaluator
from gankit.run import build_run, train

# P(|x - mode| <= 3 std) for a 2-D Gaussian is 1 - exp(-9/2) = 98.9%: the protocol's own ceiling.
CEILING_2D = 100 * (1 - math.exp(-4.5))


def coverage(distribution, samples):
    metric = ModeCoverage(distribution.modes, distribution.std)
    metric.update(samples)
    return {k: float(v) for k, v in metric.compute().items()}


@pytest.mark.parametrize("distribution,modes", [(Ring(), 8), (Grid(), 25)])
def test_real_samples_cover_every_mode_with_high_quality_and_near_zero_reverse_kl(distribution, modes):
    torch.manual_seed(0)
    values = coverage(distribution, distribution.sample(2500))
    assert values["modes"] == modes
    assert values["high_quality"] == pytest.approx(CEILING_2D, abs=0.7)  # 3 binomial std at 2500 samples
    assert values["reverse_kl"] < 0.02


@pytest.mark.parametrize("distribution", [Ring(), Grid()])
def test_samples_from_one_gaussian_cover_one_mode_with_the_largest_reverse_kl(distribution):
    torch.manual_seed(0)
    values = coverage(distribution, distribution.modes[3] + distribution.std * torch.randn(2500, 2))
    assert values["modes"] == 1
    assert values["reverse_kl"] == pytest.approx(math.log(len(distribution.modes)), rel=1e-6)


def test_no_high_quality_sample_gives_zero_modes_and_a_finite_reverse_kl():
    values = coverage(Ring(), torch.full((100, 2), 5.0))
    assert values == {"modes": 0, "high_quality": 0, "reverse_kl": pytest.approx(math.log(8)), "effective_modes": 1}


def streak(distribution, a: int, b: int, n: int = 2500):
    """n samples evenly on the segment between modes a and b, ends excluded: none within 3 std of a mode."""
    t = torch.linspace(0.1, 0.9, n)[:, None]  # [n, 1]
    return (1 - t) * distribution.modes[a] + t * distribution.modes[b]  # [n, 2]


@pytest.mark.parametrize("distribution", [Ring(), Grid()])
def test_effective_modes_see_a_streak_between_two_modes_a_point_and_a_spread(distribution):
    torch.manual_seed(0)
    line = coverage(distribution, streak(distribution, 0, 1))
    assert line["modes"] == 0 and line["high_quality"] == 0
    assert line["effective_modes"] == pytest.approx(2.0, abs=0.01)  # half nearest to each end
    point = coverage(distribution, distribution.modes[3] + torch.tensor([0.2, -0.1]) + 0.001 * torch.randn(2500, 2))
    assert point["modes"] == 0 and point["effective_modes"] == pytest.approx(1.0)
    spread = coverage(distribution, distribution.sample(2500) + 0.3 * torch.randn(2500, 2))  # blurred, not collapsed
    assert spread["effective_modes"] > 0.9 * len(distribution.modes)


def test_gaussian1d_divergences_are_near_zero_on_real_samples_and_large_on_shifted_ones(make_config):
    _, gan, _ = build_run(make_config("dataset=gaussian1d", "model=mlp"))
    distribution = Gaussian1D()
    evaluator = ToyEvaluator()
    evaluator.setup(ToyDataModule(distribution))
    values = {}
    for shift in (0.0, 1.0):
        torch.manual_seed(0)
        evaluator.reset()
        evaluator.update(distribution.sample(2500) + shift, gan)
        values[shift] = evaluator.compute()
    assert values[0.0]["modes"] == 1 and values[0.0]["high_quality"] > 99
    assert values[0.0]["kl"] < 0.03 and values[0.0]["js"] < 0.01
    assert values[1.0]["kl"] > 1 and values[1.0]["js"] > 0.2
    assert 0 < values[0.0]["d_real"] < 1 and values[0.0]["d_real"] == pytest.approx(values[0.0]["d_fake"], abs=0.02)


def test_toy_metrics_refuse_data_without_modes():
    with pytest.raises(ConfigError, match="metrics=toy needs a mixture of Gaussians"):
        ToyEvaluator().setup(ToyDataModule(Circle()))


@pytest.mark.parametrize("dataset,option", [("ring", "toy"), ("grid", "toy"), ("gaussian1d", "toy"),
                                            ("circle", None), ("digits", "labelled"), ("fashion_mnist", "labelled")])
def test_each_dataset_picks_its_metric_set_and_metrics_none_overrides_it(make_config, dataset, option):
    model = "model=mlp"
    cfg = make_config(f"dataset={dataset}", model)
    assert (cfg.metrics.callback.evaluator._target_.split(".")[-2] if cfg.metrics else None) == option
    assert not make_config(f"dataset={dataset}", model, "metrics=none").get("metrics")


def test_metrics_none_builds_no_evaluation(make_config):
    trainer, _, _ = build_run(make_config("dataset=ring", "model=mlp", "metrics=none"))
    assert not any(isinstance(c, Evaluation) for c in trainer.callbacks)


def test_a_run_logs_periodic_evaluations_and_writes_final_values_with_their_protocol(make_config, tmp_path):
    cfg = make_config("dataset=ring", "model=mlp", "dataset.batch_size=16", "logger=csv",
                      "metrics.eval_every=2", "metrics.num_samples=1000", "metrics.num_samples_periodic=500")
    metrics = train(cfg)
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= metrics.keys()
    assert metrics["protocol"]["num_samples"] == 1000 and metrics["protocol"]["num_modes"] == 8
    assert metrics["protocol"]["step"] == 6
    rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    steps = [int(r.split(",")[header.index("step")]) for r in rows[1:] if r.split(",")[header.index("eval/modes")]]
    assert steps == [2, 4, 6]  # periodic at 2 and 4 (steps count both players); final at 6
