"""Training techniques (Salimans et al. 2016 and others) that plug into the GAN loop.

A technique is an nn.Module subclass of `Technique`: state lives in its buffers, so it is
checkpointed; the loop calls the hooks below and never names a technique.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

if TYPE_CHECKING:
    from gankit.gan import GAN
    from gankit.step import PlayerStep


class Technique(nn.Module):
    """Base class: every hook is optional; a loss hook returns an extra term or None."""

    replaces_generator_loss: bool = False  # True: G minimises only the technique's terms

    def setup(self, gan: GAN) -> None:
        """Called once when fitting starts (check compatibility, register hooks, take snapshots)."""

    def discriminator_loss(self, step: PlayerStep) -> Tensor | None:
        return None

    def generator_loss(self, step: PlayerStep) -> Tensor | None:
        return None

    def after_step(self, player: str, network: nn.Module) -> None:
        """Called after `player` ('generator' or 'discriminator') took an optimizer step."""
