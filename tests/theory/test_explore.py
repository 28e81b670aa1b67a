"""Beyond yes/no: certified shares, observation budgets, more observations (issue 7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import FeatureVisualization, Observations, value_range
from theory._explore import covering_number, grid, lipschitz_certified_share, observation_budget, question_map


@pytest.mark.parametrize("L", [1.0, 1.5, 3.0, 10.0])
@pytest.mark.parametrize("xmin,xmax", [(0.0, 1.0), (0.2, 0.7), (0.9, 0.1)])
def test_d1_share_matches_closed_form(L, xmin, xmax):
    """d = 1: |([x_min - r, x_min + r] u [x_max - r, x_max + r]) n [0,1]| with r = Delta/(2L)."""
    delta = L * abs(xmax - xmin) * 0.8
    fv = FeatureVisualization([xmax], delta, [xmin], 0.0)
    r = delta / (2 * L)
    a = (max(0, xmin - r), min(1, xmin + r))
    b = (max(0, xmax - r), min(1, xmax + r))
    overlap = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    expected = (a[1] - a[0]) + (b[1] - b[0]) - overlap
    share, err, method = lipschitz_certified_share(fv, L)
    assert share == pytest.approx(expected, abs=1e-12) and method.startswith("exact")
    # and the engine's own pointwise answers agree on a fine grid
    m = question_map("lipschitz", fv, grid(1, 2000), L=L)
    assert m.min_or_max.mean() == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize(
    "norm,area", [("1", lambda r: r * r), ("2", lambda r: math.pi * r * r / 2), ("inf", lambda r: 2 * r * r)]
)
def test_d2_share_matches_closed_form_and_monte_carlo(norm, area):
    """Corners x_min = 0, x_max = 1, r <= 1/2: two quarter balls, area 2 * vol(B_r)/4."""
    L = 3.0
    fv = FeatureVisualization([1.0, 1.0], 1.0, [0.0, 0.0], 0.0)
    share, err, _ = lipschitz_certified_share(fv, L, norm)
    assert share == pytest.approx(area(1 / (2 * L)), abs=1e-9)
    m = question_map("lipschitz", fv, np.random.default_rng(0).random((4000, 2)), L=L, norm=norm)
    assert abs(m.min_or_max.mean() - share) < 4 * math.sqrt(share * (1 - share) / 4000)


@pytest.mark.parametrize("r", [0.5, 0.3, 0.1, 0.05, 0.0123])
def test_covering_bound_d1(r):
    """d = 1: ceil(1/(2r)) intervals of length <= 2r cover [0,1], and fewer cannot."""
    n = covering_number(r, 1)
    assert n == math.ceil(1 / (2 * r))
    centres = (np.arange(n) + 0.5) / n
    assert np.max(np.abs(np.linspace(0, 1, 10001)[:, None] - centres[None]).min(axis=1)) <= r + 1e-12
    assert (n - 1) * 2 * r < 1


def test_grid_budget_reaches_covering_bound_d1():
    """With observations on the covering grid the half-width is at most L r = eps Delta (d = 1)."""
    fv = FeatureVisualization([1.0], 0.25, [0.0], 0.0)
    b = observation_budget(fv, 1.0, 0.1, strategy="grid")
    assert b.max_half_width <= 0.1 * fv.delta + 1e-12
    assert b.added <= b.covering_bound
    g = observation_budget(fv, 1.0, 0.1, strategy="greedy")
    assert g.max_half_width <= 0.1 * fv.delta + 1e-12
    assert all(a >= b - 1e-12 for a, b in zip(g.history, g.history[1:], strict=False))  # never widens


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    d=st.integers(1, 3),
    name=st.sampled_from(["lipschitz", "monotone_lipschitz", "monotonic", "black_box", "convex", "affine"]),
)
def test_more_observations_never_widen(seed, d, name):
    """Adding a consistent observation (a value inside the current range) never widens the range."""
    rng = np.random.default_rng(seed)
    params = {"L": 2.0} if "lipschitz" in name else {}
    one, zero = np.ones(d), np.zeros(d)
    fv = FeatureVisualization(one, 1.0, zero, 0.0)
    if name == "affine":
        fv = FeatureVisualization(one, 1.0, zero, 0.0)
    obs = fv.observations()
    x, p = rng.random(d), rng.random(d)
    before = value_range(name, obs, x, **params)
    at_p = value_range(name, obs, p, **params)
    v = at_p.lo + rng.random() * (at_p.hi - at_p.lo)
    if name == "affine":
        v = at_p.witness_lo(p)  # an affine member's own value keeps the data affine-consistent
    after = value_range(name, obs.with_value(p, v), x, **params)
    assert after.lo >= before.lo - 1e-7 and after.hi <= before.hi + 1e-7


def test_inconsistent_observations_are_rejected():
    fv = FeatureVisualization([1.0], 1.0, [0.0], 0.0)
    obs = fv.observations().with_value(np.array([0.5]), 0.95)
    with pytest.raises(ValueError, match="no 1-Lipschitz function"):
        value_range("lipschitz", obs, [0.2], L=1.0)
    with pytest.raises(ValueError, match="observed value 1.5 exceeds the global maximum"):
        fv.observations().with_value(np.array([0.5]), 1.5)
    with pytest.raises(ValueError, match="nondecreasing"):
        value_range(
            "monotonic", fv.observations().with_value(np.array([0.9]), 0.0).with_value(np.array([0.8]), 0.5), [0.2]
        )
    with pytest.raises(ValueError, match="no convex function"):
        value_range("convex", fv.observations().with_value(np.array([0.5]), 0.9), [0.2])


def test_several_visualizations_as_observations():
    """Two maximisers and a dataset exemplar: the range tightens around the extra points."""
    obs = Observations(
        [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.5, 0.2]], [1.0, 1.0, 0.0, 0.4], ["max", "max", "min", "value"]
    )
    r = value_range("lipschitz", obs, [0.1, 0.9], L=2.0)
    assert r.lo == pytest.approx(1.0 - 2.0 * math.hypot(0.1, 0.1))


def test_d3_share_by_nested_quadrature_is_exact():
    """d = 3, x_min and x_max at opposite corners, r = Delta/2 <= 1/2: each certified ball meets the cube in one
    octant: (4/3) pi r^3 / 8 (2-norm), r^3 / 6 (1-norm), r^3 (inf-norm)."""
    from theory import FeatureVisualization
    from theory._explore import lipschitz_certified_share

    for norm, octant in (("2", lambda r: math.pi * r**3 / 6), ("1", lambda r: r**3 / 6), ("inf", lambda r: r**3)):
        for delta in (0.3, 0.8):
            fv = FeatureVisualization([1.0, 1.0, 1.0], delta, [0.0, 0.0, 0.0], 0.0)
            share, err, method = lipschitz_certified_share(fv, 1.0, norm)
            assert "d = 3" in method and err < 1e-8
            assert share == pytest.approx(2 * octant(delta / 2), abs=1e-9)


def test_monte_carlo_share_interval_covers_the_exact_value_d4():
    """d = 4, 2-norm: balls inside the box and disjoint, so the certified set has the exact volume 2 pi^2 r^4 / 2;
    the Monte-Carlo estimate's exact binomial interval must cover it (also at a share near 0). (The inf-norm has a
    closed form in every d and no longer uses Monte Carlo.)"""
    from theory import FeatureVisualization
    from theory._explore import binomial_interval, lipschitz_certified_share

    for r in (0.2, 0.03):
        fv = FeatureVisualization([0.75, 0.75, 0.75, 0.5], 2 * r, [0.25, 0.25, 0.25, 0.5], 0.0)  # L = 1
        exact = 2 * math.pi**2 * r**4 / 2
        p, half, method = lipschitz_certified_share(fv, 1.0, "2", n_mc=20_000, seed=1)
        assert "binomial" in method
        assert abs(p - exact) <= half
    assert binomial_interval(0, 100)[0] == 0.0 and binomial_interval(0, 100)[1] > 0.02  # not a zero-width interval


def test_nothing_is_written_when_an_output_name_is_taken(tmp_path):
    from theory._explore_report import explore

    (tmp_path / "report.md").mkdir()
    with pytest.raises(ValueError, match="exists and is not a file"):
        explore("monotonic", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
