"""One-sided label smoothing (Salimans et al. 2016, Sec. 3.4): D's real target is alpha, fake targets stay 0.

With real target alpha the D loss -alpha log D(x) - (1 - alpha) log(1 - D(x)) is minimised at
D(x) = alpha; smoothing the fake targets too would be two-sided, which the paper advises against.
alpha lives in this trick only: it checks, when built, that the loss has such a target, and wraps D's loss
with the target bound to alpha when fitting starts (Trick.wrap_discriminator_loss: the loss object is left as
it was).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from gankit import arguments
from gankit.errors import BadArgument, ConfigError
from gankit.tricks import Trick

WITH_TARGET = "minimax, nonsaturating, least_squares"  # conf/loss options whose D loss takes real_target


def _function(loss: Callable) -> Callable:
    while isinstance(loss, functools.partial):
        loss = loss.func
    return loss


def _check(loss: Callable, alpha: float) -> None:
    """A ConfigError unless `loss` takes a real_target that is unset or equal to alpha."""
    function = _function(loss)
    if "real_target" not in inspect.signature(function).parameters:
        name = getattr(function, "__name__", repr(function)).removesuffix("_discriminator")
        raise ConfigError(
            f"trick=label_smoothing needs a loss with a real-data target ({WITH_TARGET}); loss={name} has none"
        )
    bound = loss.keywords.get("real_target") if isinstance(loss, functools.partial) else None
    if bound is not None and float(bound) != alpha:
        raise BadArgument("alpha", f"{{key}}={alpha} disagrees with {{key:discriminator_loss}}.real_target={bound}; "
                                   "set the target with {key} only")


class LabelSmoothing(Trick):
    """Sets D's target on real data to `alpha` (0.9 in the paper); refuses losses without one (hinge, wasserstein)."""

    def __init__(self, alpha: float = 0.9, discriminator_loss: Callable | None = None):
        super().__init__()
        self.alpha = arguments.number("alpha", alpha, above=0, at_most=1)
        if discriminator_loss is not None:
            _check(discriminator_loss, self.alpha)

    def wrap_discriminator_loss(self, loss: Callable) -> Callable:
        _check(loss, self.alpha)
        return functools.partial(loss, real_target=self.alpha)
