"""Weight initialisation of Radford et al. 2015 (Sec. 4): N(0, 0.02) weights, BN gamma ~ N(1, 0.02)."""

from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """Apply with `net.apply(dcgan_init)`."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
