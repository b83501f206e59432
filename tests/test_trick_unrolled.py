"""Unrolled GAN: G's gradient equals K explicit Adam steps of D from the iteration's start (Metz et al. 2017, Eq. 6);
D's weights and buffers are left untouched; optimizers it cannot unroll are refused."""

import functools
import math

import lightning.pytorch as pl
import pytest
import torch
import torch.nn.functional as F

from gankit import losses
from gankit.data.toy import Ring, ToyDataModule
from gankit.gan import GAN
from gankit.models.dcgan import DCGANDiscriminator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.tricks import Trick
from gankit.tricks.unrolled import Unrolled
from tests.players import gan_of


class GeneratorGradients(Trick):
    """Records G's loss gradient (w.r.t. the fake batch) and D's state around each G update."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def generator_term(self, step):
        game = step.game
        before = {k: v.clone() for k, v in game.discriminator.state_dict().items()}
        term = self.inner.generator_term(step) if self.inner else game.generator_loss(step.fake_logits)
        (grad,) = torch.autograd.grad(term, step.fake, retain_graph=True)
        after = game.discriminator.state_dict()
        self.seen.append((grad, all(torch.equal(before[k], after[k]) for k in before)))
        return None


def first_g_gradient(inner, discriminator=None):
    torch.manual_seed(0)
    generator = MLPGenerator(4, [2], hidden=[16])
    gan = gan_of(generator, discriminator or MLPDiscriminator([2], hidden=[16]), probe=GeneratorGradients(inner))
    pl.Trainer(max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(gan, datamodule=ToyDataModule(Ring(), batch_size=16,
                                                                              batches_per_epoch=4))
    return gan.tricks["probe"].seen


def test_the_unrolled_gradient_differs_and_d_is_untouched():
    plain, unrolled = first_g_gradient(None), first_g_gradient(Unrolled(steps=5))
    assert len(plain) == len(unrolled) == 2
    for (g_plain, _), (g_unrolled, d_untouched) in zip(plain, unrolled, strict=True):
        assert d_untouched
        assert not torch.allclose(g_plain, g_unrolled, atol=1e-6)
        assert torch.isfinite(g_unrolled).all()
    one_step, five = first_g_gradient(Unrolled(steps=1))[0][0], unrolled[0][0]
    assert not torch.allclose(one_step, five, atol=1e-7)


def test_batchnorm_statistics_of_d_are_untouched_by_the_look_ahead():
    class Images(torch.nn.Module):  # G for 16x16 images from an MLP
        def __init__(self):
            super().__init__()
            self.latent_dim, self.net = 4, torch.nn.Linear(4, 256)

        def forward(self, z):
            return torch.tanh(self.net(z)).view(-1, 1, 16, 16)

    gan = gan_of(Images(), DCGANDiscriminator([1, 16, 16], width=4))
    gan.discriminator.requires_grad_(False)
    from tests.players import generator_step

    fake = gan.generator(torch.randn(8, 4))
    step = generator_step(gan, torch.rand(8, 1, 16, 16), fake)
    optimizer = torch.optim.SGD(gan.discriminator.parameters(), lr=0.1)
    gan.optimizers = lambda use_pl_optimizer=True: [None, optimizer]
    before = {k: v.clone() for k, v in gan.discriminator.state_dict().items()}
    Unrolled(steps=3).generator_term(step).backward()
    assert all(torch.equal(before[k], v) for k, v in gan.discriminator.state_dict().items())
    assert gan.generator.net.weight.grad.abs().sum() > 0


# --- an independent reference: K explicit Adam steps on a hand-written D (Metz et al. 2017, Eq. 6) ---------------

LR, BETAS, EPS, STEPS = 0.02, (0.5, 0.999), 1e-8, 3


def d_of(theta, x):
    """The MLP D written out: Linear(2, 8) -> LeakyReLU(0.2) -> Linear(8, 1); x [B, 2] -> logits [B]."""
    hidden = F.leaky_relu(x @ theta["body.1.weight"].T + theta["body.1.bias"], 0.2)
    return (hidden @ theta["head.weight"].T + theta["head.bias"]).squeeze(-1)


def minus_value(theta, real, fake):
    """D's loss -V = -E log D(x) - E log(1 - D(G(z)))."""
    return F.softplus(-d_of(theta, real)).mean() + F.softplus(d_of(theta, fake)).mean()


def reference_objective(start, real, fake, second_order=True, fresh_moments=False, lr=LR, real_term=True):
    """f_K = V(theta_G, theta_D^K) after K Adam steps of D from `start` (its weights and Adam state)."""
    theta = {n: w.clone().requires_grad_(True) for n, (w, _, _, _) in start.items()}
    m = {n: torch.zeros_like(a) if fresh_moments else a for n, (_, a, _, _) in start.items()}
    v = {n: torch.zeros_like(b) if fresh_moments else b for n, (_, _, b, _) in start.items()}
    beta1, beta2 = BETAS
    for k in range(STEPS):
        grads = torch.autograd.grad(minus_value(theta, real, fake), list(theta.values()), create_graph=second_order)
        for (n, w), g in zip(list(theta.items()), grads, strict=True):
            t = (0 if fresh_moments else start[n][3]) + k + 1
            m[n] = beta1 * m[n] + (1 - beta1) * g
            v[n] = beta2 * v[n] + (1 - beta2) * g * g
            theta[n] = w - lr / (1 - beta1**t) * m[n] / (v[n].sqrt() / math.sqrt(1 - beta2**t) + EPS)
    return -minus_value(theta, real, fake) if real_term else -F.softplus(d_of(theta, fake)).mean()


class Reference(Trick):
    """Keeps D's weights and Adam state before each D update; at each G update, G's gradient from the unrolled
    technique and from the reference (and from wrong variants of it)."""

    def __init__(self, unrolled: Unrolled):
        super().__init__()
        self.start, self.seen = None, []
        self.unrolled = [unrolled]  # in a list: not a submodule of this one

    def discriminator_term(self, step):
        optimizer = step.game.optimizer("discriminator")
        state = optimizer.state
        self.start = {n: (p.detach().clone(), state[p]["exp_avg"].clone(), state[p]["exp_avg_sq"].clone(),
                          int(state[p]["step"])) if p in state else
                      (p.detach().clone(), torch.zeros_like(p), torch.zeros_like(p), 0)
                      for n, p in step.game.discriminator.named_parameters()}

    def generator_term(self, step):
        generator = list(step.game.generator.parameters())
        gradient = lambda objective: torch.autograd.grad(objective, generator, retain_graph=True)  # noqa: E731
        got = gradient(self.unrolled[0].generator_term(step))
        variants = {"reference": {}, "first order": {"second_order": False}, "fresh moments": {"fresh_moments": True},
                    "lr x 2": {"lr": 2 * LR}, "fake term only": {"real_term": False}}
        wanted = {name: gradient(reference_objective(self.start, step.real, step.fake, **options))
                  for name, options in variants.items()}
        self.seen.append((got, wanted))


def test_g_gradient_equals_k_explicit_adam_steps_from_the_d_this_iteration_started_from():
    torch.manual_seed(0)
    adam = functools.partial(torch.optim.Adam, lr=LR, betas=BETAS, eps=EPS)
    loss = losses.GANLoss(losses.bce_discriminator, losses.minimax_generator)
    unrolled = Unrolled(steps=STEPS)
    gan = GAN(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]), loss, adam, adam,
              tricks=torch.nn.ModuleDict({"reference": Reference(unrolled), "unrolled": unrolled}))
    pl.Trainer(max_steps=8, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(gan, datamodule=ToyDataModule(Ring(), batch_size=16,
                                                                              batches_per_epoch=4))
    seen = gan.tricks["reference"].seen
    assert len(seen) == 4
    for got, wanted in seen[1:]:  # from the second iteration on, D's Adam state is not zero
        for g, w in zip(got, wanted["reference"], strict=True):
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)
        for name in ("first order", "fresh moments", "lr x 2", "fake term only"):  # each mistake is told apart
            gap = max(float((g - w).abs().max()) for g, w in zip(got, wanted[name], strict=True))
            assert gap > 1e-3, (name, gap)


def test_an_optimizer_the_look_ahead_does_not_unroll_is_refused_in_one_line():
    from gankit.errors import ConfigError

    gan = gan_of(MLPGenerator(4, [2], hidden=[8]), MLPDiscriminator([2], hidden=[8]))
    for optimizer, said in ((torch.optim.RMSprop, "D's is RMSprop"), (torch.optim.SGD, "SGD with momentum")):
        d = optimizer(gan.discriminator.parameters(), lr=0.1, momentum=0.9)
        gan.optimizers = lambda use_pl_optimizer=True, d=d: [None, d]
        with pytest.raises(ConfigError, match=said):
            Unrolled().setup(gan.game)
