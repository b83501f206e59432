"""torch-fidelity's InceptionV3 with random weights, saved once per test session (the real ones cannot
be downloaded offline); convolutions use He init so activations keep their scale through the depth, and
the classifier is wide enough that the logits differ between images (an Inception score above 1)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3


class _Untrained(FeatureExtractorInceptionV3):
    def load_state_dict(self, state_dict, strict=True, assign=False):  # accept the empty file below
        return super().load_state_dict(state_dict, strict=False)


@functools.cache
def random_inception_weights() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="gankit-inception-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    torch.save({}, folder / "empty.pth")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = _Untrained("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(folder / "empty.pth"))
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.normal_(net.fc.weight, std=0.3)
    torch.save(net.state_dict(), folder / "inception-random.pth")
    return folder / "inception-random.pth"
