"""Certified ranges: the vectorised closed form against theory.value_range, conventions, containment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.bridge import (
    decisions,
    lipschitz_ranges,
    make_observations,
    needed_L,
    range_summary,
    smallest_consistent_L,
    unconditional_ranges,
)
from theory import value_range


def _setup(seed: int = 0, d: int = 6, n_obs: int = 5, n: int = 40) -> tuple:
    """A truly L-Lipschitz f (a clipped linear function), observations of it and query points."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    L = float(np.linalg.norm(w))

    def f(x: np.ndarray) -> np.ndarray:
        return np.clip(x @ w, -1.0, 1.0)

    pts = rng.uniform(size=(n_obs, d))
    pts[0], pts[1] = (w > 0).astype(float), (w < 0).astype(float)  # the true argmax / argmin vertices
    x = rng.uniform(size=(n, d))
    return f, L, torch.from_numpy(pts), f(pts), torch.from_numpy(x), f(x)


def test_observation_convention_extremes_carry_the_largest_and_smallest_values() -> None:
    pts = torch.rand(4, 3)
    obs = make_observations(pts, np.array([1.0, 0.5, 2.0, -1.0]))
    assert obs.kinds == ("max", "min", "value", "value")
    assert obs.f_max == 2.0 and obs.f_min == -1.0
    assert list(obs.values) == [2.0, -1.0, 2.0, -1.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_matches_value_range(seed: int) -> None:
    _, L, pts, vals, x, _ = _setup(seed)
    obs = make_observations(pts, vals)
    dist = torch.cdist(x.double(), pts.double()).numpy()
    for scale in (1.0, 0.3 * smallest_consistent_L(obs) / L + 1.0, 5.0):
        lo, hi = lipschitz_ranges(obs, dist, L * scale)
        dec = decisions(lo, hi, float(obs.f_max), float(obs.f_min))
        for k in range(len(x)):
            vr = value_range("lipschitz", obs, x[k].numpy(), L=L * scale, norm=2, d=obs.d)
            assert (lo[k], hi[k]) == pytest.approx((vr.lo, vr.hi), abs=1e-12)
            assert dec[k] == (vr.decision() or "none")


def test_true_values_lie_in_certified_and_unconditional_ranges() -> None:
    f, L, pts, vals, x, actual = _setup(3, n=200)
    obs = make_observations(pts, vals)
    dist = torch.cdist(x.double(), pts.double()).numpy()
    summary = range_summary(*lipschitz_ranges(obs, dist, L), actual, obs)
    assert summary["contained"] == len(x) and summary["violations"] == []
    assert summary["decided_wrong"] == 0
    lo, hi = unconditional_ranges(vals, dist, L)
    assert np.all((lo <= actual + 1e-12) & (actual <= hi + 1e-12))
    # an L below the true constant is not certified: some range misses the truth (the test can fail)
    too_small = range_summary(*lipschitz_ranges(obs, dist, 0.05 * L), actual, obs)
    assert too_small["contained"] < len(x)


def test_needed_L_is_the_certification_threshold() -> None:
    _, L, pts, vals, x, _ = _setup(4, n=30)
    obs = make_observations(pts, vals)
    dist = torch.cdist(x.double(), pts.double()).numpy()
    L0 = smallest_consistent_L(obs)
    need = needed_L(obs, dist, L0, 100 * L)
    for k in np.flatnonzero(need > 0):
        below = lipschitz_ranges(obs, dist[k : k + 1], need[k] * (1 - 1e-6))
        above = lipschitz_ranges(obs, dist[k : k + 1], need[k] * (1 + 1e-6))
        f_max, f_min = float(obs.f_max), float(obs.f_min)
        assert decisions(*below, f_max, f_min)[0] != "none"
        if need[k] < 100 * L * (1 - 1e-6):
            assert decisions(*above, f_max, f_min)[0] == "none"
