"""FID, IS and KID over precomputed features on torchmetrics' states (synced across processes in compute()).

The feature extractor runs once per image and feeds all three; the reference set's features are loaded
from a cache into the metrics' real-data states, sharded across ranks so that the synced states hold
each reference image once.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.utilities.data import dim_zero_cat


class GivenFeatures(nn.Module):
    """The identity: torchmetrics' `feature` module for inputs that already are features [N, F]."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, features: Tensor) -> Tensor:
        return features


def moments(total: Tensor, outer: Tensor, n: Tensor) -> tuple[Tensor, Tensor]:
    """Mean [F] and unbiased covariance [F, F] from sum x [F], sum x x^T [F, F] and the count."""
    mean = total / n
    return mean, (outer - n * torch.outer(mean, mean)) / (n - 1)


def psd_sqrt(matrix: Tensor) -> Tensor:
    """Symmetric square root of a positive semi-definite matrix [F, F] (negative round-off clipped)."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu_r: Tensor, cov_r: Tensor, mu_g: Tensor, cov_g: Tensor, root: Tensor | None = None) -> Tensor:
    """|mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^1/2), with tr (S_r S_g)^1/2 = sum sqrt eig(R S_g R), R = S_r^1/2."""
    root = psd_sqrt(cov_r) if root is None else root.to(cov_r)
    trace_sqrt = torch.linalg.eigvalsh(root @ cov_g @ root).clamp(min=0).sqrt().sum()
    return (mu_r - mu_g).square().sum() + cov_r.trace() + cov_g.trace() - 2 * trace_sqrt


def feature_moments(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean [F] and covariance [F, F] of features [N, F], in float64."""
    f = features.double()
    return moments(f.sum(0), f.T @ f, torch.tensor(len(f), dtype=torch.float64))


class FrechetDistance(FrechetInceptionDistance):
    """FID (Heusel et al. 2017, eq. 6): |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^1/2).

    tr (S_r S_g)^1/2 = sum sqrt eig(R S_g R) with R = S_r^1/2 computed once for the fixed reference:
    a symmetric eigenproblem, several times faster than torchmetrics' general eigvals and equal to it.
    """

    def __init__(self, num_features: int):
        super().__init__(feature=GivenFeatures(num_features), reset_real_features=False)
        self.reference_root: Tensor | None = None  # [F, F]

    def set_reference(self, shard: Tensor, root: Tensor) -> None:
        """This rank's share of the reference features [n, F]; `root` = S_r^1/2 of all of them [F, F]."""
        shard = shard.double()
        self.real_features_sum = shard.sum(0)
        self.real_features_cov_sum = shard.T @ shard
        self.real_features_num_samples = torch.tensor(len(shard), device=shard.device)
        self.reference_root = root.double()

    def compute(self) -> Tensor:
        mu_r, cov_r = moments(self.real_features_sum, self.real_features_cov_sum, self.real_features_num_samples)
        mu_g, cov_g = moments(self.fake_features_sum, self.fake_features_cov_sum, self.fake_features_num_samples)
        return frechet_distance(mu_r, cov_r, mu_g, cov_g, self.reference_root).float()


class KernelDistance(KernelInceptionDistance):
    """KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic kernel, mean and std over random subsets.

    The subset size is min(`subset_size`, reference count, generated count); `used_subset_size` records it.
    """

    def __init__(self, num_features: int, subsets: int = 100, subset_size: int = 1000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "will save all extracted features": we know
            super().__init__(feature=GivenFeatures(num_features), subsets=int(subsets),
                             subset_size=int(subset_size), reset_real_features=False)
        self.max_subset_size = int(subset_size)
        self.used_subset_size: int | None = None

    def set_reference(self, shard: Tensor) -> None:
        self.real_features = [shard.float()]

    def compute(self) -> tuple[Tensor, Tensor]:
        available = min(len(dim_zero_cat(self.real_features)), len(dim_zero_cat(self.fake_features)))
        self.subset_size = self.used_subset_size = min(self.max_subset_size, available)
        return KernelInceptionDistance.compute(self)


class SplitInceptionScore(InceptionScore):
    """IS (Salimans et al. 2016, Sec. 4): exp(E_x KL(p(y|x) || p(y))) on each of `splits` parts; mean and std.

    As torch-fidelity and the authors' code: the logits are permuted with a fixed seed (numpy's RandomState(2020),
    torch-fidelity's default), part i holds rows [i N / s, (i + 1) N / s), and the std is the population std
    over parts (ddof 0). torchmetrics' own compute permutes unseeded and reports the sample std.
    """

    def __init__(self, num_classes: int, splits: int = 10, seed: int = 2020):
        super().__init__(feature=GivenFeatures(num_classes), splits=int(splits))
        self.seed = int(seed)

    def compute(self) -> tuple[Tensor, Tensor]:
        logits = dim_zero_cat(self.features).double()  # [N, K]
        n = len(logits)
        logits = logits[torch.from_numpy(np.random.RandomState(self.seed).permutation(n)).to(logits.device)]
        log_p = logits.log_softmax(dim=1)  # [N, K]
        scores = []
        for i in range(self.splits):
            part = log_p[i * n // self.splits:(i + 1) * n // self.splits]  # [n / s, K]
            log_marginal = part.exp().mean(0, keepdim=True).log()  # log p(y) [1, K]
            scores.append((part.exp() * (part - log_marginal)).sum(1).mean().exp())
        scores = torch.stack(scores)
        return scores.mean().float(), scores.std(correction=0).float()


class Scores(nn.Module):
    """FID (and optionally IS over logits, KID) of generated features against a fixed reference set."""

    def __init__(self, num_features: int, num_classes: int | None = None, kid: bool = False,
                 is_splits: int = 10, kid_subsets: int = 100, kid_subset_size: int = 1000):
        super().__init__()
        self.fid = FrechetDistance(num_features)
        self.kid = KernelDistance(num_features, kid_subsets, kid_subset_size) if kid else None
        self.inception_score = None
        if num_classes is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.inception_score = SplitInceptionScore(num_classes, splits=int(is_splits))

    def set_reference(self, features: Tensor, root: Tensor, rank: int = 0, world_size: int = 1) -> None:
        """All reference features [N, F] (each rank keeps every world_size-th one) and S_r^1/2 [F, F]."""
        shard = features[rank::world_size].to(self.fid.real_features_sum.device)
        self.fid.set_reference(shard, root)
        if self.kid is not None:
            self.kid.set_reference(shard)

    def reset(self) -> None:
        for metric in (self.fid, self.kid, self.inception_score):
            if metric is not None:
                metric.reset()

    def update(self, features: Tensor, logits: Tensor | None = None) -> None:
        """Generated features [B, F] and, for IS, class logits [B, K]."""
        self.fid.update(features, real=False)
        if self.kid is not None:
            self.kid.update(features, real=False)
        if self.inception_score is not None:
            self.inception_score.update(logits)

    def compute(self) -> dict[str, float]:
        values = {"fid": float(self.fid.compute())}
        if self.inception_score is not None:
            mean, std = self.inception_score.compute()
            values.update({"is": float(mean), "is_std": float(std)})
        if self.kid is not None:
            mean, std = self.kid.compute()
            values.update(kid=float(mean), kid_std=float(std))
        return values
