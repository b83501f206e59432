"""GAN losses as pure functions of discriminator logits, stable via softplus.

log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x).
Every discriminator loss is minimised by D; every generator loss by G.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from gankit import arguments


def bce_discriminator(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """-V(D, G) of Goodfellow et al. 2014, Eq. 1, with real label `real_target` (1 = no smoothing)."""
    real = real_target * F.softplus(-real_logits) + (1.0 - real_target) * F.softplus(real_logits)
    return real.mean() + F.softplus(fake_logits).mean()


def minimax_generator(fake_logits: Tensor) -> Tensor:
    """Saturating G loss: minimise E log(1 - D(G(z))) (Goodfellow et al. 2014, Eq. 1)."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_generator(fake_logits: Tensor) -> Tensor:
    """Non-saturating G loss: maximise E log D(G(z)) (Goodfellow et al. 2014, Sec. 3)."""
    return F.softplus(-fake_logits).mean()


def least_squares_discriminator(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0
) -> Tensor:
    """LSGAN D loss (Mao et al. 2017, Eq. 2 with a=0, b=real_target)."""
    return 0.5 * ((real_logits - real_target) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def least_squares_generator(fake_logits: Tensor) -> Tensor:
    """LSGAN G loss (Mao et al. 2017, Eq. 2 with c=1)."""
    return 0.5 * ((fake_logits - 1.0) ** 2).mean()


def hinge_discriminator(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge D loss (Lim & Ye 2017; Miyato et al. 2018, Eq. 16)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def wasserstein_discriminator(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """WGAN critic loss: E D(G(z)) - E D(x) (Arjovsky et al. 2017)."""
    return fake_logits.mean() - real_logits.mean()


def critic_generator(fake_logits: Tensor) -> Tensor:
    """G loss of the hinge and Wasserstein GANs: -E D(G(z))."""
    return -fake_logits.mean()


class GANLoss(nn.Module):
    """A pair of loss functions (D, G); penalties such as WGAN-GP's are techniques (gankit.tricks)."""

    def __init__(self, discriminator: Callable[[Tensor, Tensor], Tensor], generator: Callable[[Tensor], Tensor]):
        super().__init__()
        self.discriminator_loss = arguments.batch_function("discriminator", discriminator)
        self.generator_loss = arguments.batch_function("generator", generator)
