"""What a training technique sees of the GAN it plugs into: the two players and D's scoring of a batch, the
players' optimizers by name, the losses (with the techniques' wraps), the count of D updates and the data. A
technique receives a Game (in Trick.setup and Trick.evaluate, and as PlayerStep.game), never the LightningModule,
so the GAN's internals (the order of configure_optimizers, its trainer) can change without touching a technique."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from gankit.gan import GAN


class Game:
    def __init__(self, gan: GAN):
        self._gan = gan

    @property
    def generator(self) -> nn.Module:
        return self._gan.generator

    @property
    def discriminator(self) -> nn.Module:
        return self._gan.discriminator

    @property
    def evaluation_generator(self) -> nn.Module:
        """The network sampling and metrics use: G, or a technique's copy of it (the EMA of G)."""
        return self._gan.generator_for_evaluation

    def discriminate(self, x: Tensor, parameters: Mapping[str, Tensor] | None = None,
                     keep_state: bool = False) -> tuple[Tensor, Tensor]:
        """D's (logits [P], features [P, F]) on x as every update scores it (see GAN.discriminate)."""
        return self._gan.discriminate(x, parameters=parameters, keep_state=keep_state)

    @contextmanager
    def in_eval_mode(self) -> Iterator[None]:
        """Every module of the GAN in eval mode (no D noise, no augmentation, BatchNorm's running statistics),
        each one's mode restored exactly afterwards."""
        modes = [(module, module.training) for module in self._gan.modules()]
        self._gan.eval()
        try:
            yield
        finally:
            for module, training in modes:
                module.train(training)

    def optimizer(self, player: str) -> torch.optim.Optimizer:
        """The torch optimizer of 'generator' or 'discriminator' (while fitting)."""
        return self._gan.optimizer_of(player)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss as its updates use it (the loss option with the techniques' wraps, e.g. label smoothing)."""
        return self._gan.discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return self._gan.loss.generator_loss(fake_logits)

    @property
    def d_updates(self) -> int:
        """D updates so far (= batches so far; checkpointed)."""
        return self._gan.d_updates

    @property
    def data(self):
        """The datamodule being trained on (or evaluated with)."""
        return self._gan.trainer.datamodule

    @property
    def device(self) -> torch.device:
        return torch.device(self._gan.device)

    @property
    def rank(self) -> int:
        """This process's global rank (0 on one device)."""
        return self._gan.global_rank

    @property
    def latent_dim(self) -> int:
        return self._gan.latent_dim

    @property
    def scores_points(self) -> bool:
        """Whether D scores single samples (False when a technique makes it score groups: PacGAN)."""
        return self._gan.scores_points
