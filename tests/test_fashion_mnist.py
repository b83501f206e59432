"""Real images offline: Fashion-MNIST from Debian's dataset-fashion-mnist package (.ci/run installs it), read where
the package puts it, trained a few steps and evaluated under its own classifier, with no download."""

import gzip
import json
from pathlib import Path

import pytest

from gankit.data.vision import FashionMNISTFiles, InMemoryImages
from gankit.errors import ConfigError
from gankit.run import build_run, train
from tests.conftest import compose_config

DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # conf/dataset/fashion_mnist.yaml: source.also
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def files():
    if not (DEBIAN / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"Fashion-MNIST not found in {DEBIAN}: apt-get install dataset-fashion-mnist (.ci/run does)")
    return DEBIAN


def test_the_package_files_are_read_where_they_are(files, tmp_path):
    data = InMemoryImages(FashionMNISTFiles(str(tmp_path), also=[str(files)]), image_size=28, download=False)
    data.setup()
    assert data.source.folder == files
    assert data.train_images.shape == (60000, 1, 28, 28) and data.test_images.shape == (10000, 1, 28, 28)
    assert data.train_labels.bincount().tolist() == [6000] * 10 and data.test_labels.bincount().tolist() == [1000] * 10
    assert not list(files.glob("*-ubyte"))  # nothing unpacked beside the package's files


def test_a_short_run_on_the_real_files_evaluates_without_a_download(files, tmp_path):
    metrics = train(compose_config(
        tmp_path / "run", "dataset=fashion_mnist", f"paths.data_dir={tmp_path / 'empty'}", "dataset.download=false",
        f"paths.cache_dir={tmp_path / 'cache'}", "trainer.max_steps=4", "model.generator.width=8",
        "model.discriminator.width=8", "dataset.batch_size=16", "dataset.classifier.width=8",
        "dataset.classifier.epochs=1", "+dataset.classifier.max_train=3000", "metrics.num_samples=200",
        "~callbacks.samples.final"))
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics
    for key in ("eval/fid", "eval/kid", "eval/is", "eval/precision", "eval/recall", "eval/density", "eval/coverage",
                "eval/classes", "eval/fid_floor"):
        assert key in metrics, key
    protocol = metrics["protocol"]
    assert "ImageClassifier of fashion_mnist" in protocol["feature_extractor"]
    assert 0.5 < protocol["classifier_test_accuracy"] <= 1 and protocol["classifier_test_split"] == "10000 images"
    assert metrics["eval/fid"] > metrics["eval/fid_floor"]


def test_no_files_anywhere_is_one_line_naming_every_place(tmp_path):
    cfg = compose_config(tmp_path / "run", "dataset=fashion_mnist", f"paths.data_dir={tmp_path}",
                         "dataset.download=false", f"dataset.datamodule.source.also=[{tmp_path / 'nowhere'}]")
    with pytest.raises(ConfigError) as error:
        build_run(cfg, load_data=True)
    text = str(error.value)
    assert "\n" not in text and f"{tmp_path}/FashionMNIST/raw or {tmp_path}/nowhere" in text


def test_a_corrupt_gz_is_one_line_naming_it(files, tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for path in files.glob("*.gz"):  # whole copies, but the training images cut short
        data = path.read_bytes()
        (raw / path.name).write_bytes(data[:5000] if path.name.startswith("train-images") else data)
    cfg = compose_config(tmp_path / "run", "dataset=fashion_mnist", f"paths.data_dir={tmp_path}", "metrics=none")
    with pytest.raises(ConfigError) as error:
        build_run(cfg, load_data=True)
    assert "\n" not in str(error.value) and f"{raw}/train-images-idx3-ubyte.gz cannot be read" in str(error.value)
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"not an idx file")
    with pytest.raises(ConfigError, match="is not an IDX file"):
        FashionMNISTFiles(str(tmp_path)).read_labels(train=False)
