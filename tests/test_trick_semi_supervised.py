"""Semi-supervised GAN (Salimans et al. 2016, Sec. 5): the K+1-class loss on hand-computed logits, the labelled
subset and its batches, the test error on the test split only, and a few steps of the preset and its baseline."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gankit.data.digits import DigitsDataModule
from gankit.data.labelled import CyclingBatches, labelled_subset
from gankit.losses import bce_discriminator, nonsaturating_generator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.run import build_run, train
from gankit.tricks.semi_supervised import ClassLogits, SemiSupervised, real_logit

pytestmark = pytest.mark.usefixtures("one_thread")

PRESET = ["experiment=digits_semisupervised", "trainer.max_steps=8", "metrics.eval_every=4",
          "model.generator.hidden=[32]", "model.discriminator.hidden=[32,16]", "callbacks.samples.final={}"]


def k_plus_1(class_logits: torch.Tensor) -> torch.Tensor:
    """[B, K] -> [B, K + 1] with the (K+1)-th, "generated", logit fixed at 0."""
    return torch.cat([class_logits, class_logits.new_zeros(len(class_logits), 1)], dim=1)


def test_the_k_plus_1_loss_on_hand_computed_logits():
    real = torch.log(torch.tensor([[1.0, 3.0]]))  # Z = 4: D(x) = Z / (Z + 1) = 0.8
    fake = torch.zeros(1, 2)  # Z = 2: D(G(z)) = 2/3
    assert torch.sigmoid(real_logit(real)).item() == pytest.approx(0.8)
    assert torch.sigmoid(real_logit(fake)).item() == pytest.approx(2 / 3)
    by_hand = -math.log(0.8) - math.log(1 - 2 / 3)  # -log D(x) - log(1 - D(G(z)))
    unsupervised = bce_discriminator(real_logit(real), real_logit(fake))
    assert unsupervised.item() == pytest.approx(by_hand)
    generated = torch.tensor([2])  # index K: the K+1-th class
    as_k_plus_1 = (-torch.log(1 - F.softmax(k_plus_1(real), 1)[:, 2]) + F.cross_entropy(k_plus_1(fake), generated))
    assert unsupervised.item() == pytest.approx(as_k_plus_1.item())
    # The supervised loss: cross-entropy over the K logits = -log p(y | x, y <= K); here p(1 | x) = 3/4.
    assert F.cross_entropy(real, torch.tensor([1])).item() == pytest.approx(-math.log(0.75))
    # G's non-saturating loss: -log D(G(z)) = -log p(y <= K | G(z)).
    assert nonsaturating_generator(real_logit(fake)).item() == pytest.approx(-math.log(2 / 3))


def test_the_loss_is_twice_the_authors_loss_unl_and_stable():
    torch.manual_seed(0)
    real, fake = 3 * torch.randn(7, 10), 3 * torch.randn(7, 10)
    lse_real, lse_fake = real_logit(real), real_logit(fake)
    authors = (-0.5 * lse_real.mean() + 0.5 * F.softplus(lse_real).mean() + 0.5 * F.softplus(lse_fake).mean())
    assert bce_discriminator(lse_real, lse_fake).item() == pytest.approx(2 * authors.item(), rel=1e-5)
    huge = torch.full((2, 10), 1000.0)  # exp(1000) overflows; logsumexp does not
    assert torch.isfinite(bce_discriminator(real_logit(huge), real_logit(-huge)))


def test_d_gets_k_logits_and_returns_log_z_or_the_classes():
    technique = SemiSupervised(num_classes=10)
    _, d = technique.build(MLPGenerator(4, [1, 8, 8]), MLPDiscriminator([1, 8, 8], hidden=[16]))
    assert isinstance(d, ClassLogits) and d.inner.head.out_features == 10
    x = torch.randn(5, 1, 8, 8)
    logit, features = d(x)  # [5], [5, 16]
    with d.classes():
        class_logits, same_features = d(x)  # [5, 10]
    assert logit.shape == (5,) and class_logits.shape == (5, 10) and features.shape == (5, 16)
    assert torch.allclose(logit, torch.logsumexp(class_logits, 1)) and torch.equal(features, same_features)


@pytest.fixture(scope="module")
def digits():
    dm = DigitsDataModule(image_size=8, batch_size=64)
    dm.setup()
    return dm


def test_the_labelled_subset_has_per_class_examples_drawn_by_its_own_seed(digits):
    labels = digits.train_labels
    subset = labelled_subset(labels, 10, 5, seed=0)
    assert len(subset) == 50 and len(set(subset.tolist())) == 50
    assert torch.equal(torch.bincount(labels[subset], minlength=10), torch.full((10,), 5))
    state = torch.get_rng_state()
    assert torch.equal(subset, labelled_subset(labels, 10, 5, seed=0))  # same label seed: same subset
    assert torch.equal(state, torch.get_rng_state())  # and the global RNG untouched
    assert set(subset.tolist()) != set(labelled_subset(labels, 10, 5, seed=1).tolist())


def test_labelled_batches_come_only_from_the_subset_and_cycle_through_it(digits):
    technique = SemiSupervised(per_class=3, label_seed=7, batch_size=12)  # 30 labelled, batches of 12
    technique.use_data(digits.train_examples, digits.train_labels, digits.test_images, digits.test_labels)
    subset = labelled_subset(digits.train_labels, 10, 3, seed=7)
    allowed = {(tuple(digits.train_images[i].flatten().tolist()), int(digits.train_labels[i])) for i in subset}
    drawn = [technique.labelled_batch(u) for u in range(5)]  # 60 examples: two full passes
    seen = [(tuple(x.flatten().tolist()), int(y)) for images, labels in drawn
            for x, y in zip(images, labels, strict=True)]
    assert set(seen) <= allowed  # only labelled-subset images, each with its own label
    assert sorted(seen[:30]) == sorted(allowed) and sorted(seen[30:]) == sorted(allowed)  # each pass sees each once
    other = SemiSupervised(per_class=3, label_seed=8, batch_size=12)
    other.use_data(digits.train_examples, digits.train_labels, digits.test_images, digits.test_labels)
    assert not torch.equal(other.labelled_batch(0)[0], drawn[0][0])
    cycle = CyclingBatches(30, 12, seed=0)
    assert torch.equal(cycle.indices(3), CyclingBatches(30, 12, seed=0).indices(3))  # a function of its position


def fitted(make_config, *overrides):
    trainer, gan, datamodule = build_run(make_config(*PRESET, *overrides), load_data=True)
    trainer.fit(gan, datamodule=datamodule)
    return trainer, gan, datamodule


def test_the_test_error_is_d_on_the_test_split_only(make_config):
    trainer, gan, dm = fitted(make_config, "trick.semi_supervised.average_decay=null")
    technique = gan.tricks["semi_supervised"]
    gan.eval()
    with torch.no_grad(), gan.discriminator.classes():
        predicted = gan.discriminator(dm.test_images)[0].argmax(1)  # [360]
    expected = 100.0 * (predicted != dm.test_labels).float().mean().item()
    assert technique.evaluate(gan.game)["test_error"] == pytest.approx(expected)
    protocol = technique.evaluation_protocol()["test_error"]
    assert protocol["test_size"] == len(dm.test_labels) == 360 and protocol["labels_per_class"] == 10
    train_set = {tuple(x.flatten().tolist()) for x in dm.train_images}
    assert not any(tuple(x.flatten().tolist()) in train_set for x in dm.test_images)  # disjoint from training
    dm.test_labels = predicted  # the measurement reads the test split it was given at setup, nothing else
    assert technique.evaluate(gan.game)["test_error"] == pytest.approx(expected)


def test_the_preset_trains_and_writes_the_test_error_with_its_protocol(make_config, tmp_path):
    metrics = train(make_config(*PRESET))
    assert 0 <= metrics["eval/test_error"] <= 100 and 0 <= metrics["eval/test_error_raw"] <= 100
    protocol = metrics["protocol"]["test_error"]
    assert protocol["gan"] is True and protocol["label_seed"] == 0 and protocol["test_size"] == 360
    assert "running average" in protocol["classifier"]
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "evaluations.json").is_file()


def discriminator_after(make_config, *overrides) -> list[torch.Tensor]:
    _, gan, _ = fitted(make_config, *overrides)
    return [p.detach().clone() for p in gan.discriminator.parameters()]


def test_the_baseline_trains_d_on_the_labelled_subset_alone(make_config):
    """With gan=false nothing of G reaches D: G's learning rate leaves D's weights exactly as they were; with the
    GAN on it does not."""
    baseline = [discriminator_after(make_config, "trick.semi_supervised.gan=false", f"gan.optimizer_g.lr={lr}")
                for lr in (1e-4, 1e-1)]
    assert all(torch.equal(a, b) for a, b in zip(*baseline, strict=True))
    semi = [discriminator_after(make_config, f"gan.optimizer_g.lr={lr}") for lr in (1e-4, 1e-1)]
    assert not all(torch.equal(a, b) for a, b in zip(*semi, strict=True))


def test_the_mnist_preset_trains_on_mnist_files(make_config, tmp_path):
    """experiment=mnist_semisupervised for a few steps on small IDX files (200 train digits, 20 a class; 50 test)."""
    from tests.test_data_vision import write_idx

    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("t10k", 50)):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, size=(n, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n) % 10)
    metrics = train(make_config("experiment=mnist_semisupervised", f"paths.data_dir={tmp_path / 'data'}",
                                "dataset.download=false", "trainer.max_steps=4", "metrics.eval_every=0",
                                "model.discriminator.hidden=[32,16]", "model.generator.hidden=[32]",
                                "callbacks.samples.final={}"))
    protocol = metrics["protocol"]["test_error"]
    assert protocol["test_size"] == 50 and protocol["labelled_examples"] == 100 and "MNIST" in protocol["test_split"]
    assert 0 <= metrics["eval/test_error"] <= 100


def test_the_default_average_is_the_authors_rate_of_1e_4_a_step(make_config):
    """openai/improved-gan: a <- a + 0.0001 (p - a) after every D update."""
    assert SemiSupervised().average.decay == 0.9999
    assert make_config("trick=semi_supervised").trick.semi_supervised.average_decay == 0.9999
