"""DiffAugment: differentiable, identical for a fixed seed, each transform does what it says, images only."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.tricks.diffaugment import DiffAugment, cutout, translation


def images(n=8):
    return torch.rand(n, 3, 16, 16) * 2 - 1  # [B, C, H, W]


def test_it_is_differentiable_and_repeats_for_a_fixed_seed():
    augment = DiffAugment()
    x = images().requires_grad_(True)
    torch.manual_seed(3)
    first = augment.discriminator_input(x)
    first.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(3)
    assert torch.equal(augment.discriminator_input(x), first)
    torch.manual_seed(4)
    assert not torch.equal(augment.discriminator_input(x), first)


def test_translation_moves_content_and_fills_zeros():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    moved = translation(x)  # shifts of up to 2 pixels each way
    rows, cols = (moved[:, 0] == 1).nonzero()[:, 1], (moved[:, 0] == 1).nonzero()[:, 2]
    assert moved.sum(dim=(1, 2, 3)).eq(1).all()  # the pixel stays inside
    assert (rows - 8).abs().max() <= 2 and (cols - 8).abs().max() <= 2 and len(set(rows.tolist())) > 1


def test_cutout_zeros_a_quarter_of_each_image_on_average():
    kept = cutout(torch.ones(256, 1, 16, 16)).mean().item()
    assert 0.7 < kept < 0.85  # an 8x8 square, partly outside the image at the borders


def test_eval_mode_sees_plain_images_and_vectors_are_refused():
    augment = DiffAugment().eval()
    x = images()
    assert torch.equal(augment.discriminator_input(x), x)
    with pytest.raises(ConfigError, match="augments images"):
        DiffAugment(data_shape=[2])
    with pytest.raises(ConfigError, match="policy"):
        DiffAugment(policy="colour")
