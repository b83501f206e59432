"""Minibatch discrimination (Salimans et al. 2016, Sec. 3.2): a D head that sees the other samples of the batch."""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from gankit import arguments


@functools.cache
def _cdist_twice_differentiable() -> bool:
    """Whether this torch differentiates torch.cdist's backward (gradient penalties, R1 and unrolled D need it):
    recent releases do; torch 2.6 raises "the derivative for '_cdist_backward' is not implemented"."""
    x = torch.ones(1, 2, 1, requires_grad=True)
    try:
        (grad,) = torch.autograd.grad(torch.cdist(x, x * 2, p=1).sum(), x, create_graph=True)
        grad.sum().backward()
    except (NotImplementedError, RuntimeError):
        return False
    return True


def l1_distances(M: Tensor) -> Tensor:
    """[K, N, C] -> [K, N, N] pairwise L1 distances: torch.cdist where its backward is differentiable, else the same
    sum written out ([K, N, N, C] in memory; equal to 2e-6, not bit for bit)."""
    if _cdist_twice_differentiable():
        return torch.cdist(M, M, p=1)
    return (M[:, :, None, :] - M[:, None, :, :]).abs().sum(-1)


class MinibatchDiscriminationHead(nn.Module):
    """features [N, F] -> logits [N, 1] of a linear layer on [features, o(features)] ([N, F + K]).

    Letters: N samples in the batch, F features, K kernels (the paper's B), C dimensions a kernel.
    T maps f(x_i) to M_i [K, C]; c_k(x_i, x_j) = exp(-||M_i,k - M_j,k||_L1) and
    o(x_i)_k = sum_{j != i} c_k(x_i, x_j) (Eqs. 2-4). As in the authors' code, T is weight-normalised
    (unit columns times a learned scale), so distances do not depend on D's feature scale; their bias
    on o is left out, the linear layer's bias absorbs it. The batch D sees is the batch scored:
    the loop calls D on real and on generated data separately. Cost is O(N^2) in the batch size N,
    so in eval mode (figures, metrics: batches of thousands) D scores consecutive minibatches of
    at most `eval_batch` samples; training batches are always scored whole.
    """

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5, eval_batch: int = 256):
        super().__init__()
        self.kernels = arguments.integer("kernels", kernels, at_least=1)
        self.kernel_dim = arguments.integer("kernel_dim", kernel_dim, at_least=1)
        self.eval_batch = arguments.integer("eval_batch", eval_batch, at_least=2)  # closeness to other samples
        self.T = nn.Parameter(0.05 * torch.randn(int(in_features), self.kernels, self.kernel_dim))  # [F, K, C]
        self.log_scale = nn.Parameter(torch.zeros(self.kernels, self.kernel_dim))  # [K, C]
        self.linear = nn.Linear(int(in_features) + self.kernels, 1)

    def minibatch_features(self, features: Tensor) -> Tensor:
        """o(x_i) for every sample of the batch: [N, F] -> [N, K]."""
        T = self.T * (self.log_scale.exp() / self.T.norm(dim=0))  # [F, K, C], unit columns times scale
        M = torch.einsum("nf,fkc->knc", features, T)  # [K, N, C]: M_i,k for every kernel k
        l1 = l1_distances(M)  # [K, N, N]: ||M_i,k - M_j,k||_L1
        c = torch.exp(-l1)  # [K, N, N]: c_k(x_i, x_j)
        not_self = 1.0 - torch.eye(len(features), device=features.device, dtype=c.dtype)  # [N, N]
        return (c * not_self).sum(2).T  # [N, K]: the self pair (exp(0) = 1) is excluded

    def forward(self, features: Tensor) -> Tensor:
        chunks = [features] if self.training else features.split(self.eval_batch)
        o = torch.cat([self.minibatch_features(chunk) for chunk in chunks])  # [N, K]
        return self.linear(torch.cat([features, o], dim=1))  # [N, 1]
