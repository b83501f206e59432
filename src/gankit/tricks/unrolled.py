"""Unrolled GAN (Metz et al. 2017, Eq. 6; the authors' notebook): G minimises f_K = V(theta_G, theta_D^K).

theta_D^0 is D as this iteration's D update found it (its weights and its optimizer's state, kept when that update
starts); theta_D^{k+1} is one step of D's own optimizer on D's loss at theta_D^k, on the iteration's real and
generated batches, differentiable (create_graph), so the real-data term E log D_K(x) of V reaches theta_G through
d theta_D^K / d theta_G. G's loss is V at theta_D^K = -(D's loss there): both terms, as the notebook minimises
-unrolled_loss; the configured G loss is not used (with loss=nonsaturating the fake term is log(1 - D), as the
paper's). D's own update stays one ordinary step, and the look-ahead leaves D's weights, buffers and optimizer state
as they were. The rules unrolled: torch.optim.Adam's (moments, step count, lr, betas, eps and bias corrections as it
computes them) and SGD without momentum; other optimizers or options are refused. With d_steps > 1 the look-ahead
starts from D before the iteration's last D update. Other D terms (penalties, the semi-supervised cross-entropy) are
not part of the look-ahead objective. Cost: K extra D forward and double-backward passes per G update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gankit import arguments
from gankit.errors import ConfigError
from gankit.tricks import Trick

Update = Callable[[Tensor, Tensor, dict, dict, int, dict], Tensor]  # (theta, grad, state, group, k, moments)


def _adam(theta: Tensor, grad: Tensor, state: dict, group: dict, k: int, moments: dict) -> Tensor:
    """Look-ahead step k + 1 with torch.optim.Adam's rule from D's state (Kingma & Ba 2015, Algorithm 1)."""
    beta1, beta2 = group["betas"]
    t = int(state.get("step", 0)) + k + 1
    m = moments.get("m", state.get("exp_avg", torch.zeros_like(theta)))
    v = moments.get("v", state.get("exp_avg_sq", torch.zeros_like(theta)))
    moments["m"] = m = beta1 * m + (1 - beta1) * grad
    moments["v"] = v = beta2 * v + (1 - beta2) * grad * grad
    eps = group["eps"]
    denominator = (v / (1 - beta2**t) + eps * eps).sqrt() + eps  # + eps^2: a finite gradient where v = 0
    return theta - group["lr"] / (1 - beta1**t) * m / denominator


def _sgd(theta: Tensor, grad: Tensor, state: dict, group: dict, k: int, moments: dict) -> Tensor:
    """Look-ahead step with plain gradient descent at D's learning rate."""
    return theta - group["lr"] * grad


def _rule(optimizer: torch.optim.Optimizer) -> Update:
    """The look-ahead's update for D's optimizer, or a ConfigError for one it does not unroll."""
    adam = isinstance(optimizer, torch.optim.Adam)
    sgd = isinstance(optimizer, torch.optim.SGD)
    for group in optimizer.param_groups:
        options = {"weight_decay": group.get("weight_decay", 0), "maximize": group.get("maximize", False),
                   "amsgrad": group.get("amsgrad", False), "momentum": group.get("momentum", 0)}
        used = [name for name, value in options.items() if value]
        if not (adam or sgd) or used:
            what = type(optimizer).__name__ + (f" with {', '.join(used)}" if used else "")
            raise ConfigError(f"trick=unrolled unrolls D's optimizer as Adam or SGD without momentum, weight decay, "
                              f"amsgrad or maximize; D's is {what}")
    return _adam if adam else _sgd


@dataclass
class _Start:
    """theta_D^0: D's parameters (copies) with their optimizer state and hyperparameters, by name."""

    names: list[str]
    theta: list[Tensor]
    trainable: list[bool]
    state: list[dict]  # exp_avg, exp_avg_sq, step (Adam); {} before D's first step
    groups: list[dict]


def _copied(state: dict) -> dict:
    return {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}


def _snapshot(discriminator: torch.nn.Module, optimizer: torch.optim.Optimizer, in_d_update: bool) -> _Start:
    """D and its optimizer state now; `in_d_update`: D's requires_grad flags are its own (a G update clears them)."""
    group_of = {p: group for group in optimizer.param_groups for p in group["params"]}
    named = list(discriminator.named_parameters())
    return _Start(names=[n for n, _ in named], theta=[p.detach().clone() for _, p in named],
                  trainable=[p in group_of and (p.requires_grad or not in_d_update) for _, p in named],
                  state=[_copied(optimizer.state.get(p, {})) for _, p in named],
                  groups=[group_of.get(p) for _, p in named])


class Unrolled(Trick):
    """Replaces G's adversarial loss by V against D unrolled `steps` updates (5 and 10 in the paper)."""

    replaces_generator_loss = True

    def __init__(self, steps: int = 5):
        super().__init__()
        self.steps = arguments.integer("steps", steps, at_least=1)
        self._start: _Start | None = None  # kept by each D update for the G update that follows it

    def setup(self, game) -> None:
        _rule(game.optimizer("discriminator"))

    def discriminator_term(self, step) -> None:
        """Keeps D and its optimizer state before this D update: where the next look-ahead starts."""
        self._start = _snapshot(step.game.discriminator, step.game.optimizer("discriminator"), in_d_update=True)

    def generator_term(self, step) -> Tensor:
        game = step.game
        optimizer = game.optimizer("discriminator")
        start = self._start or _snapshot(game.discriminator, optimizer, in_d_update=False)  # no D update yet
        theta = self.look_ahead(game, start, step.real, step.fake, _rule(optimizer))
        real_logits, _ = game.discriminate(step.real, parameters=theta, keep_state=True)  # [P]
        fake_logits, _ = game.discriminate(step.fake, parameters=theta, keep_state=True)
        return -game.discriminator_loss(real_logits, fake_logits)  # V(theta_G, theta_D^K)

    def look_ahead(self, game, start: _Start, real: Tensor, fake: Tensor, update: Update) -> dict[str, Tensor]:
        """theta_D^K by name, a differentiable function of `fake` (G's batch, with its graph)."""
        theta = [t.clone().requires_grad_(trainable) for t, trainable in zip(start.theta, start.trainable, strict=True)]
        trained = [i for i, trainable in enumerate(start.trainable) if trainable]
        moments = [{} for _ in theta]
        for k in range(self.steps):
            with torch.enable_grad():
                current = dict(zip(start.names, theta, strict=True))  # theta_D^k
                real_logits, _ = game.discriminate(real, parameters=current, keep_state=True)
                fake_logits, _ = game.discriminate(fake, parameters=current, keep_state=True)
                loss = game.discriminator_loss(real_logits, fake_logits)
                grads = torch.autograd.grad(loss, [theta[i] for i in trained], create_graph=True, allow_unused=True)
            for i, grad in zip(trained, grads, strict=True):
                if grad is not None:  # None: a parameter D's loss does not reach
                    theta[i] = update(theta[i], grad, start.state[i], start.groups[i], k, moments[i])
        return dict(zip(start.names, theta, strict=True))
