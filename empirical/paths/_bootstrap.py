r"""Two-level bootstrap of the normalised score: over classes, and over images within each class.

The natural images of role :math:`r` (reference R, held-out H, control Q) and class :math:`k` are spread over
:math:`M` buckets with embedding sums :math:`S_{rkm}` and counts :math:`N_{rkm}`. A bootstrap replicate draws

* bucket weights :math:`w_{rk} \sim \mathrm{Multinomial}(M, 1/M)` for every role and class (resampling the buckets,
  i.e. groups of images, with replacement), and visualization weights :math:`u_k \sim \mathrm{Multinomial}(n, 1/n)`
  over the :math:`n` visualizations (seeds) of class :math:`k`;
* class indices :math:`k_1, \dots, k_K` uniformly with replacement.

Resampled means are :math:`m_{rk} = \sum_m w_{rkm} S_{rkm} / \sum_m w_{rkm} N_{rkm}`, so every term is a
bilinear form in the weights over precomputed Gram blocks :math:`\langle S_{Rkm}, S_{Hjm'}\rangle` etc.; the cost
of a replicate is independent of the dimension :math:`D` and of the number of images. With unit weights the terms
are exactly the point estimates. :math:`M = 1` gives the class-only bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "GramBlocks",
    "bootstrap_terms",
    "gram_blocks",
    "percentile_interval",
    "ratio_replicates",
    "ratio_replicates_many",
    "ratio_with_ci",
    "unit_weights",
]


@dataclass(frozen=True)
class GramBlocks:
    """Inner products needed by the terms of one layer (float64).

    ``vr`` ``(K, n, M)``: :math:`\\langle \\varphi(v_{kj}), S_{Rkm}\\rangle`; ``rh``/``rq`` ``(K, M, K, M)``:
    :math:`\\langle S_{Rkm}, S_{Hjm'}\\rangle` / :math:`\\langle S_{Rkm}, S_{Qjm'}\\rangle`; ``counts`` ``(3, K, M)``.
    """

    vr: Tensor
    rh: Tensor
    rq: Tensor
    counts: Tensor


def gram_blocks(vis: Tensor, sums: Tensor, counts: Tensor) -> GramBlocks:
    """From visualization embeddings ``(K, n, D)``, bucket sums ``(3, K, M, D)`` and counts ``(3, K, M)``."""
    ref, held, ctrl = (sums[r].double() for r in range(3))
    return GramBlocks(
        vr=torch.einsum("knd,kmd->knm", vis.double(), ref),
        rh=torch.einsum("kmd,jpd->kmjp", ref, held),
        rq=torch.einsum("kmd,jpd->kmjp", ref, ctrl),
        counts=counts.double(),
    )


def bootstrap_terms(blocks: GramBlocks, w: Tensor, u: Tensor) -> dict[str, Tensor]:
    """Per-class terms ``a, b, c, same, other`` ``(B, K)`` for bucket weights ``w`` ``(B, 3, K, M)`` and
    visualization weights ``u`` ``(B, K, n)``.

    :math:`a_k = \\langle \\bar v_k, m_{Rk}\\rangle`, :math:`b_k = \\langle m_{Hk}, m_{Rk}\\rangle`,
    :math:`c_k = \\mathrm{mean}_{j \\ne k}\\langle m_{Rk}, m_{Hj}\\rangle`, ``same`` :math:`= \\langle m_{Qk},
    m_{Rk}\\rangle`, ``other`` :math:`= \\mathrm{mean}_{j \\ne k}\\langle m_{Rk}, m_{Qj}\\rangle`.
    """
    w, u = w.double(), u.double()
    wn = w * blocks.counts  # (B, 3, K, M)
    n_r, n_h, n_q = (wn[:, r].sum(-1) for r in range(3))  # (B, K)
    a = torch.einsum("bkn,knm,bkm->bk", u, blocks.vr, w[:, 0]) / (u.sum(-1) * n_r)
    b, c = _diag_and_rest(blocks.rh, w[:, 0] / n_r[..., None], w[:, 1] / n_h[..., None])
    same, other = _diag_and_rest(blocks.rq, w[:, 0] / n_r[..., None], w[:, 2] / n_q[..., None])
    return {"a": a, "b": b, "c": c, "same": same, "other": other}


def _diag_and_rest(gram: Tensor, left: Tensor, right: Tensor) -> tuple[Tensor, Tensor]:
    r"""For ``gram`` ``(K, M, K, M)`` and normalised weights ``left``/``right`` ``(B, K, M)``, with
    :math:`x_{kj} = \sum_{m, p} \mathrm{left}_{km}\, G_{kmjp}\, \mathrm{right}_{jp}`: the diagonal :math:`x_{kk}`
    and :math:`\mathrm{mean}_{j \ne k} x_{kj}`, ``(B, K)`` each. One ``(B, KM) x (KM, KM)`` product: no
    ``(B, K, K)`` intermediate."""
    bsz, k, m = left.shape
    diag = torch.einsum("bkm,kmp,bkp->bk", left, gram.diagonal(dim1=0, dim2=2).permute(2, 0, 1), right)
    full = (right.reshape(bsz, k * m) @ gram.reshape(k * m, k * m).T).view(bsz, k, m)
    total = (left * full).sum(-1)
    return diag, (total - diag) / (k - 1)


def unit_weights(k: int, m: int, n: int) -> tuple[Tensor, Tensor]:
    """Weights of the point estimate: every bucket and visualization once, ``(1, 3, K, M)`` and ``(1, K, n)``."""
    return torch.ones(1, 3, k, m, dtype=torch.float64), torch.ones(1, k, n, dtype=torch.float64)


def _ratio(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a.mean(-1) - c.mean(-1)) / (b.mean(-1) - c.mean(-1))


def _bucket_weights(rng: np.random.Generator, occupied: np.ndarray, size: int) -> np.ndarray:
    """``(size, 3, K, M)`` multinomial resampling weights over the occupied buckets of each (role, class): the
    cells with the same number of occupied buckets are drawn together."""
    w = np.zeros((size, *occupied.shape), dtype=np.int64)
    flat = w.reshape(size, -1, occupied.shape[-1])
    occ = occupied.reshape(-1, occupied.shape[-1])
    n_occ = occ.sum(-1)
    for count in sorted({int(c) for c in n_occ if c > 0}):
        cells = np.flatnonzero(n_occ == count)
        draws = rng.multinomial(count, np.full(count, 1 / count), size=(size, len(cells)))  # (size, cells, count)
        cols = np.stack([np.flatnonzero(occ[c]) for c in cells])  # (cells, count)
        flat[:, cells[:, None], cols] = draws
    return w


def ratio_replicates(
    blocks: GramBlocks, numerator: str, n_bootstrap: int, seed: int, chunk: int = 256
) -> tuple[float, list[float], np.ndarray]:
    """Score :math:`(\\bar t - \\bar c)/(\\bar b - \\bar c)` of the term ``numerator`` (``"a"``, ``"same"`` or
    ``"other"``), the per-class ratios and the ``n_bootstrap`` replicates of the score (classes and images
    resampled; non-finite where a resampled set is empty).

    The draws depend only on ``seed`` and the shapes (classes, buckets, visualizations), not on the layer, so two
    layers analysed with the same seed share their resampled classes and images: replicates of a mean over layers
    are the means of the per-layer replicates."""
    return ratio_replicates_many(blocks, (numerator,), n_bootstrap, seed, chunk)[numerator]


def ratio_replicates_many(
    blocks: GramBlocks, numerators: tuple[str, ...], n_bootstrap: int, seed: int, chunk: int = 256
) -> dict[str, tuple[float, list[float], np.ndarray]]:
    """:func:`ratio_replicates` of several numerators from the same draws (each term computed once per draw)."""
    k, m = (int(v) for v in blocks.counts.shape[1:])
    n = blocks.vr.shape[1]
    point = {key: v[0].numpy() for key, v in bootstrap_terms(blocks, *unit_weights(k, m, n)).items()}
    out: dict[str, tuple[float, list[float], np.ndarray]] = {}
    boot: dict[str, list[np.ndarray]] = {t: [np.empty(0)] for t in numerators}
    rng = np.random.default_rng(seed)
    occupied = (blocks.counts > 0).numpy()
    for start in range(0, max(n_bootstrap, 0), chunk):
        size = min(chunk, n_bootstrap - start)
        w = torch.from_numpy(_bucket_weights(rng, occupied, size))
        u = torch.from_numpy(rng.multinomial(n, np.full(n, 1 / n), size=(size, k)))
        t = {key: v.numpy() for key, v in bootstrap_terms(blocks, w, u).items()}
        idx = rng.integers(0, k, size=(size, k))
        rows = np.arange(size)[:, None]
        for num in numerators:
            boot[num].append(_ratio(t[num][rows, idx], t["b"][rows, idx], t["c"][rows, idx]))
    for num in numerators:
        score = float(_ratio(point[num], point["b"], point["c"]))
        with np.errstate(divide="ignore", invalid="ignore"):
            per_class = ((point[num] - point["c"]) / (point["b"] - point["c"])).tolist()
        out[num] = (score, [float(v) for v in per_class], np.concatenate(boot[num]))
    return out


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Two-sided percentile interval of the finite ``values`` (NaNs when there are none)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def ratio_with_ci(
    blocks: GramBlocks, numerator: str, n_bootstrap: int, confidence: float, seed: int, chunk: int = 256
) -> tuple[float, float, float, list[float]]:
    """Score of the term ``numerator``, its percentile-bootstrap interval and the per-class ratios
    (:func:`ratio_replicates`; non-finite replicates are dropped)."""
    score, per_class, values = ratio_replicates(blocks, numerator, n_bootstrap, seed, chunk)
    lo, hi = percentile_interval(values, confidence)
    return score, lo, hi, per_class
