"""The two-level bootstrap: unit weights give the point estimate; any weights equal recomputing the terms on
the resampled images; the intervals cover the score and widen when images are resampled too."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.paths import bootstrap_terms, embed, gram_blocks, path_terms, ratio_with_ci
from empirical.paths._bootstrap import unit_weights


def _setup(seed: int = 0, k: int = 4, m: int = 3, n: int = 2, per_bucket: int = 5, d: int = 12):
    """Random per-image embeddings ``(3, K, M, per_bucket, D)`` and visualization embeddings ``(K, n, D)``."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g, dtype=torch.float64)
    raw = centres[None, :, None, None] + 0.7 * torch.randn(3, k, m, per_bucket, d, generator=g, dtype=torch.float64)
    img = embed(raw, "spearman")
    vis = embed(centres[:, None] + torch.randn(k, n, d, generator=g, dtype=torch.float64), "spearman")
    counts = torch.full((3, k, m), float(per_bucket), dtype=torch.float64)
    return img, vis, counts


def test_unit_weights_give_point_terms() -> None:
    img, vis, counts = _setup()
    blocks = gram_blocks(vis, img.sum(3), counts)
    k, m, n = vis.shape[0], img.shape[2], vis.shape[1]
    t = bootstrap_terms(blocks, *unit_weights(k, m, n))
    means = img.flatten(2, 3).mean(2)  # (3, K, D)
    ref = path_terms(vis.mean(1), means[0], means[1], means[2])
    for key, val in ref.items():
        np.testing.assert_allclose(t[key][0].numpy(), val, atol=1e-12)


def test_weights_equal_recomputed_resample() -> None:
    img, vis, counts = _setup(1)
    blocks = gram_blocks(vis, img.sum(3), counts)
    g = torch.Generator().manual_seed(3)
    w = torch.randint(0, 3, (1, *counts.shape), generator=g).double()
    w[..., 0] += 1  # every (role, class) keeps at least one bucket
    u = torch.tensor([[[2.0, 0.0], [1.0, 1.0], [0.0, 2.0], [1.0, 1.0]]])
    t = bootstrap_terms(blocks, w, u)
    # brute force: repeat every image of bucket m w times and average
    means = torch.stack(
        [
            torch.stack(
                [
                    torch.repeat_interleave(img[r, j], w[0, r, j].long(), dim=0).flatten(0, 1).mean(0)
                    for j in range(img.shape[1])
                ]
            )  # fmt: skip
            for r in range(3)
        ]
    )
    v = torch.stack([torch.repeat_interleave(vis[j], u[0, j].long(), dim=0).mean(0) for j in range(vis.shape[0])])
    ref = path_terms(v, means[0], means[1], means[2])
    for key, val in ref.items():
        np.testing.assert_allclose(t[key][0].numpy(), val, atol=1e-12)


def test_interval_covers_score_and_image_resampling_widens_it() -> None:
    img, vis, counts = _setup(2, k=6, m=8)
    blocks = gram_blocks(vis, img.sum(3), counts)
    score, lo, hi, per_class = ratio_with_ci(blocks, "a", 500, 0.95, seed=0)
    assert lo <= score <= hi and len(per_class) == 6
    same = ratio_with_ci(blocks, "same", 500, 0.95, seed=0)
    assert same[1] < 1 < same[2] or same[0] == pytest.approx(1, abs=0.3)
    # class-only bootstrap: one bucket per (role, class)
    pooled = gram_blocks(vis[:, :1], img.sum((2, 3))[:, :, None], counts.sum(-1, keepdim=True))
    s1, lo1, hi1, _ = ratio_with_ci(pooled, "same", 500, 0.95, seed=0)
    assert s1 == pytest.approx(same[0], abs=1e-12)
    assert hi1 - lo1 < same[2] - same[1]


def test_empty_buckets_are_not_drawn() -> None:
    img, vis, counts = _setup(4, m=4)
    sums = img.sum(3)
    sums[:, :, 3] = 0.0
    counts[:, :, 3] = 0.0  # bucket 3 empty everywhere
    score, lo, hi, _ = ratio_with_ci(gram_blocks(vis, sums, counts), "a", 200, 0.9, seed=1)
    assert np.isfinite([score, lo, hi]).all()
