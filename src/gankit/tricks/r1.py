"""R1 (Mescheder et al. 2018, Eq. 9): gamma / 2 * E_x ||grad_x D(x)||^2 on real data, optionally lazy.

Lazy regularisation (Karras et al. 2020, StyleGAN2 Sec. 3.1): the term is applied every `every` D updates
with its weight multiplied by `every`, so its expected contribution is unchanged.
"""

from __future__ import annotations

from torch import Tensor

from gankit import arguments
from gankit.tricks import Technique
from gankit.tricks.penalties import input_gradient_norms


class R1(Technique):
    """Adds gamma / 2 * ||grad_x D(x)||^2 (mean over the real batch) to D's loss every `every` D updates."""

    def __init__(self, gamma: float = 10.0, every: int = 1):
        super().__init__()
        self.gamma = arguments.number("gamma", gamma, above=0.0)
        self.every = arguments.integer("every", every, at_least=1)
        self.d_updates = 0  # in the state_dict (extra state), so the lazy rhythm resumes

    def get_extra_state(self) -> dict:
        return {"d_updates": self.d_updates}

    def set_extra_state(self, state: dict) -> None:
        self.d_updates = int(state["d_updates"])

    def discriminator_term(self, step) -> Tensor | None:
        due = self.d_updates % self.every == 0
        self.d_updates += 1
        if not due:
            return None
        return self.every * self.gamma / 2 * (input_gradient_norms(step.gan, step.real) ** 2).mean()
