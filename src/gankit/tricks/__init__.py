"""Training techniques that plug into the GAN loop ("trick" is the config group, `Technique` the class).

A technique is an nn.Module subclass of `Technique`: its state lives in buffers or submodules, so it is
checkpointed and synchronised; the loop calls the hooks below and never names a technique. The kinds:

- build: change G and D once, when the GAN is built (before optimisers, checkpoints and DDP);
- discriminator_input: transform every batch D sees, real and generated, in every caller of D;
- discriminator_term / generator_term: an extra loss term for one player's update;
- evaluation_generator: the network that sampling, figures and metrics use instead of G;
- after_step: react to a player's optimizer step (running means, EMA);
- evaluate / evaluation_protocol: values a technique measures itself at every evaluation (e.g. the test
  error of a classifier it trains), logged as eval/<name> beside the evaluator's, and how they were measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

if TYPE_CHECKING:
    from gankit.gan import GAN
    from gankit.step import PlayerStep


class Technique(nn.Module):
    """Base class: every hook is optional; a term hook returns an extra loss term or None."""

    replaces_generator_loss: bool = False  # True: G minimises only the techniques' terms
    replaces_discriminator_loss: bool = False  # True: D minimises only the techniques' terms
    scores_points: bool = True  # False: D scores groups of samples, so a per-point D(x) does not exist
    build_order: int = 1  # build hooks run in this order: 0 reshapes networks, 1 reparametrises, 2 copies them
    input_order: int = 1  # input transforms run in this order: 1 per sample (augmentations), 2 groups samples

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        """(G, D) to train, called once in GAN.__init__; may change them in place or wrap them."""
        return generator, discriminator

    def setup(self, gan: GAN) -> None:
        """Called once when fitting starts (check compatibility, register hooks, take snapshots)."""

    def discriminator_input(self, x: Tensor) -> Tensor:
        """What D sees for a batch x [B, *data_shape] (every call of D goes through GAN.discriminate)."""
        return x

    def discriminator_term(self, step: PlayerStep) -> Tensor | None:
        return None

    def generator_term(self, step: PlayerStep) -> Tensor | None:
        return None

    def evaluation_generator(self) -> nn.Module | None:
        """A network to sample from for figures, metrics and pictures instead of G (None: G)."""
        return None

    def after_step(self, player: str, network: nn.Module) -> None:
        """Called after `player` ('generator' or 'discriminator') took an optimizer step."""

    def evaluate(self, gan: GAN) -> dict[str, float]:
        """{name: value} measured by the technique at each evaluation (logged as eval/<name>); {}: none."""
        return {}

    def evaluation_protocol(self) -> dict:
        """How `evaluate` measured its values (written to metrics.json's protocol); {}: nothing measured."""
        return {}
