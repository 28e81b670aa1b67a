r"""Similarity metrics between activation vectors, batched over leading dimensions, as inner products of embeddings.

Every metric is :math:`s(x, y) = \langle \varphi(x), \varphi(y) \rangle` for an embedding :math:`\varphi` of a
vector :math:`x \in \mathbb{R}^D`:

* cosine: :math:`\varphi(x) = x / \lVert x \rVert`;
* Pearson: :math:`\varphi(x) = (x - \bar x) / \lVert x - \bar x \rVert`;
* Spearman: the Pearson embedding of the ranks :math:`r(x)` (ties get the average of their ranks), so
  :math:`\rho(x, y) = \mathrm{Pearson}(r(x), r(y))`, as :func:`scipy.stats.spearmanr`.

Because :math:`s` is bilinear in the embeddings, the mean similarity between two sets is the inner product of their
mean embeddings, :math:`\frac{1}{|X||Y|}\sum_{x, y} s(x, y) = \langle \bar\varphi_X, \bar\varphi_Y \rangle`: this is
what lets :mod:`empirical.paths` stream over images keeping only per-group running sums. A zero-norm vector
(constant, for Pearson/Spearman) embeds to 0, i.e. similarity 0 with everything.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["METRICS", "cosine", "embed", "pearson", "rank_average", "spearman"]

_EPS = 1e-12


def rank_average(x: Tensor) -> Tensor:
    """1-based ranks along the last dimension, ties averaged:
    :math:`r_i = \\#\\{j: x_j < x_i\\} + (\\#\\{j: x_j = x_i\\} + 1) / 2`."""
    x = x.contiguous()
    s = torch.sort(x, dim=-1).values
    below = torch.searchsorted(s, x, right=False)
    at_or_below = torch.searchsorted(s, x, right=True)
    return (below + at_or_below + 1).to(x.dtype if x.is_floating_point() else torch.float64) / 2


def _unit(x: Tensor) -> Tensor:
    norm = x.norm(dim=-1, keepdim=True)
    return torch.where(norm > _EPS, x / norm.clamp_min(_EPS), torch.zeros_like(x))


def _centre(x: Tensor) -> Tensor:
    return x - x.mean(dim=-1, keepdim=True)


def embed(x: Tensor, metric: str = "spearman") -> Tensor:
    """The embedding :math:`\\varphi(x)` of ``metric`` along the last dimension (float64 for exact sums)."""
    x = x.to(torch.float64)
    if metric == "cosine":
        return _unit(x)
    if metric == "pearson":
        return _unit(_centre(x))
    if metric == "spearman":
        return _unit(_centre(rank_average(x)))
    raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")


def _similarity(metric: str) -> Callable[[Tensor, Tensor], Tensor]:
    def sim(x: Tensor, y: Tensor) -> Tensor:
        if x.shape[-1] != y.shape[-1]:
            raise ValueError(f"vectors of different lengths: {x.shape[-1]} and {y.shape[-1]}")
        return (embed(x, metric) * embed(y, metric)).sum(-1)

    return sim


def spearman(x: Tensor, y: Tensor) -> Tensor:
    """Spearman rank correlation of ``x`` and ``y`` along the last dimension (leading dimensions broadcast)."""
    return _similarity("spearman")(x, y)


def pearson(x: Tensor, y: Tensor) -> Tensor:
    """Pearson correlation along the last dimension (leading dimensions broadcast):
    :math:`\\langle x - \\bar x, y - \\bar y\\rangle / (\\lVert x - \\bar x\\rVert \\lVert y - \\bar y\\rVert)`."""
    return _similarity("pearson")(x, y)


def cosine(x: Tensor, y: Tensor) -> Tensor:
    """Cosine similarity along the last axis: :math:`\\langle x, y\\rangle / (\\lVert x\\rVert \\lVert y\\rVert)`."""
    return _similarity("cosine")(x, y)


#: Metric name -> pairwise function.
METRICS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"spearman": spearman, "pearson": pearson, "cosine": cosine}
