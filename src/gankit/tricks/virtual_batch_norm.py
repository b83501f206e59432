"""Virtual batch normalisation (Salimans et al. 2016, Sec. 3.5) of the generator.

Each example x is normalised with the statistics of a reference batch fixed at the start plus x
itself: mean = 1/(N+1) mean(x) + N/(N+1) mean(ref), likewise the mean square, per channel. So in
train and eval mode alike an example's output does not depend on the rest of its batch.
`VirtualBatchNorm` is the layer (G's `norm` factory); `ReferenceBatch` is the technique that keeps
the reference noise in a buffer and, before every G forward, re-runs it through the current G so
each layer records the reference statistics (with their gradient, as in the authors' code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit import arguments
from gankit.errors import BadArgument, ConfigError
from gankit.tricks import Trick

if TYPE_CHECKING:
    from gankit.game import Game


class VirtualBatchNorm(nn.Module):
    """VBN over channels (dim 1) of [B, C] or [B, C, H, W]; gamma ~ N(1, 0.02), beta = 0, eps 1e-5.

    `momentum` is accepted so that VBN can replace a configured BatchNorm (e.g. model=pacgan_mlp's momentum 0.05),
    and unused: VBN keeps no running statistics; the reference batch stands in for them."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = None):
        super().__init__()
        self.eps = arguments.number("eps", eps, above=0.0)
        self.weight = nn.Parameter(1.0 + 0.02 * torch.randn(num_features))  # gamma [C]
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta [C]
        self.recording = False  # True while the reference batch passes: record its statistics
        self.reference: tuple[Tensor, Tensor, int] | None = None  # mean, mean square [1, C, 1..], N

    def forward(self, x: Tensor) -> Tensor:
        spatial = list(range(2, x.dim()))
        if self.recording:
            mean, mean_sq = x.mean([0, *spatial], keepdim=True), (x * x).mean([0, *spatial], keepdim=True)
            self.reference = (mean, mean_sq, x.shape[0])  # [1, C, 1, 1] each
            return self._normalise(x, mean, mean_sq)
        if self.reference is None:
            raise RuntimeError(
                "VirtualBatchNorm has no reference statistics: the virtual_batch_norm technique records "
                "them before each generator forward once its setup(game) ran (GAN.on_fit_start calls it)"
            )
        ref_mean, ref_mean_sq, n = self.reference
        own_mean = x.mean(spatial, keepdim=True) if spatial else x  # [B, C, 1, 1]
        own_mean_sq = (x * x).mean(spatial, keepdim=True) if spatial else x * x
        new = 1.0 / (n + 1)
        mean = new * own_mean + (1.0 - new) * ref_mean  # [B, C, 1, 1]
        mean_sq = new * own_mean_sq + (1.0 - new) * ref_mean_sq
        return self._normalise(x, mean, mean_sq)

    def _normalise(self, x: Tensor, mean: Tensor, mean_sq: Tensor) -> Tensor:
        shape = [1, -1] + [1] * (x.dim() - 2)
        std = torch.sqrt(self.eps + (mean_sq - mean * mean).clamp_min(0.0))
        return (x - mean) / std * self.weight.view(shape) + self.bias.view(shape)


class ReferenceBatch(Trick):
    """Keeps the reference noise [size, latent_dim] (a buffer, checkpointed; under DDP broadcast from rank 0 at
    fit start) and feeds it to G before each forward."""

    def __init__(self, latent_dim: int, size: int = 64):
        super().__init__()
        size = arguments.integer("size", size, at_least=2)  # statistics of one sample normalise it to 0
        latent_dim = arguments.integer("latent_dim", latent_dim, at_least=1)
        self.register_buffer("noise", torch.randn(size, latent_dim))  # [N, latent_dim], drawn once
        self._layers: dict[int, list[VirtualBatchNorm]] = {}  # id(generator) -> its VBN layers
        self._handles: list = []
        self._in_reference_pass = False

    def setup(self, game: Game) -> None:
        if self.noise.shape[1] != game.latent_dim:
            raise BadArgument("latent_dim", f"differs from the generator's latent_dim={game.latent_dim}",
                              value=self.noise.shape[1], show_value=True, owner=self)
        networks = {id(g): g for g in (game.generator, game.evaluation_generator)}.values()  # G, its EMA
        self._layers = {id(g): [m for m in g.modules() if isinstance(m, VirtualBatchNorm)] for g in networks}
        if not self._layers[id(game.generator)]:
            raise ConfigError(
                "trick=virtual_batch_norm found no VirtualBatchNorm layer in the generator; "
                "its norm was overridden or it takes no norm"
            )
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast(self.noise, src=0)  # under DDP every process uses rank 0's reference batch
        for handle in self._handles:  # setup again (a second fit): hook once
            handle.remove()
        self._handles = [h for g in networks for h in (g.register_forward_pre_hook(self._reference_pass),
                                                         g.register_forward_hook(self._forget))]

    def _reference_pass(self, generator: nn.Module, args) -> None:
        """Before G(z): G(reference noise) with the current weights, recording each layer's statistics."""
        if self._in_reference_pass:
            return
        self._in_reference_pass = True
        layers = self._layers[id(generator)]
        try:
            for layer in layers:
                layer.recording = True
            generator(self.noise)
        finally:
            for layer in layers:
                layer.recording = False
            self._in_reference_pass = False

    def _forget(self, generator: nn.Module, args, output) -> None:
        """After G(z): drop the reference statistics so no graph outlives the step."""
        if not self._in_reference_pass:
            for layer in self._layers[id(generator)]:
                layer.reference = None
