"""Mode collapse in images: improved precision and recall (Kynkaanniemi et al. 2019) and density and coverage
(Naeem et al. 2020) of generated features against real ones, on k-nearest-neighbour balls.

Precision: the share of generated features inside some real ball (radius: the distance to the real feature's k-th
nearest real neighbour); recall: the share of real features inside some generated ball (radii from the generated
set). Density: (1 / kM) x the number of (generated, real ball) containments; coverage: the share of real features
whose ball holds at least one generated feature. A generator that copies one class keeps precision and density high
and loses recall and coverage. Precision and recall are torch-fidelity's (`metric_prc`, k = `nearest_k`).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_fidelity.metric_prc import prc_features_to_metric
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


def kth_neighbour_radii(features: Tensor, k: int, chunk: int = 2048) -> Tensor:
    """[N]: each feature's distance to its k-th nearest other feature of the same set."""
    return torch.cat([torch.cdist(part, features).kthvalue(k + 1, dim=1).values for part in features.split(chunk)])


def density_and_coverage(real: Tensor, fake: Tensor, k: int, chunk: int = 2048) -> tuple[float, float]:
    """(density, coverage) of fake [M, F] against real [N, F] with k-NN balls of the real features."""
    radii = kth_neighbour_radii(real, k, chunk)  # [N]
    inside = torch.zeros(len(real), dtype=torch.long)  # per real ball: the generated features inside it
    for part in fake.split(chunk):
        inside += (torch.cdist(part, real) <= radii).sum(0)  # [chunk, N] -> [N]
    density = float(inside.sum()) / (k * len(fake))
    coverage = float((inside > 0).float().mean())
    return density, coverage


class PrecisionRecallCoverage(Metric):
    """precision, recall, density and coverage of the generated features seen since reset() against a fixed real
    set (`set_reference`); the generated features of every process are gathered in compute()."""

    full_state_update = False

    def __init__(self, nearest_k: int = 3):
        super().__init__()
        self.nearest_k = int(nearest_k)
        self.add_state("fake", default=[], dist_reduce_fx="cat")  # [M, F] in pieces
        self.real: Tensor | None = None

    def set_reference(self, features: Tensor) -> None:
        """Real features [N, F] (every process holds all of them: k-NN needs the whole set)."""
        self.real = features.float().cpu()

    def update(self, features: Tensor) -> None:
        self.fake.append(features.float())

    def compute(self) -> dict[str, float]:
        fake = dim_zero_cat(self.fake).cpu()  # [M, F]
        k = min(self.nearest_k, len(fake) - 1, len(self.real) - 1)
        pr = prc_features_to_metric(fake, self.real, prc_neighborhood=k, prc_batch_size=2048, save_cpu_ram=True,
                                    verbose=False)
        density, coverage = density_and_coverage(self.real, fake, k)
        return {"precision": pr["precision"], "recall": pr["recall"], "density": density, "coverage": coverage}
