"""The L-smooth class: closed forms (PEPit style), an independent LP relaxation, hypothesis properties, the
d >= 2 bracket and bad input.

Closed forms used here (derived by hand; Delta = f_max - f_min, f_min = 0):
  x_min = 0, x_max = 1, L <= 2 Delta: g = f - (Delta t + L t(1-t)/2) has g(0) = g(1) = 0 and g'' = f'' + L >= 0,
    so g <= 0; the bound is a member (a quadratic with f'' = -L, increasing on [0,1]). Mirror for the lower end:
    f(t) in [Delta t - L t(1-t)/2, Delta t + L t(1-t)/2]; at t = 1/2, [1/2 - L/8, 1/2 + L/8] for Delta = 1.
  x_min = 0, x_max = 1, L > 2 Delta: f(t) <= sqrt(2 L Delta) t - L t^2/2 for t <= s* = sqrt(2 Delta/L), = Delta after.
  interior x_min = m with room: f(t) <= L (t - m)^2/2 while |t - m| <= sqrt(Delta/L) (the acceleration phase).
  consistency: L D^2 >= 4 Delta (both interior), >= 2 Delta (one at 0 or 1), always (both at 0 and 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from counterexamples.verify._exact import parse_expr
from counterexamples.verify._smooth import smooth_member
from tests.theory._members import samples
from theory import FeatureVisualization, Observations, check_class, get_class, value_range

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("L", [0.25, 1.0, 2.0])
@pytest.mark.parametrize("t", [0.1, 0.25, 0.5, 0.8])
def test_closed_form_vertices_small_L(L, t):
    r = value_range("smooth", FeatureVisualization([1.0], 1.0, [0.0], 0.0), [t], L=L)
    assert r.lo == pytest.approx(t - L * t * (1 - t) / 2, abs=1e-12)
    assert r.hi == pytest.approx(t + L * t * (1 - t) / 2, abs=1e-12)


def test_midpoint_example():
    for L in (0.5, 1.0, 2.0):
        r = value_range("smooth", FeatureVisualization([1.0], 1.0, [0.0], 0.0), [0.5], L=L)
        assert (r.lo, r.hi) == pytest.approx((0.5 - L / 8, 0.5 + L / 8), abs=1e-12)


@pytest.mark.parametrize("L", [4.0, 8.0, 50.0])
@pytest.mark.parametrize("t", [0.05, 0.2, 0.5, 0.9])
def test_closed_form_vertices_large_L(L, t):
    r = value_range("smooth", FeatureVisualization([1.0], 1.0, [0.0], 0.0), [t], L=L)
    s = math.sqrt(2 / L)
    want = math.sqrt(2 * L) * t - L * t * t / 2 if t <= s else 1.0
    assert r.hi == pytest.approx(want, abs=1e-12)
    mirror = 1 - (math.sqrt(2 * L) * (1 - t) - L * (1 - t) ** 2 / 2 if 1 - t <= s else 1.0)
    assert r.lo == pytest.approx(mirror, abs=1e-12)


def test_interior_anchor_acceleration_phase():
    L, m = 8.0, 0.5
    fv = FeatureVisualization([0.0], 1.0, [m], 0.0)  # D = 1/2: L D^2 = 2 >= 2 Delta
    for t in (0.55, 0.6, 0.75, 0.85):
        r = value_range("smooth", fv, [t], L=L)
        assert abs(t - m) <= math.sqrt(1 / L)
        assert r.hi == pytest.approx(L * (t - m) ** 2 / 2, abs=1e-12)


@pytest.mark.parametrize(
    "xmax,xmin,k",
    [(0.25, 0.75, 4), (0.5, 0.0, 2), (1.0, 0.4, 2), (0.0, 1.0, 0)],
)
def test_consistency_threshold(xmax, xmin, k):
    L = 4.0
    D2 = (xmax - xmin) ** 2
    ok = FeatureVisualization([xmax], L * D2 / k if k else 7.0, [xmin], 0.0)
    value_range("smooth", ok, [0.3], L=L)
    if k:
        bad = FeatureVisualization([xmax], L * D2 / k * 1.01, [xmin], 0.0)
        with pytest.raises(ValueError, match="smooth function on"):
            value_range("smooth", bad, [0.3], L=L)


def _lp_relaxation(fv: FeatureVisualization, x: float, L: float, n: int = 81) -> tuple[float, float]:
    """Necessary conditions of every L-smooth f at a grid (values F, derivatives G; written for the test):
    F_j <= F_i + G_i h + L h^2/2, F_j >= F_i + G_i h - L h^2/2, |G_i - G_j| <= L |h|, f_min <= F <= f_max,
    first-order conditions at x_max, x_min. Its min/max of F at x bound the range from outside."""
    pts = sorted(set(np.linspace(0, 1, n).tolist()) | {x, float(fv.x_max[0]), float(fv.x_min[0])})
    m = len(pts)
    idx = {p: i for i, p in enumerate(pts)}
    rows, rhs = [], []
    for i, a in enumerate(pts):
        for j, b in enumerate(pts):
            if i == j:
                continue
            h = b - a
            for sgn in (1, -1):  # sgn*(F_j - F_i - G_i h) <= L h^2/2
                r = np.zeros(2 * m)
                r[j], r[i], r[m + i] = sgn, -sgn, -sgn * h
                rows.append(r)
                rhs.append(L * h * h / 2)
            r = np.zeros(2 * m)
            r[m + j], r[m + i] = 1, -1
            rows.append(r)
            rhs.append(L * abs(h))
    eq_rows, eq_rhs = [], []
    for p, v, s in ((float(fv.x_max[0]), fv.f_max, 1), (float(fv.x_min[0]), fv.f_min, -1)):
        r = np.zeros(2 * m)
        r[idx[p]] = 1
        eq_rows.append(r)
        eq_rhs.append(v)
        g = np.zeros(2 * m)
        g[m + idx[p]] = 1
        if 0 < p < 1:
            eq_rows.append(g)
            eq_rhs.append(0.0)
        else:
            rows.append(s * g if p == 0 else -s * g)
            rhs.append(0.0)
    bounds = [(fv.f_min, fv.f_max)] * m + [(None, None)] * m
    out = []
    for sense in (1, -1):
        c = np.zeros(2 * m)
        c[idx[x]] = sense
        res = linprog(c, A_ub=np.array(rows), b_ub=rhs, A_eq=np.array(eq_rows), b_eq=eq_rhs, bounds=bounds)
        assert res.status == 0
        out.append(sense * res.fun)
    return out[0], out[1]


@pytest.mark.parametrize(
    "xmax,xmin,delta,L,x",
    [(1.0, 0.0, 1.0, 1.0, 0.3), (1.0, 0.0, 1.0, 16.0, 0.3), (0.25, 0.75, 0.25, 8.0, 0.6), (0.0, 0.5, 0.5, 8.0, 0.9)],
)
def test_optimal_against_an_independent_relaxation(xmax, xmin, delta, L, x):
    """The relaxation's bounds contain the range (soundness of the witnesses) and are within grid error of it
    (optimality of the closed form)."""
    fv = FeatureVisualization([xmax], delta, [xmin], 0.0)
    r = value_range("smooth", fv, [x], L=L)
    lo, hi = _lp_relaxation(fv, x, L)
    assert lo <= r.lo + 1e-7 and r.hi <= hi + 1e-7
    assert r.lo - lo <= 0.01 * delta and hi - r.hi <= 0.01 * delta


def _random_member(rng):
    """g(t) = sum_i a_i cos(w_i t + p_i) + b t with sum |a_i| w_i^2 <= L: L-smooth (|g''| <= L)."""
    k = 3
    w = rng.uniform(0.5, 6.0, k)
    a = rng.uniform(-1, 1, k)
    L = float(np.sum(np.abs(a) * w * w)) * rng.uniform(1.0, 2.0)
    b = rng.uniform(-2, 2)
    p = rng.uniform(0, 2 * np.pi, k)
    return (lambda t: np.sum(a[:, None] * np.cos(w[:, None] * np.atleast_1d(t)[None] + p[:, None]), 0) + b * t), L


def _argext(g, sense):
    t = np.linspace(0, 1, 20001)
    i = int(np.argmax(sense * g(t)))
    if 0 < i < len(t) - 1:  # golden-section refinement of an interior extremum
        lo, hi = t[i - 1], t[i + 1]
        for _ in range(80):
            m1, m2 = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
            if sense * g(m1)[0] < sense * g(m2)[0]:
                lo = m1
            else:
                hi = m2
        return (lo + hi) / 2
    return float(t[i])


@SETTINGS
@given(seed=st.integers(0, 10**6))
def test_properties(seed):
    rng = np.random.default_rng(seed)
    g, L = _random_member(rng)
    xM, xm = _argext(g, 1), _argext(g, -1)
    fv = FeatureVisualization([xM], float(g(xM)[0]), [xm], float(g(xm)[0]))
    x = float(rng.random())
    r = value_range("smooth", fv, [x], L=L * (1 + 1e-9))
    assert r.lo <= r.hi  # (a)
    assert r.lo - 1e-7 <= float(g(x)[0]) <= r.hi + 1e-7  # (c)
    t = np.linspace(0, 1, 4001)[:, None]
    for w, target in ((r.witness_lo, r.lo), (r.witness_hi, r.hi)):  # (b)
        vals = w(t)
        assert w(np.array([xM])) == pytest.approx(fv.f_max, abs=1e-9)
        assert w(np.array([xm])) == pytest.approx(fv.f_min, abs=1e-9)
        assert vals.max() <= fv.f_max + 1e-9 and vals.min() >= fv.f_min - 1e-9
        assert w(np.array([x])) == pytest.approx(target, abs=1e-9)
        h = t[1, 0] - t[0, 0]
        second = np.abs(vals[2:] - 2 * vals[1:-1] + vals[:-2]) / h**2
        assert second.max() <= L * (1 + 1e-6) + 1e-6


@pytest.mark.parametrize("L", [1.0, 4.0])
def test_exported_witnesses_are_exact_members(L):
    fv = FeatureVisualization([0.25], L * 0.25 / 4, [0.75], 0.0)  # both interior, tight: L D^2 = 4 Delta
    for x in (0.0, 0.5, 0.9):
        r = value_range("smooth", fv, [x], L=L)
        for w in (r.witness_lo, r.witness_hi):
            expr, syms = parse_expr(w.to_spec())
            ok, detail = smooth_member(expr, syms, __import__("fractions").Fraction(L))
            assert ok, detail


def test_verdicts_and_threshold():
    for L in (0.5, 1.0, 4.0):
        rep = check_class("smooth", d=1, L=L)
        assert [rep[q].verdict for q in ("exact", "approx", "min_or_max")] == ["no", "no", "depends"]
        cert = rep["min_or_max"].certificate
        assert cert["L_star_closed_form"] == pytest.approx(cert["L_star_bisection"], rel=1e-6)
        assert cert["L_min"] < cert["L_star_bisection"] < L
        assert cert["below"]["class"] == "smooth"


def test_midpoint_never_decided():
    """At x = 1/2 between vertex extremes every L > 0 leaves the answer open (the brief's quadratic example)."""
    fv = FeatureVisualization([1.0], 1.0, [0.0], 0.0)
    for L in (1e-3, 0.1, 1.0, 10.0):
        assert value_range("smooth", fv, [0.5], L=L).decision() is None


def test_d2_bracket():
    fv = FeatureVisualization([1.0, 0.5], 1.0, [0.0, 0.5], 0.0)
    rng = np.random.default_rng(0)
    for x in rng.random((6, 2)):
        r = value_range("smooth", fv, x, L=4.0)
        lo_out, hi_out = r.extra["outer"]
        assert lo_out <= r.lo + 1e-12 and r.hi <= hi_out + 1e-12
        g = lambda y: np.atleast_2d(y)[:, 0]  # noqa: E731  (affine: 0-smooth, this visualization)
        assert lo_out - 1e-12 <= g(x)[0] <= hi_out + 1e-12
    # on the x_0 axis through the visualization the bracket is exact
    assert value_range("smooth", fv, [0.3, 0.5], L=4.0).extra["exact_range"]
    rep = check_class("smooth", d=2, L=1.0)
    # d >= 2: brackets, but the decided cases (flat extrema, radial members) give the exact threshold at interior
    # visualizations: "depends" (tests/theory/test_smooth_decided.py)
    assert [rep[q].verdict for q in ("exact", "approx", "min_or_max")] == ["no", "no", "depends"]


def _random_member_2d(rng):
    """g(y) = sum_i a_i cos(w_i . y + p_i): its Hessian has spectral norm <= sum |a_i| |w_i|^2 =: L."""
    k = 2
    W = rng.uniform(-4, 4, (k, 2))
    a = rng.uniform(-1, 1, k)
    p = rng.uniform(0, 2 * np.pi, k)
    L = float(np.sum(np.abs(a) * (W * W).sum(axis=1)))
    return (lambda Y: np.cos(np.atleast_2d(Y) @ W.T + p) @ a), L


def _argext_2d(g, sense):
    from scipy.optimize import minimize

    grid = np.stack(np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, 1, 201), indexing="ij"), -1).reshape(-1, 2)
    y0 = grid[int(np.argmax(sense * g(grid)))]
    res = minimize(lambda y: -sense * g(y)[0], y0, bounds=[(0, 1), (0, 1)], method="L-BFGS-B", options={"ftol": 1e-15})
    y = np.clip(res.x, 0, 1)
    y[np.abs(y) < 1e-7], y[np.abs(y - 1) < 1e-7] = 0.0, 1.0
    return y if sense * g(y)[0] >= sense * g(y0)[0] else y0


@SETTINGS
@given(seed=st.integers(0, 10**6))
def test_d2_outer_range_contains_independent_members(seed):
    rng = np.random.default_rng(seed)
    g, L = _random_member_2d(rng)
    xM, xm = _argext_2d(g, 1), _argext_2d(g, -1)
    fv = FeatureVisualization(xM, float(g(xM)[0]), xm, float(g(xm)[0]))
    x = rng.random(2)
    try:
        r = value_range("smooth", fv, x, L=L * (1 + 1e-6))
    except ValueError as err:  # no one-coordinate member: consistency undecided (documented)
        assert "not decided" in str(err)
        return
    lo_out, hi_out = r.extra["outer"]
    assert lo_out <= r.lo + 1e-12 and r.hi <= hi_out + 1e-12
    assert lo_out - 1e-6 <= float(g(x)[0]) <= hi_out + 1e-6


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: check_class("smooth", L=0), r"L = 0 is not allowed; the smoothness constant must be a finite number"),
        (lambda: check_class("smooth", L=-1.0), r"L = -1.0 is not allowed"),
        (lambda: check_class("smooth", L=math.inf), r"L = inf is not allowed"),
        (
            lambda: value_range("smooth", FeatureVisualization([0.5], 1.0, [0.6], 0.0), [0.2], L=1.0),
            r"no 1-smooth function on \[0,1\] has f_max = 1 at 0.5 and f_min = 0 at 0.6",
        ),
        (
            lambda: value_range(
                "smooth", Observations([[1.0], [0.0], [0.5]], [1, 0, 0.5], ["max", "min", "value"]), [0.2]
            ),
            r"takes a feature visualization",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_table_row_is_verified():
    from counterexamples import verified_table
    from theory.table import EXTENDED_ROWS

    row = next(r for r in EXTENDED_ROWS if r[0] == "smooth")
    (built,) = verified_table(rows=(row,))
    assert [built.verdict(q) for q in ("exact", "approx", "min_or_max")] == ["no", "no", "depends"]
    (threshold,) = built.verification["min_or_max"]
    assert threshold["certificate"] == "threshold"
    checks = threshold["checks"]
    assert any(c.startswith("region below L*: ") for c in checks)
    assert any(c.startswith("counterexample above L*: ") for c in checks)
    assert {"below and above: the same visualization and x", "L_below < L_above"} <= set(checks)


def test_constant_visualization():
    for d in (1, 2):
        fv = FeatureVisualization([0.2] * d, 0.5, [0.7] * d, 0.5)
        r = value_range("smooth", fv, [0.3] * d, L=1.0)
        assert (r.lo, r.hi) == (0.5, 0.5)


def test_radial_members_decide_consistency_in_d2():
    """||x_max - x_min|| >= 2 sqrt(Delta/L): the radial members f_max - P(||y - x_max||), f_min + P(||y - x_min||)
    have the visualization (issue 24.6), here where no member of one coordinate has it."""
    fv = FeatureVisualization([0.9, 0.9], 0.25, [0.1, 0.1], 0.0)  # L = 1: 4 Delta = 1 > L 0.8^2, <= L 1.28
    assert get_class("smooth", d=2, L=1.0).is_consistent(fv)
    rng = np.random.default_rng(5)
    for x in rng.random((5, 2)):
        r = value_range("smooth", fv, x, L=1.0)
        lo_out, hi_out = r.extra["outer"]
        assert lo_out - 1e-12 <= r.lo <= r.hi <= hi_out + 1e-12
        for w in (r.witness_lo, r.witness_hi):
            assert w(fv.x_max[None])[0] == pytest.approx(0.25) and w(fv.x_min[None])[0] == pytest.approx(0.0)
            vals = w(samples(2, rng))
            assert vals.max() <= 0.25 + 1e-12 and vals.min() >= -1e-12
            # L-smooth: gradient differences (central differences) over random pairs at most L |y - z|
            Y, Z = rng.random((300, 2)), rng.random((300, 2))
            e = 1e-6

            def grad(P, w=w, e=e):
                return np.stack([(w(P + e * u) - w(P - e * u)) / (2 * e) for u in np.eye(2)], axis=1)

            ratio = np.linalg.norm(grad(Y) - grad(Z), axis=1) / np.linalg.norm(Y - Z, axis=1)
            assert ratio.max() <= 1.0 + 1e-3
        assert "Piecewise" in r.witness_hi.to_spec()["expr"]
    # both points interior: the radial condition is also necessary (the chord). x_min at a corner, x_max inside:
    # beyond the radial condition, the ridge member along x_max - x_min has the visualization (its rise with a free
    # slope reaches Delta at sqrt(2 Delta/L) <= ||x_max - x_min|| = 0.849)
    from theory.classes.smooth import UndecidedConsistency

    corner = FeatureVisualization([0.6, 0.6], 0.216, [0.0, 0.0], 0.0)
    assert get_class("smooth", d=2, L=1.0).is_consistent(corner)
    r = value_range("smooth", corner, [0.3, 0.1], L=1.0)
    assert type(r.witness_hi).__name__ == "RidgeSmoothWitness" or type(r.witness_lo).__name__ == "RidgeSmoothWitness"
    # x_min on an edge and x_max moving along it too: separable members up to Delta = 0.3425 (sum of c_k), the
    # two-point LP on the grid refutes Delta = 0.35 (f(x_max) - f_min <= 0.98 Delta); in between: undecided
    from theory.classes import InconsistentVisualization

    fc = get_class("smooth", d=2, L=1.0)
    with pytest.raises(UndecidedConsistency):
        fc.check_consistent(FeatureVisualization([0.8, 0.2], 0.343, [0.0, 0.5], 0.0).observations())
    with pytest.raises(InconsistentVisualization, match="two-point conditions"):
        fc.check_consistent(FeatureVisualization([0.8, 0.2], 0.35, [0.0, 0.5], 0.0).observations())
