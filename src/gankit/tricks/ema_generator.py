"""An exponential moving average of G's weights (Yazici et al. 2019; Karras et al. 2018) for sampling and evaluation.

After each G step: theta_ema <- beta theta_ema + (1 - beta) theta, with beta = decay, or during warm-up
beta = min(decay, (1 + n) / (10 + n)) after n G steps (the TensorFlow ExponentialMovingAverage rule), so
early averages are not dominated by the random initialisation. Floating-point buffers (BatchNorm running
statistics) are averaged with the same beta, so a BatchNorm G is evaluated with statistics that follow the averaged
weights, not the live G's (torch.optim.swa_utils.AveragedModel(use_buffers=True) does the same; StyleGAN copies
buffers because its G has no BatchNorm); integer buffers (BatchNorm's batch count) are copied. Averaging, rather
than recomputing the statistics of the averaged G at each evaluation, costs nothing extra and needs no choice of
how many batches to recompute them on. The average is a submodule, so it is checkpointed, resumed exactly and moved
with the GAN; samples, figures, metrics and the final pictures use it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.optim.swa_utils import get_ema_multi_avg_fn

from gankit import arguments
from gankit.tricks import Trick


class EMAGenerator(Trick):
    """Keeps `average`, an EMA copy of G (decay 0.999), and offers it as the generator for evaluation."""

    build_phase = "copy"  # G copied after every other build hook changed it

    def __init__(self, decay: float = 0.999, warmup: bool = True):
        super().__init__()
        self.decay = arguments.number("decay", decay, above=0.0, below=1.0)
        self.warmup = arguments.boolean("warmup", warmup)
        self.average: nn.Module | None = None
        self.updates = 0  # G steps averaged so far (extra state: checkpointed)

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        self.average = copy.deepcopy(generator).requires_grad_(False)
        return generator, discriminator

    def evaluation_generator(self) -> nn.Module | None:
        return self.average

    def beta(self) -> float:
        """The weight of the old average at the next update."""
        n = self.updates
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def after_step(self, player: str, network: nn.Module) -> None:
        if player != "generator":
            return
        pairs = list(zip(self.average.parameters(), network.parameters(), strict=True))
        pairs += zip(self.average.buffers(), network.buffers(), strict=True)
        floats = [(average, live.detach()) for average, live in pairs if average.is_floating_point()]
        # PyTorch's EMA step (AveragedModel's, without its copy of G: ours is checkpointed with the run):
        # a += (1 - beta) (x - a), one foreach lerp; beta follows the warm-up rule above
        get_ema_multi_avg_fn(self.beta())([a for a, _ in floats], [x for _, x in floats], None)
        for average, live in pairs:
            if not average.is_floating_point():  # counts (num_batches_tracked)
                average.copy_(live)
        self.updates += 1

    def get_extra_state(self) -> dict:
        return {"updates": self.updates}

    def set_extra_state(self, state: dict) -> None:
        self.updates = int(state["updates"])
