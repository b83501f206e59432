"""Unrolled GAN (Metz et al. 2017, Eqs. 6-7): G's loss is taken against D after `steps` look-ahead updates.

theta_D^0 = theta_D; theta_D^{k+1} = theta_D^k + step(d L_D(theta_D^k) / d theta_D^k); G minimises its
adversarial loss against theta_D^K and differentiates through the K updates (second-order terms, as the
paper's full method). The look-ahead uses D's own optimizer's rule: Adam with its current moments and
hyperparameters when D trains with Adam (as in the authors' code), plain SGD at D's learning rate otherwise.
D's real update stays one ordinary step and its weights and buffers are left as they were. The look-ahead
objective is the GAN loss (label smoothing included); other D terms (penalties) are left out of it.
Cost: K extra D forward and double-backward passes per G update.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit import arguments
from gankit.tricks import Technique


def _adam_step(theta: Tensor, grad: Tensor, state: dict, group: dict, t: int, moments: dict) -> Tensor:
    """One differentiable Adam update from moments (m, v) at step t; updates `moments` in place."""
    beta1, beta2 = group["betas"]
    m, v = moments.get("m", state.get("exp_avg")), moments.get("v", state.get("exp_avg_sq"))
    m = grad * (1 - beta1) if m is None else beta1 * m + (1 - beta1) * grad
    v = grad * grad * (1 - beta2) if v is None else beta2 * v + (1 - beta2) * grad * grad
    moments.update(m=m, v=v)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    eps = group["eps"]
    return theta - group["lr"] * m_hat / ((v_hat + eps * eps).sqrt() + eps)  # +eps^2: finite gradient at v = 0


class Unrolled(Technique):
    """Replaces G's adversarial loss by the one against D unrolled `steps` updates (5 in the paper; 10 also)."""

    replaces_generator_loss = True

    def __init__(self, steps: int = 5):
        super().__init__()
        self.steps = arguments.integer("steps", steps, at_least=1)

    def generator_term(self, step) -> Tensor:
        gan = step.gan
        optimizer = gan.optimizers(use_pl_optimizer=False)[1]  # D's
        group = optimizer.param_groups[0]
        adam = isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW))
        names = [n for n, _ in gan.discriminator.named_parameters()]
        originals = [p for _, p in gan.discriminator.named_parameters()]
        theta = [p.detach().requires_grad_(True) for p in originals]  # theta_D^0: G needs no gradient of it
        moments = [{} for _ in theta]
        for k in range(self.steps):
            with torch.enable_grad():
                current = dict(zip(names, theta, strict=True))  # theta_D^k by name
                real_logits, _ = gan.discriminate(step.real, parameters=current, keep_state=True)
                fake_logits, _ = gan.discriminate(step.fake, parameters=current, keep_state=True)
                loss = gan.loss.discriminator_loss(real_logits, fake_logits)
                grads = torch.autograd.grad(loss, theta, create_graph=True, allow_unused=True)
            theta = [self._update(t, g, optimizer.state.get(p, {}), group, m, adam, k)
                     for t, g, p, m in zip(theta, grads, originals, moments, strict=True)]
        fake_logits, _ = gan.discriminate(step.fake, parameters=dict(zip(names, theta, strict=True)), keep_state=True)
        return gan.loss.generator_loss(fake_logits)

    @staticmethod
    def _update(theta: Tensor, grad: Tensor | None, state: dict, group: dict, moments: dict, adam: bool,
                k: int) -> Tensor:
        if grad is None:  # a parameter the D loss does not reach
            return theta
        if not adam:
            return theta - group["lr"] * grad
        t = int(state["step"]) + k + 1 if "step" in state else k + 1
        return _adam_step(theta, grad, state, group, t, moments)
