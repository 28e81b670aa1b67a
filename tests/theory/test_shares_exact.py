"""Certified-region shares (issue 24, item 8): exact where a closed form or exact sections exist, Monte Carlo with
an exact (Clopper-Pearson) interval only elsewhere; ``check_class``'s ``certified_region`` and ``fvtrust explore``
use the same function, tested here against closed-form volumes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import FeatureVisualization, check_class
from theory._explore import _area2, lipschitz_certified_share
from theory._lipschitz_region import certified_mask
from theory.classes import Lipschitz


def _irwin_hall(r: float, d: int) -> float:
    """vol{y in [0,1]^d : sum y <= r} (the Irwin-Hall distribution function)."""
    return sum((-1) ** k * math.comb(d, k) * max(r - k, 0.0) ** d for k in range(d + 1)) / math.factorial(d)


def _fv_with_radius(c0, c1, r, L=1.0):
    """A visualization whose certified balls have radius r (Delta = 2 L r); consistent when ||c1 - c0|| >= 2r."""
    return FeatureVisualization(np.asarray(c1, float), 2 * L * r, np.asarray(c0, float), 0.0)


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(2, 5),
    data=st.data(),
)
def test_inf_norm_share_is_the_box_union_volume(d, data):
    """inf-norm balls are boxes: the share is exact in every d; cross-checked with the quadrature of exact
    sections (d = 2), with the volume of the union of the two clipped boxes, and with the engine's pointwise
    answers, which must be membership in those boxes. (A Monte-Carlo interval on one fixed sample is no check
    here: hypothesis searches the boxes, and finds one where that sample is a 1-in-10,000 draw.)"""
    pts = st.lists(st.floats(0, 1), min_size=d, max_size=d)
    c0, c1 = np.array(data.draw(pts)), np.array(data.draw(pts))
    D = float(np.max(np.abs(c1 - c0)))
    if D < 1e-3:
        return
    r = data.draw(st.floats(1e-3, 1.0)) * D / 2
    fv = _fv_with_radius(c0, c1, r)
    share, err, method = lipschitz_certified_share(fv, 1.0, "inf")
    assert err == 0.0 and method.startswith("exact")
    if d == 2:
        quad, qerr = _area2([c0, c1], [r, r], "inf")
        assert share == pytest.approx(quad, abs=1e-8 + qerr)
    boxes = [(np.clip(c - r, 0, 1), np.clip(c + r, 0, 1)) for c in (c0, c1)]  # open balls of radius Delta/(2L)
    inter = np.prod(np.clip(np.minimum(boxes[0][1], boxes[1][1]) - np.maximum(boxes[0][0], boxes[1][0]), 0, None))
    union = sum(float(np.prod(b - a)) for a, b in boxes) - float(inter)
    assert share == pytest.approx(union, abs=1e-12)
    X = np.random.default_rng(0).random((4000, d))
    inside = np.zeros(len(X), bool)
    for c in (c0, c1):
        inside |= np.max(np.abs(X - c), axis=1) < r
    assert np.array_equal(certified_mask(Lipschitz(d, 1.0, "inf"), fv, X), inside)


def _lens_area(r: float, s: float) -> float:
    """Area of the intersection of two discs of radius r whose centres are s apart."""
    if s >= 2 * r:
        return 0.0
    return 2 * r * r * math.acos(s / (2 * r)) - s / 2 * math.sqrt(4 * r * r - s * s)


def _lens_volume(r: float, s: float) -> float:
    """Volume of the intersection of two balls of radius r in R^3 whose centres are s apart."""
    if s >= 2 * r:
        return 0.0
    return math.pi * (4 * r + s) * (2 * r - s) ** 2 / 12


@settings(max_examples=25, deadline=None)
@given(d=st.sampled_from([2, 3]), data=st.data())
def test_euclidean_share_matches_two_balls_inside_the_box(d, data):
    """Two Euclidean balls inside the box: 2 vol(B_r) minus their lens, in closed form (d = 2: discs; d = 3)."""
    r = data.draw(st.floats(0.02, 0.25))
    inside = st.lists(st.floats(r, 1 - r), min_size=d, max_size=d)
    c0, c1 = np.array(data.draw(inside)), np.array(data.draw(inside))
    s = float(np.linalg.norm(c1 - c0))
    if s < 2 * r:  # consistency needs Delta <= L ||x_max - x_min||, i.e. s >= 2r
        return
    exact = 2 * math.pi * r * r - _lens_area(r, s) if d == 2 else 8 / 3 * math.pi * r**3 - _lens_volume(r, s)
    share, err, method = lipschitz_certified_share(_fv_with_radius(c0, c1, r), 1.0, "2")
    assert "quadrature" in method and err < 1e-8
    assert share == pytest.approx(exact, abs=1e-8)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_one_norm_share_matches_rotated_squares_d2(data):
    """d = 2, 1-norm balls inside the square: in u = y0 + y1, v = y0 - y1 they are squares of side 2r (area halves)."""
    r = data.draw(st.floats(0.02, 0.25))
    inside = st.lists(st.floats(r, 1 - r), min_size=2, max_size=2)
    c0, c1 = np.array(data.draw(inside)), np.array(data.draw(inside))
    if float(np.abs(c1 - c0).sum()) < 2 * r:
        return
    du, dv = abs((c1[0] + c1[1]) - (c0[0] + c0[1])), abs((c1[0] - c1[1]) - (c0[0] - c0[1]))
    overlap = max(0.0, 2 * r - du) * max(0.0, 2 * r - dv) / 2
    exact = 2 * (2 * r * r) - overlap
    share, _, _ = lipschitz_certified_share(_fv_with_radius(c0, c1, r), 1.0, "1")
    assert share == pytest.approx(exact, abs=1e-8)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_check_class_shares_are_exact_one_norm(d):
    """check_class's certified_region for x_min = 0, x_max = 1 in the 1-norm: D = d, r = d/(2 lambda), and the two
    balls meet the cube in {sum y < r} and {sum y > d - r}: 2 IH_d(r) (1 at lambda = 1: the whole domain)."""
    rows = check_class("lipschitz", d=d, L=1.0, norm="1").details["certified_region"]["by_L"]
    for row in rows:
        r = d / (2 * row["L_over_L_min"])
        exact = 2 * _irwin_hall(r, d)
        assert row["share"] == pytest.approx(exact, abs=1e-8)
        assert not row["method"].startswith("Monte Carlo")
        assert row["share_ci95"] <= 2e-9
        assert row["whole_domain"] == (row["L_over_L_min"] == 1.0)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_check_class_shares_are_exact_inf_norm(d):
    """inf-norm, corners: two cubes of side min(r, 1), r = 1/(2 lambda): 2 r^d for r <= 1/2 (the share is exact in
    every d, so check_class reports no Monte Carlo for it)."""
    rows = check_class("lipschitz", d=d, L=1.0, norm="inf").details["certified_region"]["by_L"]
    for row in rows:
        r = 1 / (2 * row["L_over_L_min"])
        assert row["share"] == pytest.approx(2 * r**d, abs=1e-12) and row["share_ci95"] == 0.0


def test_check_class_share_euclidean_d3_is_exact_and_d4_interval_covers():
    """2-norm: d = 3 by nested quadrature (exact octants of balls for r <= 1/2), d = 4 by Monte Carlo whose exact
    binomial interval covers the exact value 2 (pi^2 r^4 / 2) / 16."""
    rows3 = check_class("lipschitz", d=3, L=1.0, norm="2").details["certified_region"]["by_L"]
    for row in rows3:
        r = math.sqrt(3) / (2 * row["L_over_L_min"])
        assert "d = 3" in row["method"] and row["share_ci95"] < 1e-8
        if r <= 0.5:
            assert row["share"] == pytest.approx(2 * (4 / 3) * math.pi * r**3 / 8, abs=1e-8)
    rows4 = check_class("lipschitz", d=4, L=1.0, norm="2").details["certified_region"]["by_L"]
    for row in rows4:
        r = 1 / row["L_over_L_min"]  # D = 2
        assert "binomial" in row["method"]
        if r <= 0.5:
            exact = 2 * (math.pi**2 * r**4 / 2) / 16
            assert abs(row["share"] - exact) <= row["share_ci95"]


def test_delta_zero_is_answered_everywhere():
    fv = FeatureVisualization([1.0, 1.0], 0.0, [0.0, 0.0], 0.0)
    assert lipschitz_certified_share(fv, 1.0, "2")[:2] == (1.0, 0.0)
