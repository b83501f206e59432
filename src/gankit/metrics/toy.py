"""Toy metrics: mode coverage of a Gaussian mixture (Srivastava et al. 2017; Lin et al. 2018)
and, for 1-D data, divergences between the histogram of p_g and p_data (Goodfellow et al. 2014, Figure 1)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, Metric

from gankit import arguments
from gankit.errors import ConfigError


def reverse_kl_to_uniform(counts: Tensor) -> Tensor:
    """KL(p || uniform) = log K - H(p) for a histogram `counts` [K]; log K (a point mass) when it is empty."""
    total = counts.sum()
    if total == 0:
        return torch.tensor(math.log(len(counts)), dtype=torch.float64)
    p = counts.double() / total
    return (p * (p * len(counts)).log()).nan_to_num(0.0).sum()


def effective_count(counts: Tensor) -> Tensor:
    """exp(entropy) of a histogram `counts` [K]: K for a uniform one, 1 for a point mass, 0 when it is empty."""
    total = counts.sum()
    if total == 0:
        return torch.tensor(0.0, dtype=torch.float64)
    p = counts.double() / total
    return (-(p * p.log()).nan_to_num(0.0).sum()).exp()


class ModeCoverage(Metric):
    """Modes covered, % high-quality samples and reverse KL (Lin et al. 2018, Table 1 protocol), and the
    effective number of modes the samples lie near.

    A sample is high quality if it lies within `threshold` std of its nearest mode; a mode is covered if
    some high-quality sample is nearest to it. The reverse KL compares the histogram of the high-quality
    samples over their nearest modes with the uniform one (as Lin et al.'s code does), so it is log M when
    no sample is high quality. `effective_modes` is exp(entropy) of the histogram of *every* sample over its
    nearest mode: about M for samples spread over the data (on the modes or blurred between them), 2 for a
    streak between two neighbouring modes, 1 for samples gathered at one point.
    """

    full_state_update = False

    def __init__(self, modes: Tensor, std: float, threshold: float = 3.0):
        super().__init__()
        self.register_buffer("modes", modes.float())  # [M, D]
        self.radius = float(threshold) * float(std)
        self.add_state("counts", torch.zeros(len(modes), dtype=torch.long), dist_reduce_fx="sum")  # [M]
        self.add_state("nearest", torch.zeros(len(modes), dtype=torch.long), dist_reduce_fx="sum")  # [M], all
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, samples: Tensor) -> None:
        distance, nearest = torch.cdist(samples.float().flatten(1), self.modes).min(dim=1)  # [N], [N]
        good = distance <= self.radius
        self.counts += torch.bincount(nearest[good], minlength=len(self.modes))
        self.nearest += torch.bincount(nearest, minlength=len(self.modes))
        self.total += len(samples)

    def compute(self) -> dict[str, Tensor]:
        return {
            "modes": (self.counts > 0).sum().float(),
            "high_quality": 100.0 * self.counts.sum().float() / self.total.clamp(min=1),
            "reverse_kl": reverse_kl_to_uniform(self.counts).float(),
            "effective_modes": effective_count(self.nearest).float(),
        }


class HistogramDivergence(Metric):
    """KL(p_g || p_data) and JS(p_g, p_data) over `bins` equal bins on mean +- `span` std plus two tails.

    p_g is the histogram of generated 1-D samples; p_data integrates the Gaussian mixture over each bin.
    The reverse direction stays finite when p_g leaves bins empty.
    """

    full_state_update = False

    def __init__(self, modes: Tensor, std: float, bins: int = 50, span: float = 5.0):
        super().__init__()
        if modes.shape[1] != 1:
            raise ConfigError(f"the histogram divergence is for 1-D data, got {modes.shape[1]}-D modes")
        centres = modes[:, 0].double()  # [M]
        inner = torch.linspace(float(centres.min()) - span * std, float(centres.max()) + span * std, bins + 1)
        self.register_buffer("edges", inner.double())  # [bins + 1]; samples outside fall in two tail bins
        edges = torch.cat([inner.new_tensor([-math.inf]), inner, inner.new_tensor([math.inf])]).double()
        cdf = torch.special.ndtr((edges[None, :] - centres[:, None]) / std).mean(0)  # [bins + 3]
        self.register_buffer("p_data", (cdf[1:] - cdf[:-1]).clamp(min=1e-300))  # [bins + 2]
        self.add_state("counts", torch.zeros(bins + 2, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, samples: Tensor) -> None:
        index = torch.bucketize(samples.double().flatten(), self.edges, right=True)  # [N] in [0, bins + 1]
        self.counts += torch.bincount(index, minlength=len(self.counts))

    def compute(self) -> dict[str, Tensor]:
        p = self.counts.double() / self.counts.sum().clamp(min=1)
        q, m = self.p_data, (self.counts.double() / self.counts.sum().clamp(min=1) + self.p_data) / 2

        def kl(a: Tensor, b: Tensor) -> Tensor:
            return (a * (a / b).log()).nan_to_num(0.0).sum()

        return {"kl": kl(p, q).float(), "js": ((kl(p, m) + kl(q, m)) / 2).float()}


class ToyEvaluator(nn.Module):
    """Mode metrics for a Gaussian-mixture dataset (ring, grid, gaussian1d); for 1-D data also
    KL/JS(p_g, p_data) and mean D(x) = sigmoid(logit) on real and generated samples."""

    def __init__(self, threshold: float = 3.0, bins: int = 50):
        super().__init__()
        self.threshold = arguments.number("threshold", threshold, above=0.0)
        self.bins = arguments.integer("bins", bins, at_least=1)
        self.distribution = None
        self.modes: ModeCoverage | None = None
        self.density: HistogramDivergence | None = None
        self.d_real, self.d_fake = MeanMetric(), MeanMetric()
        self.reference: dict[str, float] = {}
        self.samples_counted = 0  # by the last compute(), over all processes

    def setup(self, datamodule, rank: int = 0, world_size: int = 1) -> None:
        distribution = getattr(datamodule, "distribution", None)
        if getattr(distribution, "modes", None) is None:
            raise ConfigError("metrics=toy needs a mixture of Gaussians (dataset=ring, grid or gaussian1d); "
                              "use metrics=none for this dataset")
        self.distribution = distribution
        self.modes = ModeCoverage(distribution.modes, distribution.std, self.threshold)
        if distribution.modes.shape[1] == 1:
            self.density = HistogramDivergence(distribution.modes, distribution.std, self.bins)

    def reset(self) -> None:
        for metric in (self.modes, self.density, self.d_real, self.d_fake):
            if metric is not None:
                metric.reset()

    @torch.no_grad()
    def update(self, fake: Tensor, gan=None) -> None:
        """Generated samples [B, D]; with 1-D data, `gan.discriminator` scores them and as many real ones."""
        self.modes.update(fake)
        if self.density is None:
            return
        self.density.update(fake)
        if not gan.scores_points:  # D scores groups of samples: no per-point D(x); d_real/d_fake stay unreported
            return
        real = self.distribution.sample(len(fake)).to(fake.device)  # [B, 1]
        self.d_real.update(gan.discriminator_probability(real))
        self.d_fake.update(gan.discriminator_probability(fake))

    def compute(self) -> dict[str, float]:
        values = self.modes.compute()
        with self.modes.sync_context():  # under DDP: the total over processes, each sample counted once
            self.samples_counted = int(self.modes.total)
        if self.density is not None:
            values = {**values, **self.density.compute()}
            if self.d_real.update_count:  # (D scored points)
                values.update(d_real=self.d_real.compute(), d_fake=self.d_fake.compute())
        return {k: float(v) for k, v in values.items()}

    def protocol(self) -> dict:
        record = {
            "num_modes": len(self.distribution.modes),
            "samples_counted": self.samples_counted,
            "high_quality": f"within {self.threshold:g} std ({self.threshold * self.distribution.std:g}) "
                            "of the nearest mode; a mode is covered if a high-quality sample is nearest to it",
            "reverse_kl": "KL(histogram of high-quality samples over their nearest modes || uniform); "
                          "log(num_modes) when none is high quality",
            "effective_modes": "exp(entropy) of the histogram of all samples over their nearest modes",
        }
        if self.density is not None:
            record["divergences"] = (f"KL(p_g || p_data) and JS over {self.bins} bins on +-5 std "
                                     "plus two tail bins; d_real/d_fake: mean sigmoid(D(x)) in eval mode")
        return record

