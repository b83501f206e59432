"""R1 (Mescheder et al. 2018, Eq. 9): gamma / 2 * E_x ||grad_x D(x)||^2 on real data, optionally lazy.

Lazy regularisation (Karras et al. 2020, StyleGAN2 Sec. 3.1): the term is applied every `every` D updates
with its weight multiplied by `every`, so its expected contribution is unchanged. The rhythm follows the GAN's
count of D updates (Game.d_updates, checkpointed), so a resumed run keeps it.
"""

from __future__ import annotations

from torch import Tensor

from gankit import arguments
from gankit.tricks import Trick
from gankit.tricks.penalties import input_gradient_norms


class R1(Trick):
    """Adds gamma / 2 * ||grad_x D(x)||^2 (mean over the real batch) to D's loss every `every` D updates."""

    def __init__(self, gamma: float = 10.0, every: int = 1):
        super().__init__()
        self.gamma = arguments.number("gamma", gamma, above=0.0)
        self.every = arguments.integer("every", every, at_least=1)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        state_dict.pop(prefix + "_extra_state", None)  # checkpoints before 2026-12-04 kept a count of their own
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def discriminator_term(self, step) -> Tensor | None:
        if step.game.d_updates % self.every != 0:
            return None
        return self.every * self.gamma / 2 * (input_gradient_norms(step.game, step.real) ** 2).mean()
