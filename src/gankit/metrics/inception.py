"""torch-fidelity's InceptionV3 (the TF network of FID, Heusel et al. 2017; IS, Salimans et al. 2016),
run once per image for both its pool features and its logits, with the resize mode made explicit."""

from __future__ import annotations

import contextlib
import io
import sys
import urllib.error
from pathlib import Path

import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torchmetrics.image.fid import NoTrainInceptionV3

from gankit import arguments
from gankit.checkpoint_io import load_safely
from gankit.errors import BadArgument, ConfigError, first_line
from gankit.metrics.cache import file_digest

FEATURE_LAYERS = (64, 192, 768, 2048)


class _Inception(NoTrainInceptionV3):
    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return self._torch_fidelity_forward(x)  # every requested feature, not only the first


def _unavailable(reason: str) -> BadArgument:
    """About the `weights` argument; `reason` may name it as {key}."""
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    return BadArgument("weights", f"the Inception weights are unavailable ({reason}); download {URL_INCEPTION_V3} on "
                                  f"a machine with internet and pass {{key}}=PATH (or put the file in {hub})")


class InceptionFeatures(nn.Module):
    """uint8 [B, 3, H, W] -> (pool features [B, F], unbiased logits [B, 1008]); resized to 299x299 with the
    TF1-compatible bilinear resize (antialias=False, as the published FIDs) or torch's antialiased one."""

    def __init__(self, weights: str | None = None, feature_layer: int = 2048, antialias: bool = False):
        super().__init__()
        if feature_layer not in FEATURE_LAYERS:
            raise BadArgument("feature_layer", f"must be one of {', '.join(map(str, FEATURE_LAYERS))}, "
                                               f"got {feature_layer!r}")
        if weights is not None and not Path(arguments.text("weights", weights)).is_file():
            raise _unavailable(f"{{key}}={weights} is not a file")
        if weights is not None:  # torch-fidelity loads it with weights_only=False: only plain tensors get there
            load_safely(weights, key="weights")
        messages = io.StringIO()  # torch.hub's "Downloading ..." line: shown on success, dropped on failure
        try:
            with contextlib.redirect_stderr(messages):
                self.net = _Inception("inception-v3-compat", [str(feature_layer), "logits_unbiased"],
                                      feature_extractor_weights_path=None if weights is None else str(weights),
                                      antialias=bool(antialias))
            sys.stderr.write(messages.getvalue())
        except (urllib.error.URLError, OSError) as error:
            raise _unavailable(f"download failed: {error}") from None
        except (RuntimeError, KeyError, EOFError) as error:  # not a state dict of this network
            raise _unavailable(f"{weights} is not torch-fidelity's InceptionV3 state dict: "
                               f"{first_line(str(error))}") from None
        self.num_features, self.num_classes = int(feature_layer), 1008
        self.antialias = bool(antialias)
        if weights is None:
            self.weights = f"torch-fidelity's download {URL_INCEPTION_V3}"
            self.weights_id = Path(URL_INCEPTION_V3).stem
        else:
            sha = file_digest(weights)
            self.weights, self.weights_id = f"local file {weights} (sha256 {sha[:16]})", f"sha256-{sha[:16]}"

    @property
    def identity(self) -> str:
        return f"inception-v3-{self.num_features}-{self.resize_name}-{self.weights_id}"

    @property
    def resize_name(self) -> str:
        return "antialias" if self.antialias else "tf1-bilinear"

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features, logits = self.net(images)
        return features.reshape(len(images), -1), logits


def to_uint8_rgb(images: Tensor) -> Tensor:
    """[B, C, H, W] in [-1, 1] -> uint8 [B, 3, H, W] (rounded; one channel repeated to three)."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(f"metrics=image needs images [B, 1 or 3, H, W], got shape {tuple(images.shape)}; "
                          "use metrics=toy or metrics=none for vector data")
    pixels = ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels
