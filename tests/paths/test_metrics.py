"""The metrics agree with scipy (Spearman with ties, Pearson) and numpy (cosine), batched."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
import torch

from empirical.paths import cosine, embed, pearson, rank_average, spearman


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 6, (8, 40), generator=g).double()  # many ties
    y = torch.randn(8, 40, generator=g, dtype=torch.float64)
    y[:, :10] = y[:, :1]  # ties in y too
    return x, y


def test_spearman_matches_scipy() -> None:
    x, y = _data()
    ours = spearman(x, y).numpy()
    ref = [st.spearmanr(x[i].numpy(), y[i].numpy()).statistic for i in range(len(x))]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_pearson_matches_scipy() -> None:
    x, y = _data(1)
    ours = pearson(x, y).numpy()
    ref = [st.pearsonr(x[i].numpy(), y[i].numpy()).statistic for i in range(len(x))]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_cosine_matches_numpy() -> None:
    x, y = _data(2)
    a, b = x.numpy(), y.numpy()
    ref = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(cosine(x, y).numpy(), ref, atol=1e-12)


def test_rank_average_matches_scipy() -> None:
    x, _ = _data(3)
    np.testing.assert_allclose(rank_average(x).numpy(), st.rankdata(x.numpy(), axis=1))


def test_broadcast_and_mean_of_pairs() -> None:
    x, y = _data(4)
    full = spearman(x[:, None], y[None]).numpy()  # (8, 8) all pairs
    assert full.shape == (8, 8)
    mean_pairs = embed(x).mean(0) @ embed(y).mean(0)
    assert float(mean_pairs) == pytest.approx(full.mean(), abs=1e-12)


def test_constant_vector_and_bad_input() -> None:
    assert float(pearson(torch.ones(5), torch.arange(5.0))) == 0.0
    with pytest.raises(ValueError, match="unknown metric"):
        embed(torch.ones(3), "kendall")
    with pytest.raises(ValueError, match="different lengths"):
        spearman(torch.ones(3), torch.ones(4))
