"""Precision, recall, density and coverage on constructed feature sets with known answers."""

import pytest
import torch

from gankit.metrics.prdc import PrecisionRecallCoverage, density_and_coverage, kth_neighbour_radii


def brute_density_and_coverage(real, fake, k):
    """Naeem et al. 2020, Eq. 3 and 4, written out pair by pair."""
    radii = [sorted(float((r - o).norm()) for o in real)[k] for r in real]  # [0] is the point itself
    inside = [[float((f - r).norm()) <= radius for r, radius in zip(real, radii, strict=True)] for f in fake]
    density = sum(sum(row) for row in inside) / (k * len(fake))
    coverage = sum(any(row[j] for row in inside) for j in range(len(real))) / len(real)
    return density, coverage


def test_density_and_coverage_on_a_line():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # k = 1: every real ball has radius 1
    assert kth_neighbour_radii(real, 1).tolist() == [1.0, 1.0, 1.0, 1.0]
    density, coverage = density_and_coverage(real, torch.tensor([[0.5]]), k=1)
    assert density == 2.0 and coverage == 0.5  # 0.5 lies in the balls of 0 and 1


def test_chunked_computation_equals_the_pair_by_pair_definition():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(60, 5, generator=gen), torch.randn(40, 5, generator=gen) + 0.3
    expected = brute_density_and_coverage(real, fake, 3)
    assert density_and_coverage(real, fake, 3, chunk=7) == pytest.approx(expected, abs=1e-6)  # float32 sums


def test_a_generator_that_copies_one_of_two_modes_keeps_precision_and_loses_recall_and_coverage():
    gen = torch.Generator().manual_seed(1)
    real = torch.cat([torch.randn(500, 8, generator=gen), torch.randn(500, 8, generator=gen) + 20])  # two modes
    one_mode = torch.randn(1000, 8, generator=gen)  # all samples on the first mode
    metric = PrecisionRecallCoverage(nearest_k=3)
    metric.set_reference(real)
    metric.update(one_mode)
    collapsed = metric.compute()
    assert collapsed["precision"] > 0.8 and collapsed["density"] > 0.8  # as for samples of both modes
    assert collapsed["recall"] < 0.55 and collapsed["coverage"] < 0.55
    metric.reset()
    metric.update(torch.cat([torch.randn(500, 8, generator=gen), torch.randn(500, 8, generator=gen) + 20]))
    both = metric.compute()
    assert both["recall"] > 0.8 and both["coverage"] > 0.8 and both["precision"] > 0.8
