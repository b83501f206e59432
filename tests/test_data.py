"""Toy distributions and the digits split: modes, ranges, shapes, batches."""

import math

import pytest
import torch

from gankit.data.batches import TensorBatches
from gankit.data.digits import DigitsDataModule
from gankit.data.toy import Circle, Gaussian1D, Grid, Ring, ToyDataModule
from gankit.errors import ConfigError


def test_ring_has_8_modes_on_the_unit_circle_at_multiples_of_45_degrees():
    ring = Ring()
    assert ring.modes.shape == (8, 2)
    assert torch.allclose(ring.modes.norm(dim=1), torch.ones(8))
    angles = torch.atan2(ring.modes[:, 1], ring.modes[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles, torch.arange(8) * math.pi / 4, atol=1e-6)
    assert ring.std == 0.01


def test_grid_has_25_modes_on_the_even_lattice():
    grid = Grid()
    assert grid.modes.shape == (25, 2) and grid.std == 0.05
    assert sorted(set(grid.modes[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


@pytest.mark.parametrize("dist", [Ring(), Grid()])
def test_mixture_samples_sit_on_their_modes_and_cover_all(dist):
    torch.manual_seed(0)
    x = dist.sample(5000)
    distance, nearest = torch.cdist(x, dist.modes).min(dim=1)
    assert (distance < 4 * dist.std).float().mean() > 0.999
    assert len(nearest.unique()) == len(dist.modes)


def test_gaussian1d_and_circle():
    torch.manual_seed(0)
    x = Gaussian1D(mean=4.0, std=0.5).sample(20000)
    assert x.shape == (20000, 1)
    assert x.mean().item() == pytest.approx(4.0, abs=0.02)
    assert x.std().item() == pytest.approx(0.5, abs=0.02)
    c = Circle(radius=1.0, noise=0.0).sample(100)
    assert torch.allclose(c.norm(dim=1), torch.ones(100), atol=1e-5)


def test_toy_datamodule_yields_fresh_batches():
    dm = ToyDataModule(Ring(), batch_size=32, batches_per_epoch=3)
    batches = list(dm.train_dataloader())
    assert len(batches) == 3 and batches[0].shape == (32, 2)
    assert not torch.equal(batches[0], batches[1])


def test_digits_split_shapes_and_range():
    dm = DigitsDataModule(image_size=16, batch_size=50)
    dm.setup()
    assert dm.train_images.shape == (1437, 1, 16, 16)
    assert dm.test_images.shape == (360, 1, 16, 16)
    assert dm.train_images.min() >= -1 and dm.train_images.max() <= 1
    assert dm.train_images.min() == -1 and dm.train_images.max() > 0.9
    assert set(dm.test_labels.tolist()) == set(range(10))
    first = next(iter(dm.train_dataloader()))
    assert first.shape == (50, 1, 16, 16)


def test_digits_split_is_fixed():
    a, b = DigitsDataModule(image_size=8), DigitsDataModule(image_size=8)
    a.setup(), b.setup()
    assert torch.equal(a.test_images, b.test_images)


def test_digits_batch_larger_than_the_data_is_refused():
    with pytest.raises(ConfigError, match="batch_size=5000"):
        DigitsDataModule(batch_size=5000).setup()


def test_tensor_batches_cover_each_item_once_per_pass():
    data = torch.arange(10).float()
    batches = list(TensorBatches(data, batch_size=3))
    assert len(batches) == 3 and all(len(b) == 3 for b in batches)
    seen = torch.cat(batches)
    assert len(seen.unique()) == 9
