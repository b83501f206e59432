"""Under DDP each process holds a shard of the reference and of the generated samples; the synced
metrics equal those of one process holding everything (two CPU processes, gloo; ~15 s, so `slow`)."""

import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gankit.data.toy import Ring
from gankit.metrics.scores import Scores, feature_moments, psd_sqrt
from gankit.metrics.toy import ModeCoverage


def data():
    g = torch.Generator().manual_seed(0)
    reference, fake = torch.randn(31, 6, generator=g), torch.randn(31, 6, generator=g) * 1.5 + 0.3
    logits = torch.randn(31, 5, generator=g)
    points = Ring().modes.repeat(4, 1)[:31] + 0.01 * torch.randn(31, 2, generator=g)  # [31, 2] near the modes
    return reference, fake, logits, points


def evaluate(rank: int, world: int) -> dict[str, float]:
    reference, fake, logits, points = data()
    # KID subsets as large as the sets: no random subset choice, so the two runs can agree exactly
    scores = Scores(6, num_classes=5, kid=True, is_splits=1, kid_subsets=2, kid_subset_size=31)
    scores.set_reference(reference, psd_sqrt(feature_moments(reference)[1]), rank, world)
    scores.update(fake[rank::world], logits[rank::world])
    coverage = ModeCoverage(Ring().modes, 0.01)
    coverage.update(points[rank::world])
    return {**scores.compute(), **{k: float(v) for k, v in coverage.compute().items()}}


def worker(rank: int, world: int, port: int, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        out[rank] = evaluate(rank, world)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_synced_metrics_equal_the_single_process_ones():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(worker, args=(2, port, out), nprocs=2)
        ranks = [dict(out[0]), dict(out[1])]
    single = evaluate(0, 1)
    for values in ranks:
        assert values.keys() == single.keys()
        for key, value in single.items():
            same = math.isnan(value) and math.isnan(values[key])  # IS std over one split
            assert same or abs(values[key] - value) <= 1e-4 * max(1.0, abs(value)), key
