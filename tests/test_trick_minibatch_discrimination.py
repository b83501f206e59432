"""Minibatch discrimination: closeness to the other samples, self pair excluded, batches scored separately."""

from functools import partial

import lightning.pytorch as pl
import pytest
import torch

from gankit import losses
from gankit.data.toy import Ring, ToyDataModule
from gankit.gan import GAN
from gankit.models.dcgan import DCGANDiscriminator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.tricks.minibatch_discrimination import MinibatchDiscriminationHead

Head = partial(MinibatchDiscriminationHead, kernels=10, kernel_dim=3)


def test_identical_samples_score_differently_from_a_diverse_batch():
    head = Head(6)
    identical = torch.randn(1, 6).expand(8, 6)  # [8, 6], one sample eight times
    diverse = 10 * torch.randn(8, 6)
    o_identical, o_diverse = head.minibatch_features(identical), head.minibatch_features(diverse)  # [8, 10]
    assert o_identical.shape == (8, 10)
    assert torch.allclose(o_identical, torch.full((8, 10), 7.0))  # exp(0) = 1 for each of the 7 others
    assert (o_diverse < 1.0).all()  # far-apart samples are hardly close to anyone
    assert not torch.allclose(head(identical), head(diverse))


def test_a_samples_own_pair_is_excluded():
    head = Head(6)
    x = torch.randn(5, 6)
    assert torch.equal(head.minibatch_features(x[:1]), torch.zeros(1, 10))  # alone: nobody else
    o = head.minibatch_features(x)
    # o_i = sum over j != i of exp(-||M_i - M_j||_1), recomputed pair by pair.
    T = head.T * (head.log_scale.exp() / head.T.norm(dim=0))
    M = torch.einsum("nf,fbc->nbc", x, T)
    expected = torch.stack([sum(torch.exp(-(M[i] - M[j]).abs().sum(-1)) for j in range(5) if j != i)
                            for i in range(5)])
    assert torch.allclose(o, expected, atol=1e-6)


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_it_is_a_head_of_both_discriminator_families(family):
    if family == "mlp":
        d, x = MLPDiscriminator([2], hidden=[16], head=Head), torch.randn(4, 2)
    else:
        d, x = DCGANDiscriminator([1, 16, 16], width=4, head=Head), torch.rand(4, 1, 16, 16)
    logits, features = d(x)
    assert logits.shape == (4,) and features.shape == (4, d.feature_dim)
    assert d.head.linear.in_features == d.feature_dim + 10  # features concatenated with o
    logits.sum().backward()
    assert d.head.T.grad is not None and d.head.T.grad.abs().sum() > 0


def test_a_samples_score_depends_on_its_batch():
    head = Head(6)
    x = torch.randn(4, 6)
    alone = head(x)[0]
    with_copies = head(torch.cat([x[:1], x[:1].expand(3, 6)]))[0]  # the same sample among its copies
    assert not torch.allclose(alone, with_copies)


def test_the_loop_scores_real_and_generated_batches_separately():
    gan = GAN(MLPGenerator(4, [2], hidden=[16]), MLPDiscriminator([2], hidden=[16], head=Head),
              losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator),
              lambda p: torch.optim.SGD(p, lr=0.01), lambda p: torch.optim.SGD(p, lr=0.01))
    sizes = []
    gan.discriminator.head.register_forward_hook(lambda m, args, out: sizes.append(len(args[0])))
    pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(gan, datamodule=ToyDataModule(Ring(), 8, 2))
    assert sizes and set(sizes) == {8}  # never one batch of 16 mixing real and fake


def test_eval_mode_scores_large_batches_in_minibatches_of_eval_batch():
    head = Head(6, eval_batch=4).eval()
    x = torch.randn(10, 6)
    assert torch.allclose(head(x), torch.cat([head(x[:4]), head(x[4:8]), head(x[8:])]))
    assert not torch.allclose(head.train()(x)[:4], head(x[:4]))  # training batches are scored whole


def test_the_written_out_l1_distances_equal_cdist_and_differentiate_twice(monkeypatch):
    """Where torch cannot differentiate cdist's backward (torch 2.6, the floor), the same distances written out: equal
    to cdist's, and a gradient penalty can differentiate their gradient."""
    from gankit.tricks import minibatch_discrimination as module

    M = torch.randn(7, 16, 5, requires_grad=True)  # [K, N, C]
    expected = torch.cdist(M, M, p=1)
    monkeypatch.setattr(module, "_cdist_twice_differentiable", lambda: False)
    written_out = module.l1_distances(M)
    torch.testing.assert_close(written_out, expected, rtol=0, atol=1e-5)
    (grad,) = torch.autograd.grad(written_out.exp().neg().sum(), M, create_graph=True)
    grad.square().sum().backward()  # second order
    assert M.grad is not None and M.grad.abs().sum() > 0
