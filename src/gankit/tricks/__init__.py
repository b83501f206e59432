"""Training techniques that plug into the GAN loop: one name, "trick", for the config group (`trick=...`), the
class (`Trick`) and the GAN's attribute (`GAN.tricks`, the checkpoint's `tricks.*` keys).

A trick is an nn.Module subclass of `Trick`: its state lives in buffers or submodules, so it is checkpointed and
synchronised; the loop calls the hooks below and never names a trick. It sees the GAN only through a
`gankit.game.Game` (the players, D's scoring, the optimizers by name, the losses, the update count, the data). The
kinds:

- build: change G and D once, when the GAN is built (before optimisers, checkpoints and DDP), in the phases of
  BUILD_PHASES (`build_phase`);
- setup: once when fitting starts, with the Game;
- discriminator_input: transform every batch D sees, real and generated, in every caller of D, in the phases of
  INPUT_PHASES (`input_phase`);
- wrap_discriminator_loss: D's loss function as every D update (and a look-ahead) uses it (label smoothing);
- discriminator_term / generator_term: an extra loss term for one player's update;
- evaluation_generator: the network that sampling, figures and metrics use instead of G;
- after_step: react to a player's optimizer step (running means, EMA);
- evaluate / evaluation_protocol: values a technique measures itself at every evaluation (e.g. the test
  error of a classifier it trains), logged as eval/<name> beside the evaluator's, and how they were measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import Tensor, nn

if TYPE_CHECKING:
    from gankit.game import Game
    from gankit.step import PlayerStep

# The build hooks run phase by phase: the networks are reshaped (PacGAN's input, the semi-supervised head), then
# their layers reparametrised (spectral and weight norm), then copied (the EMA of G) once final.
BUILD_PHASES = ("reshape", "reparametrise", "copy")
# The input transforms run phase by phase: per sample (augmentations), then grouping samples (PacGAN's packs).
INPUT_PHASES = ("per_sample", "grouped")


class Trick(nn.Module):
    """Base class: every hook is optional; a term hook returns an extra loss term or None."""

    replaces_generator_loss: bool = False  # True: G minimises only the tricks' terms
    replaces_discriminator_loss: bool = False  # True: D minimises only the tricks' terms
    scores_points: bool = True  # False: D scores groups of samples, so a per-point D(x) does not exist
    build_phase: str = "reparametrise"  # one of BUILD_PHASES
    input_phase: str = "per_sample"  # one of INPUT_PHASES

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        """(G, D) to train, called once in GAN.__init__; may change them in place or wrap them."""
        return generator, discriminator

    def setup(self, game: Game) -> None:
        """Called once when fitting starts (check compatibility, register hooks, take snapshots)."""

    def discriminator_input(self, x: Tensor) -> Tensor:
        """What D sees for a batch x [B, *data_shape] (every call of D goes through GAN.discriminate)."""
        return x

    def wrap_discriminator_loss(self, loss: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
        """D's loss function (real logits, fake logits) -> loss, as the loop will use it; called after setup."""
        return loss

    def discriminator_term(self, step: PlayerStep) -> Tensor | None:
        return None

    def generator_term(self, step: PlayerStep) -> Tensor | None:
        return None

    def evaluation_generator(self) -> nn.Module | None:
        """A network to sample from for figures, metrics and pictures instead of G (None: G)."""
        return None

    def after_step(self, player: str, network: nn.Module) -> None:
        """Called after `player` ('generator' or 'discriminator') took an optimizer step."""

    def evaluate(self, game: Game) -> dict[str, float]:
        """{name: value} measured by the technique at each evaluation (logged as eval/<name>); {}: none."""
        return {}

    def evaluation_protocol(self) -> dict:
        """How `evaluate` measured its values (written to metrics.json's protocol); {}: nothing measured."""
        return {}
