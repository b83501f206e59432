"""Feature matching (Salimans et al. 2016, Sec. 3.1): G matches batch means of a D layer, Eq. ||E f(x) - E f(G(z))||."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit import arguments
from gankit.errors import BadArgument
from gankit.tricks import Trick

if TYPE_CHECKING:
    from gankit.game import Game
    from gankit.step import PlayerStep


def squared_error(real_mean: Tensor, fake_mean: Tensor) -> Tensor:
    """mean_k (E f_k(x) - E f_k(G(z)))^2, as in the authors' MNIST code."""
    return ((real_mean - fake_mean) ** 2).mean()


def absolute_error(real_mean: Tensor, fake_mean: Tensor) -> Tensor:
    """mean_k |E f_k(x) - E f_k(G(z))|, as in the authors' CIFAR-10 code."""
    return (real_mean - fake_mean).abs().mean()


class FeatureMatching(Trick):
    """G's objective: `weight` * distance between batch means of D's features on real and fake data.

    `layer` names a submodule of D (e.g. "body.1"); None takes the features D returns, its last
    hidden layer. `replace`: the term replaces the adversarial G loss (the paper) or adds to it.
    """

    def __init__(
        self,
        weight: float = 1.0,
        distance: Callable[[Tensor, Tensor], Tensor] = squared_error,
        replace: bool = True,
        layer: str | None = None,
    ):
        super().__init__()
        self.weight = arguments.number("weight", weight, above=0.0)
        self.distance = arguments.batch_function("distance", distance)
        self.layer = arguments.optional(arguments.text, "layer", layer)
        self.replaces_generator_loss = arguments.boolean("replace", replace)

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        self._check_layer(discriminator)
        return generator, discriminator

    def setup(self, game: Game) -> None:
        self._check_layer(game.discriminator)

    def _check_layer(self, discriminator: nn.Module) -> None:
        names = [name for name, _ in discriminator.named_modules() if name]
        if self.layer is not None and self.layer not in names:
            raise BadArgument("layer", f"is not a layer of the discriminator; choose one of: {', '.join(names)}",
                              value=self.layer, show_value=True, owner=self)

    def generator_term(self, step: PlayerStep) -> Tensor:
        if self.layer is None:
            fake = step.fake_features  # [B, F], carries G's gradient through the frozen D
            real = step.real_outputs()[1]  # [B, F], no gradient
        else:
            fake = self._layer_output(step.game, step.fake)
            with torch.no_grad():
                real = self._layer_output(step.game, step.real)
        return self.weight * self.distance(real.mean(0), fake.mean(0))

    def _layer_output(self, game: Game, x: Tensor) -> Tensor:
        """Output of D's submodule `layer` on x, flattened to [P, F]; D's state (BatchNorm statistics) is kept."""
        seen: list[Tensor] = []
        handle = game.discriminator.get_submodule(self.layer).register_forward_hook(
            lambda module, args, output: seen.append(output)
        )
        try:
            game.discriminate(x, keep_state=True)
        finally:
            handle.remove()
        return seen[-1].flatten(1)
