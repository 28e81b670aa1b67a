"""The quadratic class: closed forms (PEPit style), hypothesis properties and bad input.

Closed forms used here (derived by hand):
  d = 1, x_min = 0, x_max = 1: the members are f_min + Delta (t + a t(t - 1)) with |a| <= 1 (f' >= 0 on [0,1] iff
    |a| <= 1), so the range at t is f_min + Delta [t^2, 2t - t^2]; at t = 1/2 it is [1/4, 3/4] for Delta = 1.
  d = 1, x_min = 0, x_max = p interior: f'(p) = 0 forces f = f_max - Delta ((t - p)/p)^2, a member iff f(1) >= f_min,
    i.e. p >= 1/2; the range is that single value.
  d = 2, x_max = (0,0), x_min = (1,1): 1 - y_0^2 and 1 - y_1^2 take 0 and 1 at (1, 0): the range is [0, 1].
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.theory._members import samples
from theory import FeatureVisualization, check_class, value_range


@pytest.mark.parametrize("t", [0.0, 0.125, 0.25, 1 / 3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("fmin,delta", [(0.0, 1.0), (-2.0, 0.5), (3.0, 4.0)])
def test_closed_form_vertices(t, fmin, delta):
    fv = FeatureVisualization([1.0], fmin + delta, [0.0], fmin)
    r = value_range("quadratic", fv, [t])
    assert r.lo == pytest.approx(fmin + delta * t * t, abs=1e-8)
    assert r.hi == pytest.approx(fmin + delta * (2 * t - t * t), abs=1e-8)
    mirrored = value_range("quadratic", FeatureVisualization([0.0], fmin + delta, [1.0], fmin), [1 - t])
    assert (mirrored.lo, mirrored.hi) == pytest.approx((r.lo, r.hi), abs=1e-8)
    assert r.lo_attained and r.hi_attained and r.extra["exact_witnesses"]


def test_midpoint_example():
    r = value_range("quadratic", FeatureVisualization([1.0], 1.0, [0.0], 0.0), [0.5])
    assert (r.lo, r.hi) == (0.25, 0.75)
    assert r.witness_lo.exact_value_str(np.array([0.5])) == "1/4"


@pytest.mark.parametrize("p", [0.5, 0.625, 0.75, 0.9])
def test_closed_form_interior_max(p):
    fv = FeatureVisualization([p], 1.0, [0.0], 0.0)
    for t in (0.1, 0.3, 0.8, 1.0):
        r = value_range("quadratic", fv, [t])
        want = 1 - ((t - p) / p) ** 2
        assert r.lo == pytest.approx(want, abs=1e-8) and r.hi == pytest.approx(want, abs=1e-8)


@pytest.mark.parametrize("p", [0.25, 0.4, 0.49])
def test_interior_max_too_close_to_zero_is_inconsistent(p):
    with pytest.raises(ValueError, match="no quadratic function"):
        value_range("quadratic", FeatureVisualization([p], 1.0, [0.0], 0.0), [0.9])


def test_d2_closed_form_full_range():
    r = value_range("quadratic", FeatureVisualization([0.0, 0.0], 1.0, [1.0, 1.0], 0.0), [1.0, 0.0])
    assert (r.lo, r.hi) == (0.0, 1.0)


def test_verdicts():
    rep = check_class("quadratic", d=2)
    assert [rep[q].verdict for q in ("exact", "approx", "min_or_max")] == ["no", "no", "no"]
    one = check_class("quadratic", d=1)
    assert one["exact"].verdict == "no" and one["min_or_max"].verdict == "no"
    # d = 1: the widest range over all visualizations is Delta/2 (vertices, t = 1/2), so eps >= 1/4 suffices
    assert one["approx"].verdict == "depends" and one["approx"].certificate["condition"] == "eps >= 1/4"


# ---- an independent exact extremum finder for random quadratics (d <= 2) -----------------------------------
def _exact_extrema(A, b, c):
    """Vertices, edge stationary points and the interior stationary point, in Fractions (written for the test)."""
    d = len(b)

    def f(y):
        return sum(A[i][j] * y[i] * y[j] for i in range(d) for j in range(d)) + sum(b[i] * y[i] for i in range(d)) + c

    pts = [list(v) for v in itertools.product([Fraction(0), Fraction(1)], repeat=d)]
    for k in range(d):  # faces with coordinate k free, the others at 0/1
        for rest in itertools.product([Fraction(0), Fraction(1)], repeat=d - 1):
            y = list(rest[:k]) + [Fraction(0)] + list(rest[k:])
            if A[k][k] != 0:
                y[k] = -(b[k] + 2 * sum(A[k][j] * y[j] for j in range(d) if j != k)) / (2 * A[k][k])
                if 0 <= y[k] <= 1:
                    pts.append(y)
    if d == 2:
        det = A[0][0] * A[1][1] - A[0][1] ** 2
        if det != 0:
            y0 = (-b[0] * A[1][1] + b[1] * A[0][1]) / (2 * det)
            y1 = (-b[1] * A[0][0] + b[0] * A[0][1]) / (2 * det)
            if 0 <= y0 <= 1 and 0 <= y1 <= 1:
                pts.append([y0, y1])
    vals = [f(p) for p in pts]
    i, j = vals.index(max(vals)), vals.index(min(vals))
    return pts[i], vals[i], pts[j], vals[j], f


def _rand_quadratic(rng, d):
    q = lambda: Fraction(int(rng.integers(-8, 9)), 4)  # noqa: E731
    A = [[Fraction(0)] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            A[i][j] = A[j][i] = q()
    return A, [q() for _ in range(d)], q()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), d=st.integers(1, 2))
def test_properties(seed, d):
    rng = np.random.default_rng(seed)
    A, b, c = _rand_quadratic(rng, d)
    xM, fM, xm, fm, g = _exact_extrema(A, b, c)
    if fM == fm:
        return
    fv = FeatureVisualization([float(v) for v in xM], float(fM), [float(v) for v in xm], float(fm))
    x = np.round(rng.random(d) * 8) / 8
    r = value_range("quadratic", fv, x)
    assert r.lo <= r.hi + 1e-12  # (a)
    assert r.extra["exact_witnesses"]
    gx = float(g([Fraction(v) for v in x]))
    assert r.lo - 1e-7 <= gx <= r.hi + 1e-7  # (c) the member that produced the visualization is in range
    syms = [sympy.Symbol(f"x{k}", real=True) for k in range(d)]
    ends = ((r.witness_lo, r.lo, r.lo_attained), (r.witness_hi, r.hi, r.hi_attained))
    for w, target, attained in ends:  # (b) members with exactly this visualization
        spec = w.to_spec()
        expr = sympy.sympify(spec["expr"], locals={s.name: s for s in syms}, rational=True)
        assert sympy.Poly(expr, *syms).total_degree() <= 2
        Aw = [
            [Fraction(str(sympy.Rational(sympy.diff(expr, syms[i], syms[j]) / 2))) for j in range(d)] for i in range(d)
        ]
        bw = [Fraction(str(sympy.diff(expr, s).subs({t: 0 for t in syms}))) for s in syms]
        cw = Fraction(str(expr.subs({t: 0 for t in syms})))
        _, wM, _, wm, gw = _exact_extrema(Aw, bw, cw)
        assert (wM, wm) == (fM, fm)
        assert gw(list(xM)) == fM and gw(list(xm)) == fm
        # an end is attained by its witness, or approached (a mixed exact member, within 1e-5)
        assert w(x) == pytest.approx(target, abs=1e-9 if attained else 1e-5)
        assert r.lo - 1e-9 <= w(x) <= r.hi + 1e-9
        vals = w(samples(d, rng))
        assert vals.max() <= float(fM) + 1e-9 and vals.min() >= float(fm) - 1e-9


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: check_class("quadratic", d=7), r"d = 7 is too large for the exact quadratic extrema"),
        (
            lambda: value_range("quadratic", FeatureVisualization([0.75], 1.0, [0.25], 0.0), [0.5]),
            r"no quadratic function on \[0,1\]\^1 has these observations \(f_max = 1, f_min = 0\)",
        ),
        (lambda: check_class("quadratic", L=1.0), r"unknown parameter\(s\) L for class 'quadratic'"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_table_row_is_verified():
    from counterexamples import verified_table
    from theory.table import EXTENDED_ROWS

    row = next(r for r in EXTENDED_ROWS if r[0] == "quadratic")
    (built,) = verified_table(rows=(row,))
    assert [built.verdict(q) for q in ("exact", "approx", "min_or_max")] == ["no", "no", "no"]
    assert all(built.verification[q] for q in ("exact", "approx", "min_or_max"))


def test_constant_visualization():
    """Delta = 0: only constants, whatever x_max and x_min are."""
    r = value_range("quadratic", FeatureVisualization([0.2, 0.9], 0.5, [0.7, 0.1], 0.5), [0.3, 0.3])
    assert (r.lo, r.hi) == (0.5, 0.5)


def test_general_observations():
    """An extra observed value is one more linear equality: f(1/2) = 1/4 with x_min = 0, x_max = 1 forces a = 1."""
    from theory import Observations

    obs = Observations([[1.0], [0.0], [0.5]], [1.0, 0.0, 0.25], ["max", "min", "value"])
    r = value_range("quadratic", obs, [0.25])
    assert r.lo == pytest.approx(1 / 16, abs=1e-9) and r.hi == pytest.approx(1 / 16, abs=1e-9)
