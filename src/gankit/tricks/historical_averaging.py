"""Historical averaging (Salimans et al. 2016, Sec. 3.3): weight * ||theta - (1/t) sum_i theta[i]||^2 per player.

The running mean includes the parameters at the start, so the penalty is 0 at the first step; it is
updated after each of the player's optimizer steps and kept in buffers, so it is checkpointed and
resumed. The authors' code has no implementation; this is the paper's formula.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import get_swa_multi_avg_fn

from gankit import arguments
from gankit.errors import BadArgument
from gankit.tricks import Trick

PLAYERS = ("generator", "discriminator")  # the player names the loop passes to after_step


def _key(parameter_name: str) -> str:
    return parameter_name.replace(".", "__")  # buffer names cannot contain dots


class RunningMean(nn.Module):
    """(1/t) sum_{i=1..t} theta[i] for every parameter of one network, as buffers. Each update is PyTorch's
    running-average step (`torch.optim.swa_utils.get_swa_multi_avg_fn`: mean += (theta - mean) / t, one foreach
    call over the parameters). t is a buffer (checkpointed) mirrored by a Python int, so that no step reads it back
    from the GPU (a device sync)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # t
        self._count: int | None = None  # t on the host; None: read from the buffer once (new, or loaded)

    def steps(self) -> int:
        if self._count is None:
            self._count = int(self.count)  # the one read after a start or a load
        return self._count

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """Add the network's current parameters to the mean (the first call starts it)."""
        first = self.steps() == 0
        self.count += 1
        self._count += 1
        seen = []  # (mean, parameter) of the parameters already averaged
        for name, parameter in network.named_parameters():
            if first or not hasattr(self, _key(name)):  # a parameter not seen before starts its own mean
                self.register_buffer(_key(name), parameter.detach().clone())
            else:
                seen.append((getattr(self, _key(name)), parameter.detach()))
        if seen:  # mean of t - 1 -> mean of t
            get_swa_multi_avg_fn()([m for m, _ in seen], [p for _, p in seen], self._count - 1)

    def penalty(self, network: nn.Module) -> Tensor:
        """sum over parameters of ||theta - mean||^2; starts the mean if it is empty."""
        if self.steps() == 0:
            self.update(network)
        terms = [((p - getattr(self, _key(n))) ** 2).sum() for n, p in network.named_parameters()]
        return torch.stack(terms).sum()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name, value in state_dict.items():  # means saved by a run whose networks were seen
            key = name.removeprefix(prefix)
            if name.startswith(prefix) and key != "count" and "." not in key and not hasattr(self, key):
                self.register_buffer(key, torch.empty_like(value, device=self.count.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._count = None  # the loaded t


class HistoricalAveraging(Trick):
    """Adds weight * ||theta - running mean of theta||^2 to the losses of `players` (generator, discriminator)."""

    def __init__(self, weight: float = 1e-3, players: Sequence[str] = PLAYERS):
        super().__init__()
        self.weight = arguments.number("weight", weight, above=0.0)
        players = arguments.sequence("players", players, arguments.text, non_empty=False)
        if not players or not all(p in PLAYERS for p in players):
            raise BadArgument("players", f"{{key}} must name players among {', '.join(PLAYERS)}, got {{key}}={players}")
        self.history = nn.ModuleDict({player: RunningMean() for player in players})

    def discriminator_term(self, step) -> Tensor | None:
        return self._penalty("discriminator", step.discriminator)

    def generator_term(self, step) -> Tensor | None:
        return self._penalty("generator", step.generator)

    def after_step(self, player: str, network: nn.Module) -> None:
        if player in self.history:
            self.history[player].update(network)

    def _penalty(self, player: str, network: nn.Module) -> Tensor | None:
        return self.weight * self.history[player].penalty(network) if player in self.history else None
