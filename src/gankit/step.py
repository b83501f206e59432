"""What one player's update sees: the batches and the discriminator's outputs on them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class PlayerStep:
    """Tensors of one D or G update; D's outputs on real data are computed on first use."""

    real: Tensor  # [B, *data_shape]
    fake: Tensor  # [B, *data_shape]; detached in a D update
    fake_logits: Tensor  # [B]
    fake_features: Tensor  # [B, F]
    discriminator: nn.Module
    generator: nn.Module
    real_logits: Tensor | None = None  # [B]
    real_features: Tensor | None = None  # [B, F]

    def real_outputs(self) -> tuple[Tensor, Tensor]:
        """(logits, features) of D on the real batch; in a G update they carry no gradient."""
        if self.real_logits is None:
            with torch.no_grad():
                self.real_logits, self.real_features = self.discriminator(self.real)
        return self.real_logits, self.real_features
