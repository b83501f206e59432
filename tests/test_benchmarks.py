"""benchmarks/end_to_end.py's parts: the batch clock, the time a batch over a window, the ratio's interval, and the
plain loop it compares train.py with (run for a few batches here; the benchmark itself takes ~30 min)."""

import functools
import json
import math

import pytest

from benchmarks.clock import seconds_per_batch, steady_window
from benchmarks.end_to_end import plain_function, plain_loop, ratio_interval
from gankit import losses


def write_stamps(path, starts):
    path.write_text(json.dumps({"first_wall": 0.0, "starts": starts}))


def test_time_a_batch_is_taken_over_the_batches_inside_the_window(tmp_path):
    path = tmp_path / "clock.json"
    write_stamps(path, [0.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 10.5, 11.0, 11.5, 12.0])  # start-up, then 1 s, then 0.5 s
    assert steady_window(path, warm_up=0.2) == (6.0, 12.0)  # the first fifth of the batches left out
    assert seconds_per_batch(path, (6.0, 10.0)) == pytest.approx(1.0)
    assert seconds_per_batch(path, (10.0, 12.0)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="only 2 batches"):
        seconds_per_batch(path, (4.0, 6.5))


def test_the_ratio_interval_is_the_geometric_mean_with_a_t_interval():
    assert ratio_interval([1.1, 1.1, 1.1]) == pytest.approx((1.1, 1.1, 1.1))
    mean, low, high = ratio_interval([1.0, 1.2])
    assert mean == pytest.approx(math.sqrt(1.2))
    assert low < 1.0 < 1.2 < high  # two pairs: t(0.975, 1) = 12.7


def test_the_plain_loop_trains_the_protocols_networks_and_stamps_every_batch(tmp_path):
    path = tmp_path / "plain.json"
    plain_loop("ring", 5, str(path))
    starts = json.loads(path.read_text())["starts"]
    assert len(starts) == 6 and starts == sorted(starts)  # each batch's start and the end of the last
    stop = tmp_path / "stop"
    stop.touch()
    plain_loop("ring", 1000, str(path), until=str(stop))  # stops at its first check once the file exists
    assert len(json.loads(path.read_text())["starts"]) == 1


def test_the_plain_loop_calls_the_loss_functions_themselves():
    function = plain_function(functools.partial(losses.bce_discriminator, real_target=0.9))
    assert type(function) is functools.partial and function.func is losses.bce_discriminator
    assert function.keywords == {"real_target": 0.9}
    assert plain_function(losses.critic_generator) is losses.critic_generator


def test_the_plain_loop_runs_its_gpu_variants_on_the_cpu_too(tmp_path):
    """--device cuda's variants: bf16 autocast (the CPU has it) on the device the datamodule is told of."""
    path = tmp_path / "plain.json"
    plain_loop("ring", 4, str(path), device="cpu", variant="bf16")
    assert len(json.loads(path.read_text())["starts"]) == 5


def test_the_cuda_check_trains_a_row_and_reports_its_syncs(tmp_path):
    """benchmarks/cuda_check.py is for a GPU machine; with device=cpu its rows run here (no syncs to watch)."""
    from benchmarks.cuda_check import check

    row = check("mlp/none", ["dataset=ring", "model=mlp"], 3, tmp_path, "none", False, "cpu")
    assert row.startswith("mlp/none") and " ok " in row and "finite=True" in row
    assert "0 plain batches: 0 syncs" in row  # the watch is off on the CPU
    refused = check("mlp/diffaugment", ["dataset=ring", "model=mlp", "trick=diffaugment"], 3, tmp_path, "none",
                    False, "cpu")
    assert "refused: DiffAugment augments images" in refused
