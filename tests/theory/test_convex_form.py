"""The convex class's closed form (theory/_convex_form.py) against the interpolation LP, and its speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.theory._members import samples
from theory import FeatureVisualization, InconsistentVisualization, get_class
from theory._convex_form import gauge


def _instance(rng: np.random.Generator, d: int):
    m = np.round(rng.random(d) * 8) / 8
    z = np.round(rng.random(d) * 8) / 8
    if np.array_equal(z, m):
        z = np.where(m < 0.5, 1.0, 0.0)
    xmax = m + (z - m) / gauge(m, z[None])[0]  # on the boundary of the box: gauge 1
    xmax = np.clip(np.where(np.abs(xmax - np.round(xmax)) < 1e-12, np.round(xmax), xmax), 0, 1)
    if rng.random() < 0.3:  # vertices
        xmax = np.where(rng.random(d) < 0.5, np.round(xmax), xmax)
        if gauge(m, xmax[None])[0] != 1:
            xmax = np.round(xmax) if not np.array_equal(np.round(xmax), m) else 1 - np.round(m)
    return m, xmax


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), d=st.integers(1, 3), scale=st.sampled_from([1.0, 0.125, 7.0]))
def test_closed_form_equals_the_lp(seed, d, scale):
    rng = np.random.default_rng(seed)
    m, xmax = _instance(rng, d)
    convex = get_class("convex", d=d)
    fv = FeatureVisualization(xmax, 1.0 + scale, m, 1.0)
    if not convex.is_consistent(fv):  # the generator's rounding can leave the boundary: then the LP must agree
        obs = fv.observations()
        with pytest.raises(InconsistentVisualization):
            convex._value_range_lp(obs, m)
        return
    obs = fv.observations()
    face = np.where((xmax == 0) | (xmax == 1), xmax, rng.random(d))  # a point of x_max's smallest face
    for x in [*rng.random((3, d)), face, np.round(rng.random(d))]:
        closed = convex._value_range(obs, x)
        lp = convex._value_range_lp(obs, x)
        assert closed.method.startswith("closed form")
        assert closed.lo == pytest.approx(lp.lo, abs=1e-6 * scale)
        assert closed.hi == pytest.approx(lp.hi, abs=1e-6 * scale)
        for w, v in ((closed.witness_lo, closed.lo), (closed.witness_hi, closed.hi)):
            assert float(w(x[None])[0]) == pytest.approx(v, abs=1e-12 * scale)
            assert float(w(m[None])[0]) == pytest.approx(1.0) and float(w(xmax[None])[0]) == pytest.approx(1 + scale)
            vals = w(samples(d, rng, 200))
            assert vals.min() >= 1.0 - 1e-12 and vals.max() <= 1 + scale + 1e-9


def test_inconsistent_when_x_max_is_inside_the_gauge_ball():
    with pytest.raises(ValueError, match="convex"):
        get_class("convex", d=2).value_range(FeatureVisualization([0.5, 0.5], 1.0, [0.0, 0.0], 0.0), [0.2, 0.2])


def test_closed_form_is_fast():
    """Target (issue 24.5): under 0.1 ms per range at d <= 8 (the LP took 50-72 ms)."""
    d = 8
    fc = get_class("convex", d=d)
    obs = FeatureVisualization(np.ones(d), 1.0, np.zeros(d), 0.0).observations()
    X = np.random.default_rng(0).random((500, d))
    fc._value_range(obs, X[0])
    t = time.perf_counter()
    for x in X:
        fc._value_range(obs, x)
    per = (time.perf_counter() - t) / len(X)
    assert per < 1e-3  # generous for a loaded 2-core machine; measured in benchmarks/bench_theory.py
