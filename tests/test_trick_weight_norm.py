"""Weight norm: D's layers become g v / ||v|| per output unit (dim 1 for transposed convolutions)."""

import torch
from torch.nn.utils import parametrize

from train import build_run


def test_d_layers_are_weight_normalised_per_output_unit(make_config):
    _, gan, _ = build_run(make_config("trick=weight_norm", "trick.weight_norm.generator=true", "dataset.image_size=16",
                                      "model.generator.width=8", "model.discriminator.width=8"))
    d_layers = [m for m in gan.discriminator.modules() if parametrize.is_parametrized(m, "weight")]
    assert len(d_layers) == 3
    for layer in d_layers:
        g = layer.parametrizations.weight.original0  # [out, 1, 1, 1]
        norms = layer.weight.detach().flatten(1).norm(dim=1)  # [out]
        assert torch.allclose(norms, g.detach().flatten().abs(), atol=1e-5)
    transposed = next(m for m in gan.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    g = transposed.parametrizations.weight.original0  # [1, out, 1, 1]: output units are dim 1
    assert g.shape[1] == transposed.weight.shape[1] and g.shape[0] == 1
