"""Weight initialisation: N(0, std) for linear and convolutional layers (Radford et al. 2015, Sec. 4: 0.02)."""

from torch import nn


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) weights and zero biases for Linear/Conv layers; apply with `net.apply(...)`."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.: N(0, 0.02) weights, BN gamma ~ N(1, 0.02); apply with `net.apply(dcgan_init)`."""
    normal_init(module, 0.02)
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
