"""What one player's update sees: the batches and the discriminator's outputs on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from gankit.game import Game


@dataclass(kw_only=True)
class PlayerStep:
    """Tensors of one D or G update; D's outputs on real data are computed on first use."""

    game: Game  # what a trick sees of the GAN: game.discriminate(x) scores a batch as the update does
    real: Tensor  # [B, *data_shape]
    fake: Tensor  # [B, *data_shape]; detached in a D update
    fake_logits: Tensor  # [P]: P = B, or B / m when D scores packs of m samples
    fake_features: Tensor  # [P, F]
    real_logits: Tensor | None = None  # [P]
    real_features: Tensor | None = None  # [P, F]

    @property
    def discriminator(self) -> nn.Module:
        return self.game.discriminator

    @property
    def generator(self) -> nn.Module:
        return self.game.generator

    def real_outputs(self) -> tuple[Tensor, Tensor]:
        """(logits, features) of D on the real batch; in a G update they carry no gradient and leave D's
        state (BatchNorm running statistics) as it was."""
        if self.real_logits is None:
            with torch.no_grad():
                self.real_logits, self.real_features = self.game.discriminate(self.real, keep_state=True)
        return self.real_logits, self.real_features
