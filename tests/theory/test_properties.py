"""Hypothesis properties of value ranges: (a) lo <= hi; (b) witnesses are members with exactly the given
visualization (checked independently of the engine); (c) random members built independently lie in range."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.theory._members import (
    convexity_gap,
    lipschitz_ratio,
    monotonicity_gap,
    random_pa,
    relu_net_eval,
    samples,
)
from theory import FeatureVisualization, value_range

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NORMS = ["1", "2", "inf"]


def _check_fv(w, fv: FeatureVisualization, rng, tol=1e-7):
    assert w(fv.x_max) == pytest.approx(fv.f_max, abs=tol)
    assert w(fv.x_min) == pytest.approx(fv.f_min, abs=tol)
    vals = w(samples(fv.d, rng))
    assert vals.max() <= fv.f_max + tol and vals.min() >= fv.f_min - tol


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    d=st.integers(1, 3),
    norm=st.sampled_from(NORMS),
    L=st.floats(0.2, 5.0),
    s=st.floats(0.05, 1.0),
)
def test_lipschitz_properties(seed, d, norm, L, s):
    rng = np.random.default_rng(seed)
    a, b = rng.random(d), rng.random(d)
    D = np.linalg.norm(a - b, ord={"1": 1, "2": 2, "inf": np.inf}[norm])
    fv = FeatureVisualization(a, 0.3 + L * D * s, b, 0.3)
    x = rng.random(d)
    r = value_range("lipschitz", fv, x, d=d, L=L, norm=norm)
    assert r.lo <= r.hi + 1e-12
    for w, target in ((r.witness_lo, r.lo), (r.witness_hi, r.hi)):
        assert lipschitz_ratio(w, d, norm, rng) <= L * (1 + 1e-7)  # float rounding of difference quotients
        _check_fv(w, fv, rng)
        assert w(x) == pytest.approx(target, abs=1e-9)
    # (c) an independent random Lipschitz member: max/min of random affine pieces, rescaled to the constant
    g = random_pa(d, rng, sign=int(rng.choice([-1, 1])))
    g.A *= L / g.lipschitz(norm)
    g.c *= L / g.lipschitz(norm) if g.lipschitz(norm) else 1
    (xM, fM), (xm, fm) = g.extremum("max"), g.extremum("min")
    if fM - fm > 1e-9:
        rg = value_range("lipschitz", FeatureVisualization(xM, fM, xm, fm), x, d=d, L=L * (1 + 1e-9), norm=norm)
        assert rg.lo - 1e-7 <= g(x[None])[0] <= rg.hi + 1e-7


@SETTINGS
@given(seed=st.integers(0, 10**6), d=st.integers(1, 3))
def test_convex_properties(seed, d):
    rng = np.random.default_rng(seed)
    g = random_pa(d, rng, sign=1)
    (xM, fM), (xm, fm) = g.extremum("max"), g.extremum("min")
    fv = FeatureVisualization(xM, fM, xm, fm)
    x = rng.random(d)
    r = value_range("convex", fv, x, d=d)
    assert r.lo <= r.hi + 1e-9
    assert r.lo - 1e-6 <= g(x[None])[0] <= r.hi + 1e-6  # (c) the member that produced the FV is in range
    for w in (r.witness_lo, r.witness_hi):
        assert convexity_gap(w, d, rng) <= 1e-7
        _check_fv(w, fv, rng, tol=1e-6)


@SETTINGS
@given(seed=st.integers(0, 10**6), d=st.integers(1, 3), concave=st.booleans())
def test_monotonic_properties(seed, d, concave):
    rng = np.random.default_rng(seed)
    g = random_pa(d, rng, sign=-1 if concave else 1, nonneg=True)
    fv = FeatureVisualization(np.ones(d), g(np.ones((1, d)))[0], np.zeros(d), g(np.zeros((1, d)))[0])
    # a second, less trivial visualization: an argmax inside the box where the function saturates
    x = rng.random(d)
    r = value_range("monotonic", fv, x, d=d)
    assert r.lo <= g(x[None])[0] <= r.hi
    for w, t in ((r.witness_lo, r.lo), (r.witness_hi, r.hi)):
        assert monotonicity_gap(w, d, rng) <= 1e-12
        _check_fv(w, fv, rng)
        assert w(x) == pytest.approx(t)


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    d=st.integers(1, 3),
    name=st.sampled_from(["black_box", "neural_network", "erm_network", "piecewise_affine"]),
)
def test_interpolating_properties(seed, d, name):
    rng = np.random.default_rng(seed)
    g = random_pa(d, rng, sign=int(rng.choice([-1, 1])))
    (xM, fM), (xm, fm) = g.extremum("max"), g.extremum("min")
    if np.array_equal(xM, xm):
        return
    fv = FeatureVisualization(xM, fM, xm, fm)
    x = rng.random(d)
    r = value_range(name, fv, x, d=d)
    assert r.lo <= g(x[None])[0] <= r.hi
    for w, t in ((r.witness_lo, r.lo), (r.witness_hi, r.hi)):
        _check_fv(w, fv, rng, tol=1e-9)
        assert w(x) == pytest.approx(t)
        Y = samples(d, rng, 50)
        np.testing.assert_allclose(relu_net_eval(w.to_spec(), Y), w(Y), atol=1e-9)  # it is that ReLU network


@SETTINGS
@given(seed=st.integers(0, 10**6), d=st.integers(1, 4))
def test_affine_properties(seed, d):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d) * (rng.random(d) > 0.3)
    b = rng.standard_normal()
    xM, xm = (w > 0).astype(float), (w < 0).astype(float)
    fv = FeatureVisualization(xM, w @ xM + b, xm, w @ xm + b)
    x = rng.random(d)
    r = value_range("affine", fv, x, d=d)
    assert r.lo - 1e-12 <= w @ x + b <= r.hi + 1e-12
    for wit in (r.witness_lo, r.witness_hi):
        Y = rng.random((5, d))
        mid = wit((Y[:3] + Y[1:4]) / 2)
        np.testing.assert_allclose(mid, (wit(Y[:3]) + wit(Y[1:4])) / 2, atol=1e-9)  # affine
        _check_fv(wit, fv, rng, tol=1e-9)
