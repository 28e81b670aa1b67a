"""Convex and L-Lipschitz: the exact range of a feature visualization as two small convex programs
(docs/theory.md, "Convex and L-Lipschitz"), checked against the engine's interpolation LP, and the exact
consistency condition Delta <= L ||(x_max - x_min)_K|| (K: the coordinates where x_max is 0 or 1)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import FeatureVisualization, check_class, get_class, value_range

DUAL = {"1": "inf", "2": 2, "inf": 1}
PRIMAL = {"1": 1, "2": 2, "inf": np.inf}


def _hi(fv: FeatureVisualization, L: float, norm: str, x: np.ndarray) -> float:
    """max over ||a||_* <= L of min(f_min + a.(x - x_min), f_max + a.x - sum_k max(a_k, 0))."""
    a, t = cp.Variable(x.size), cp.Variable()
    cons = [
        cp.norm(a, DUAL[norm]) <= L,
        t <= fv.f_min + a @ (x - fv.x_min),
        t <= fv.f_max + a @ x - cp.sum(cp.pos(a)),
    ]
    cp.Problem(cp.Maximize(t), cons).solve(solver="CLARABEL")
    return float(t.value)


def _lo(fv: FeatureVisualization, L: float, norm: str, x: np.ndarray) -> float | None:
    """max(f_min, f_max - M(x)); None when the program is infeasible (the visualization is inconsistent)."""
    K = [k for k in range(x.size) if fv.x_max[k] in (0.0, 1.0)]
    if not K:
        return None
    h = cp.Variable(len(K), nonneg=True)
    alpha = np.abs(fv.x_max[K] - fv.x_min[K])
    beta = np.abs(x[K] - fv.x_max[K])
    prob = cp.Problem(cp.Maximize(h @ beta), [cp.norm(h, DUAL[norm]) <= L, h @ alpha >= fv.delta])
    prob.solve(solver="CLARABEL")
    if prob.status not in ("optimal", "optimal_inaccurate"):
        return None
    return max(fv.f_min, fv.f_max - float(prob.value))


def _gap(fv: FeatureVisualization, norm: str) -> float:
    on_face = (fv.x_max == 0) | (fv.x_max == 1)
    return float(np.linalg.norm(np.where(on_face, fv.x_max - fv.x_min, 0.0), PRIMAL[norm]))


coord = st.sampled_from([0.0, 1.0, 0.25, 0.5, 0.7, 0.9])


@st.composite
def instances(draw: st.DrawFn) -> tuple[FeatureVisualization, float, str, np.ndarray]:
    d = draw(st.integers(1, 3))
    xmax = np.array([draw(coord) for _ in range(d)])
    xmax[0] = draw(st.sampled_from([0.0, 1.0]))  # x_max on a face: otherwise no convex member
    xmin = np.array([draw(coord) for _ in range(d)])
    if xmin[0] == xmax[0]:
        xmin[0] = 1.0 - xmax[0]
    x = np.array([draw(coord) for _ in range(d)])
    norm = draw(st.sampled_from(["1", "2", "inf"]))
    L = draw(st.sampled_from([1.0, 2.0, 5.0]))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))  # the formula and the engine in units of Delta
    share = draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]))  # Delta as a share of the largest consistent Delta
    fv = FeatureVisualization(xmax, scale * share * L * _gap(FeatureVisualization(xmax, 1, xmin, 0), norm), xmin, 0)
    return fv, L * scale, norm, x


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_two_programs_are_the_engines_range(inst):
    fv, L, norm, x = inst
    vr = value_range("convex_lipschitz", fv, x, L=L, norm=norm)
    unit = FeatureVisualization(fv.x_max, 1.0, fv.x_min, 0.0)  # the programs in units of Delta (L -> L/Delta)
    lo_unit, hi_unit = _lo(unit, L / fv.delta, norm, x), _hi(unit, L / fv.delta, norm, x)
    assert lo_unit is not None
    lo, hi = fv.f_min + fv.delta * lo_unit, fv.f_min + fv.delta * hi_unit
    assert vr.lo == pytest.approx(lo, abs=1e-6 * fv.delta) and vr.hi == pytest.approx(hi, abs=1e-6 * fv.delta)


@settings(max_examples=30, deadline=None)
@given(instances(), st.sampled_from([0.999, 1.001]))
def test_consistent_iff_delta_at_most_L_times_the_gap_on_the_face(inst, factor):
    """Just inside the exact condition the engine finds members, just outside it finds none; smallest_L is it."""
    fv, L, norm, _ = inst
    fc = get_class("convex_lipschitz", d=fv.d, L=L, norm=norm)
    edge = FeatureVisualization(fv.x_max, L * _gap(fv, norm), fv.x_min, 0.0)  # Delta = L ||(x_max - x_min)_K||
    assert fc.smallest_L(edge) == pytest.approx(L, rel=1e-12)
    tilted = FeatureVisualization(fv.x_max, edge.delta * factor, fv.x_min, 0.0)
    assert fc.is_consistent(tilted) == (factor < 1)


def test_the_class_condition_states_the_two_programs():
    ans = check_class("convex_lipschitz", d=2, L=1.0, norm=2)["min_or_max"]
    assert ans.verdict == "depends"
    for words in ("hi(x) < c", "lo(x) > c", "the tie", "||h||_* <= L", "max over ||a||_* <= L"):
        assert words in ans.certificate["condition"], words
    assert "found by bisection on the engine" not in ans.reason
