"""Unrolled GAN: G's gradient differs from the one-step gradient; D's weights and buffers are left untouched."""

import lightning.pytorch as pl
import torch

from gankit.data.toy import Ring, ToyDataModule
from gankit.models.dcgan import DCGANDiscriminator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.tricks import Technique
from gankit.tricks.unrolled import Unrolled
from tests.players import gan_of


class GeneratorGradients(Technique):
    """Records G's loss gradient (w.r.t. the fake batch) and D's state around each G update."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def generator_term(self, step):
        gan = step.gan
        before = {k: v.clone() for k, v in gan.discriminator.state_dict().items()}
        term = self.inner.generator_term(step) if self.inner else gan.loss.generator_loss(step.fake_logits)
        (grad,) = torch.autograd.grad(term, step.fake, retain_graph=True)
        after = gan.discriminator.state_dict()
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
