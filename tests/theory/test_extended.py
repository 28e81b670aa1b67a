"""The extended classes (convex and Lipschitz; monotone and Lipschitz): closed forms and verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.theory._members import convexity_gap, lipschitz_ratio, monotonicity_gap, samples
from theory import FeatureVisualization, check_class, value_range


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 3), norm=st.sampled_from(["1", "2", "inf"]), s=st.floats(0.1, 1.0))
def test_monotone_lipschitz_witnesses(seed, d, norm, s):
    rng = np.random.default_rng(seed)
    L = 2.0
    D = np.linalg.norm(np.ones(d), ord={"1": 1, "2": 2, "inf": np.inf}[norm])
    fv = FeatureVisualization(np.ones(d), L * D * s, np.zeros(d), 0.0)
    x = rng.random(d)
    r = value_range("monotone_lipschitz", fv, x, L=L, norm=norm)
    pos = lambda z: np.linalg.norm(np.maximum(z, 0), ord={"1": 1, "2": 2, "inf": np.inf}[norm])  # noqa: E731
    assert r.hi == pytest.approx(min(fv.f_max, fv.f_min + L * pos(x - fv.x_min)))
    assert r.lo == pytest.approx(max(fv.f_min, fv.f_max - L * pos(fv.x_max - x)))
    for w in (r.witness_lo, r.witness_hi):
        assert lipschitz_ratio(w, d, norm, rng) <= L * (1 + 1e-7)  # float rounding of difference quotients
        assert monotonicity_gap(w, d, rng) <= 1e-12
        assert w(fv.x_max) == pytest.approx(fv.f_max) and w(fv.x_min) == pytest.approx(fv.f_min)
        vals = w(samples(d, rng))
        assert vals.max() <= fv.f_max + 1e-12 and vals.min() >= fv.f_min - 1e-12


@pytest.mark.parametrize("norm", ["1", "2", "inf"])
def test_convex_lipschitz_is_tighter_than_both(norm):
    fv = FeatureVisualization([1.0, 1.0], 0.6, [0.0, 0.0], 0.0)
    rng = np.random.default_rng(0)
    for x in rng.random((4, 2)):
        both = value_range("convex_lipschitz", fv, x, L=1.0, norm=norm)
        conv = value_range("convex", fv, x)
        lip = value_range("lipschitz", fv, x, L=1.0, norm=norm)
        assert both.lo >= max(conv.lo, lip.lo) - 1e-6 and both.hi <= min(conv.hi, lip.hi) + 1e-6
        for w in (both.witness_lo, both.witness_hi):
            assert convexity_gap(w, 2, rng) <= 1e-7
            assert lipschitz_ratio(w, 2, norm, rng) <= 1.0 + 1e-6


@pytest.mark.parametrize("name", ["monotone_lipschitz", "convex_lipschitz"])
def test_extended_verdicts(name):
    rep = check_class(name, d=1, L=1.0)
    assert [rep[q].verdict for q in ("exact", "approx", "min_or_max")] == ["no", "no", "depends"]
    cert = rep["min_or_max"].certificate
    assert cert["L_min"] * (1 + 1e-3) < cert["L_star_bisection"] < 1.0


def test_float_witnesses_state_and_meet_their_tolerance():
    """Convex-and-Lipschitz (2-norm) witnesses from the conic solve are often floats: the range then states the
    tolerance relative to Delta they meet, and an independent check (values, bounds on the box, gradient norms)
    confirms it (issue 24.7)."""
    rng = np.random.default_rng(0)
    fv = FeatureVisualization([1.0, 1.0], 0.6, [0.0, 0.0], 0.0)
    seen = 0
    for x in rng.random((12, 2)):
        r = value_range("convex_lipschitz", fv, x, L=1.0, norm="2")
        if r.extra["exact_witnesses"]:
            continue
        seen += 1
        tol = r.extra["witness_tolerance"]["relative_to_delta"] * fv.delta
        for w in (r.witness_lo, r.witness_hi):
            assert abs(w(fv.x_max[None])[0] - fv.f_max) <= tol and abs(w(fv.x_min[None])[0] - fv.f_min) <= tol
            vals = w(samples(2, rng))
            assert vals.max() <= fv.f_max + tol and vals.min() >= fv.f_min - tol
            assert np.linalg.norm(w.subgradients, axis=1).max() <= 1.0 + tol
    assert seen > 0
