"""Classifier metrics on the digits: the cached classifier (>= 97% test accuracy), the FID floor, noise far above it."""

import json
from pathlib import Path

import pytest
import torch

from gankit.data.digits import DigitsDataModule
from gankit.data.toy import Ring, ToyDataModule
from gankit.errors import ConfigError
from gankit.metrics.classifier import Recipe, load_or_train, train_classifier
from gankit.metrics.labelled import ClassifierEvaluator
from gankit.run import train


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def digits():
    datamodule = DigitsDataModule(image_size=32)
    datamodule.setup()
    return datamodule


@pytest.fixture(scope="module")
def evaluator(cache_dir, digits):
    evaluator = ClassifierEvaluator(str(cache_dir))
    evaluator.setup(digits)  # trains the classifier into cache_dir (~10 s on a busy 2-core CPU)
    return evaluator


def evaluate(evaluator, images):
    evaluator.reset()
    evaluator.update(images)
    return evaluator.compute()


def test_the_classifier_reaches_97_percent_and_is_cached(evaluator, cache_dir, digits):
    record = evaluator.protocol()
    assert record["classifier_test_accuracy"] >= 0.97
    assert str(cache_dir) in record["weights"]
    classifier, again = load_or_train(cache_dir, digits.train_images, digits.train_labels,
                                      digits.test_images, digits.test_labels)
    assert again["cached"] and again["test_accuracy"] == record["classifier_test_accuracy"]
    assert torch.equal(classifier(digits.test_images[:4])[1], evaluator.classifier(digits.test_images[:4])[1])


def test_classifier_training_is_deterministic(digits):
    first, second = (train_classifier(digits.train_images[:256], digits.train_labels[:256], Recipe(epochs=1))
                     for _ in range(2))
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_real_test_digits_score_the_recorded_floor_and_noise_scores_far_above(evaluator, digits):
    floor = evaluator.reference["fid_floor"]
    real = evaluate(evaluator, digits.test_images)
    assert real["fid"] == pytest.approx(floor, rel=1e-4)
    assert real["classes"] == 10 and real["is"] > 8 and real["class_kl"] < 0.01
    noise = evaluate(evaluator, torch.rand(360, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert noise["fid"] > 20 * floor
    assert real["precision"] > 0.8 and real["recall"] > 0.8 and real["coverage"] > 0.4  # 360 samples, 1437 balls
    ones = evaluate(evaluator, digits.test_images[digits.test_labels == 1])
    assert ones["classes"] == 1 and ones["is"] < 1.5
    # a generator that copies one class: its samples are real-looking (precision), the other classes are missed
    assert ones["precision"] > 0.8 and ones["recall"] < 0.3 and ones["coverage"] < 0.2


def test_digits_metrics_refuse_toy_data(cache_dir):
    with pytest.raises(ConfigError, match="metrics=classifier needs a labelled image set"):
        ClassifierEvaluator(str(cache_dir)).setup(ToyDataModule(Ring()))


def test_a_digits_run_writes_the_floor_and_the_protocol(make_config, tmp_path, evaluator, cache_dir):
    metrics = train(make_config(f"paths.cache_dir={cache_dir}", "model.generator.width=8",
                                "model.discriminator.width=8", "dataset.batch_size=16", "metrics.num_samples=200"))
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert metrics["eval/fid_floor"] == pytest.approx(evaluator.reference["fid_floor"])
    assert metrics["eval/fid"] > metrics["eval/fid_floor"]
    for key in ("eval/is", "eval/classes", "eval/class_kl"):
        assert key in metrics
    protocol = metrics["protocol"]
    assert protocol["num_samples"] == 200 and protocol["reference"] == "digits train split (1437 images)"
    assert "ImageClassifier of digits" in protocol["feature_extractor"] and "antialias" in protocol["resize"]


def test_a_truncated_cache_file_is_trained_again(digits, tmp_path):
    recipe = Recipe(epochs=1, max_train=300)
    args = (digits.train_images, digits.train_labels, digits.test_images, digits.test_labels, recipe)
    _, first = load_or_train(tmp_path, *args)
    path = Path(first["path"])
    path.write_bytes(path.read_bytes()[:100])
    _, again = load_or_train(tmp_path, *args)
    assert not again["cached"] and again["test_accuracy"] == first["test_accuracy"]
    assert load_or_train(tmp_path, *args)[1]["cached"]
