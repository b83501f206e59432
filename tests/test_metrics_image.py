"""Image metrics agree with torch-fidelity's own calculate_metrics on the same images and Inception
module (random weights: the real ones cannot be downloaded offline); missing weights fail at start-up."""

import pytest
import torch
import torch_fidelity
from torch.utils.data import Dataset

from gankit.errors import ConfigError
from gankit.metrics.image import ImageEvaluator
from gankit.metrics.inception import InceptionFeatures
from gankit.run import build_run
from tests.inception_weights import random_inception_weights

N = 8  # images a set: Inception at 299x299 embeds 1-3 images/s on a busy 2-core CPU


pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


class Uint8Images(Dataset):
    """What torch-fidelity reads: uint8 [3, H, W] images."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


class TestSplit:
    """The one attribute ImageEvaluator reads from a datamodule: a test split in [-1, 1]."""

    def __init__(self, images):
        self.test_images = images.float() / 127.5 - 1  # [N, 3, H, W]; rounds back to the same uint8

    def setup(self, stage=None):
        pass


def image_sets():
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 255, 32).expand(N, 3, 32, 32)
    real = (ramp + 40 * torch.randn(N, 3, 32, 32, generator=g)).clamp(0, 255).round().to(torch.uint8)
    colour = torch.randint(0, 256, (N, 3, 1, 1), generator=g).float()  # one colour an image: varied logits
    fake = (colour + 30 * torch.randn(N, 3, 32, 32, generator=g)).clamp(0, 255).round().to(torch.uint8)
    return real, fake


def gankit_metrics(real, fake, layer, cache_dir):
    extractor = InceptionFeatures(str(random_inception_weights()), feature_layer=layer, antialias=False)
    evaluator = ImageEvaluator(extractor, str(cache_dir), is_splits=4, kid_subsets=3, kid_subset_size=N)
    evaluator.setup(TestSplit(real))
    evaluator.reset()
    evaluator.update(fake.float() / 127.5 - 1)
    return evaluator.compute(), evaluator


@pytest.mark.parametrize("layer", [768, pytest.param(2048, marks=pytest.mark.slow)])
def test_fid_kid_is_agree_with_torch_fidelity(tmp_path, layer):
    real, fake = image_sets()
    ours, evaluator = gankit_metrics(real, fake, layer, tmp_path)
    theirs = torch_fidelity.calculate_metrics(
        input1=Uint8Images(fake), input2=Uint8Images(real), cuda=False, isc=True, fid=True, kid=True,
        feature_extractor_weights_path=str(random_inception_weights()), feature_layer_fid=str(layer),
        feature_layer_kid=str(layer), isc_splits=4, kid_subsets=3, kid_subset_size=N, batch_size=N,
        cache=False, verbose=False, save_cpu_ram=True,  # save_cpu_ram: no DataLoader workers
    )
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-3)
    assert ours["kid"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-3)
    assert ours["is"] == pytest.approx(theirs["inception_score_mean"], rel=1e-3)
    assert ours["is_std"] == pytest.approx(theirs["inception_score_std"], rel=1e-3)  # population std, same splits
    assert ours["is_std"] > 1e-4
    assert ours["fid"] > 1 and ours["kid"] > 1e-3 and ours["is"] > 1.05  # not a vacuous agreement
    protocol = evaluator.protocol()
    assert "tf1-bilinear" in protocol["resize"] and "antialias=false" in protocol["resize"]
    assert protocol["reference"] == f"images test split ({N} images)" and "sha256" in protocol["weights"]
    # The reference features are cached: a second evaluator reads them instead of embedding again.
    cached = list((tmp_path / "reference").iterdir())
    assert len(cached) == 1
    extractor = InceptionFeatures(str(random_inception_weights()), feature_layer=layer, antialias=False)
    second = ImageEvaluator(extractor, str(tmp_path), is_splits=1, kid_subsets=3, kid_subset_size=N)
    extractor.net.forward = None  # embedding anything now would fail
    second.setup(TestSplit(real))
    assert torch.equal(second.scores.fid.real_features_sum, evaluator.scores.fid.real_features_sum)
    assert list((tmp_path / "reference").iterdir()) == cached


def test_missing_or_wrong_weights_stop_the_run_at_start_up_with_one_line(make_config, tmp_path):
    with pytest.raises(ConfigError, match=r"pass metrics\.inception_weights=PATH") as missing:
        build_run(make_config("metrics=image", f"metrics.inception_weights={tmp_path}/nothing.pth"))
    assert "\n" not in str(missing.value)
    torch.save({"not": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(ConfigError, match="is not torch-fidelity's InceptionV3 state dict") as wrong:
        build_run(make_config("metrics=image", f"metrics.inception_weights={tmp_path}/wrong.pth"))
    assert "\n" not in str(wrong.value)


def test_the_resize_protocol_is_explicit_and_tf_compatible_by_default(make_config):
    cfg = make_config("metrics=image")
    assert cfg.metrics.antialias is False
    assert cfg.metrics.callback.evaluator.extractor.antialias is False
