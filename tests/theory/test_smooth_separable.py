"""Separable members of the L-smooth class in d >= 2 (issue 24, item 6): f_min + sum_k P_k(|y_k - x_min,k|) with one
1-D fastest rise of height Delta_k per coordinate. They are L-smooth, have the visualization iff every
Delta_k <= c_k, widen the inner range, decide consistency where sum_k c_k >= Delta, and their certificates verify
(the verifier checks each one-variable part; a cross term or a too-curved part is refused)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_certificate
from counterexamples.verify._exact import parse_expr
from counterexamples.verify._smooth import smooth_member
from theory import FeatureVisualization
from theory import _certificates as certs
from theory._smooth_ridge import ridge_member
from theory._smooth_separable import SeparableSmoothWitness, heights_allowed, separable_exists, separable_member
from theory.classes.smooth import Smooth, UndecidedConsistency, _chord_rise, _visualization_ridges

_COORD = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.9])


def _fv(xmax, delta, xmin):
    return FeatureVisualization(np.array(xmax, float), delta, np.array(xmin, float), 0.0)


def test_heights_allowed_are_the_1d_consistency_limits():
    """c_k = L (x_max,k - x_min,k)^2 / n_k: one interior end (n = 2), two (n = 4), none (no limit), equal (0)."""
    caps = heights_allowed(np.array([0.0, 0.5, 0.0, 0.3]), np.array([0.75, 0.25, 1.0, 0.3]), 2.0)
    assert caps == [Fraction(9, 16), Fraction(1, 32), None, Fraction(0)]


def test_separable_members_decide_consistency():
    """x_min = (0, 1/2) on an edge, x_max = (0.8, 0.2): sum_k c_k = 0.32 + 0.0225 = 0.3425. Delta = 0.34 is
    consistent (a separable member has it), 0.343 stays undecided (no member known, no contradiction found), and
    0.35 is refuted by the two-point LP (theory/_smooth_lp.py: f(x_max) - f_min <= 0.98 Delta)."""
    fc = Smooth(2, 1.0)
    assert fc.is_consistent(_fv((0.8, 0.2), 0.34, (0.0, 0.5)))
    assert separable_exists(np.array([0.0, 0.5]), np.array([0.8, 0.2]), 1.0, Fraction(34, 100))
    assert not separable_exists(np.array([0.0, 0.5]), np.array([0.8, 0.2]), 1.0, Fraction(35, 100))
    with pytest.raises(UndecidedConsistency):
        fc.is_consistent(_fv((0.8, 0.2), 0.343, (0.0, 0.5)))
    assert not fc.is_consistent(_fv((0.8, 0.2), 0.35, (0.0, 0.5)))
    m = separable_member(np.array([0.0, 0.5]), np.array([0.8, 0.2]), np.array([0.3, 0.3]), 1.0, 0.0, 0.34, 1)
    assert m is not None
    w = m[1]
    assert w(np.array([0.8, 0.2])) == pytest.approx(0.34, abs=1e-12) and w(np.array([0.0, 0.5])) == 0.0


def test_separable_member_attains_the_chord_bound():
    """x_min = (1/2, 1/2) interior, x_max = (0, 0), Delta = 1/4, L = 1, x = (0.1, 0.9): no one-coordinate member has
    the visualization and the ridge members stay at f_min; the separable member takes L ||x - x_min||^2 / 2 = 0.16
    > c = 0.125, which is the chord bound (flat rise, still accelerating): the upper end is exact."""
    fc = Smooth(2, 1.0)
    fv = _fv((0.0, 0.0), 0.25, (0.5, 0.5))
    x = np.array([0.1, 0.9])
    assert not fc._axes(fv.observations())  # no one-coordinate member (c_k = 1/8 < Delta)
    ridges = [ridge_member(fv.x_min, fv.x_max, x, 1.0, 0.25, 0.0, 1)] + [
        (float(w(x)), w) for w in _visualization_ridges(fv.x_min, fv.x_max, 1.0, 0.0, 0.25)
    ]
    assert all(r is None or r[0] == pytest.approx(0.0, abs=1e-12) for r in ridges)  # the ridges take f_min at x
    vr = fc.value_range(fv, x)
    assert isinstance(vr.witness_hi, SeparableSmoothWitness)
    assert vr.hi == pytest.approx(0.16, abs=1e-12)
    assert vr.extra["outer"][1] == pytest.approx(vr.hi, abs=1e-12)
    rep = verify_certificate(certs.counterexample(fc, "exact", fv, vr))
    assert rep.ok, [c.detail for c in rep.checks if not c.ok]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(_COORD, _COORD),
    st.tuples(_COORD, _COORD),
    st.tuples(st.floats(0, 1), st.floats(0, 1)),
    st.floats(0.02, 0.6),
    st.sampled_from([0.5, 1.0, 3.0]),
    st.sampled_from([1, -1]),
)
def test_separable_member_property(xmin, xmax, x, delta, L, sign):
    """Property: whenever a separable member exists it has the visualization (values at the extrema, and within
    [f_min, f_max] on a grid), its value at x is the one reported, and it lies inside the outer (chord) bound."""
    xmin, xmax, x = np.array(xmin), np.array(xmax), np.array(x)
    anchor, other = (xmin, xmax) if sign == 1 else (xmax, xmin)
    m = separable_member(anchor, other, x, L, 0.0, delta, sign)
    if m is None:
        assert not separable_exists(xmin, xmax, L, Fraction(delta))
        return
    val, w = m
    assert w(x) == pytest.approx(val, abs=1e-12)
    assert w(xmax) == pytest.approx(delta, abs=1e-9 * delta) and w(xmin) == pytest.approx(0.0, abs=1e-9 * delta)
    g = np.linspace(0, 1, 41)
    Y = np.array([(a, b) for a in g for b in g])
    vals = w(Y)
    assert vals.max() <= delta * (1 + 1e-9) and vals.min() >= -1e-9 * delta
    bound = _chord_rise(anchor, x, L, delta)
    assert (val if sign == 1 else delta - val) <= bound + 1e-9 * delta


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([(0.0, 0.5), (0.25, 0.5), (0.5, 0.5)]),
    st.sampled_from([(1.0, 0.0), (1.0, 1.0)]),
    st.sampled_from([Fraction(1, 2), Fraction(1), Fraction(3)]),
)
def test_separable_membership_is_exact(xmin, xmax, L):
    """Property: the verifier accepts a separable member as L-smooth for its own L and refuses it for 15/16 L."""
    m = separable_member(np.array(xmin), np.array(xmax), np.array([0.3, 0.8]), float(L), 0.0, float(L) / 8, 1)
    assert m is not None and len(m[1].parts) == 2
    e, syms = parse_expr(m[1].to_spec())
    ok, detail = smooth_member(e, syms, L)
    assert ok and "separable" in detail, detail
    assert not smooth_member(e, syms, L * Fraction(15, 16))[0]


def test_verifier_refuses_cross_terms_and_curved_parts():
    spec = {
        "kind": "sympy",
        "vars": ["x0", "x1"],
        "expr": "Piecewise((x0**2/2, x0 <= 1/2), (-x0**2/2 + x0 - 1/4, True)) + Piecewise((x1**2/2, x1 <= 1/2), "
        "(-x1**2/2 + x1 - 1/4, True))",
    }
    e, syms = parse_expr(spec)
    assert smooth_member(e, syms, Fraction(1))[0]
    crossed = {**spec, "expr": spec["expr"] + " + x0*x1/100"}
    e, syms = parse_expr(crossed)
    assert not smooth_member(e, syms, Fraction(1))[0]
    curved = {**spec, "expr": spec["expr"].replace("(x1**2/2, x1 <= 1/2)", "(x1**2, x1 <= 1/2)")}
    e, syms = parse_expr(curved)
    ok, detail = smooth_member(e, syms, Fraction(1))
    assert not ok and "x1" in detail


def test_tampered_separable_certificate_fails():
    fc = Smooth(2, 1.0)
    fv = _fv((0.0, 0.0), 0.25, (0.5, 0.5))
    vr = fc.value_range(fv, np.array([0.1, 0.9]))
    cert = certs.counterexample(fc, "exact", fv, vr)
    assert "Piecewise" in str(cert)
    assert verify_certificate(cert).ok
    assert not verify_certificate(_retarget(cert)).ok


def _retarget(cert):
    """A copy of the certificate with the separable witness's second part made twice as curved."""
    import copy
    import json

    out = copy.deepcopy(cert)
    s = json.dumps(out)
    assert "x1**2/2" in s
    return json.loads(s.replace("x1**2/2", "x1**2", 1))


_RAT = st.fractions(-2, 2, max_denominator=8)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(_RAT, _RAT, _RAT), min_size=1, max_size=3),
    st.lists(st.fractions(-1, 2, max_denominator=8), min_size=2, max_size=2),
    st.tuples(_RAT, _RAT, _RAT),
    st.sampled_from(["max", "min"]),
)
def test_separable_extremes_are_exact(pieces, bounds, other, sense):
    """Property: the verifier's extreme of a separable sum (continuous or not, breakpoints inside [0, 1] or not) is
    the true one: the bound it proves holds on a fine grid and is attained (a bound 1/1000 tighter is refused)."""
    import sympy

    from counterexamples.verify._smooth_separable import separable_bound_holds

    x0, x1 = sympy.symbols("x0 x1", real=True)
    bs = sorted(bounds)[: len(pieces) - 1]
    args = [(a + b * x0 + c * x0**2, x0 <= bk) for (a, b, c), bk in zip(pieces, bs, strict=False)]
    a, b, c = pieces[-1] if len(args) < len(pieces) else (0, 0, 0)
    g0 = sympy.Piecewise(*args, (a + b * x0 + c * x0**2, True)) if args else a + b * x0 + c * x0**2
    g1 = other[0] + other[1] * x1 + other[2] * x1**2
    e = sympy.Add(g0, g1, sympy.Rational(1, 3), evaluate=False)
    f = sympy.lambdify((x0, x1), e, "numpy")
    t = np.linspace(0, 1, 2001)
    P, Q = np.meshgrid(t, t[::50], indexing="ij")
    vals = np.broadcast_to(np.asarray(f(P, Q), dtype=float), P.shape)
    true = vals.max() if sense == "max" else vals.min()
    want = sympy.Rational(str(true)) + (sympy.Rational(1, 10**6) if sense == "max" else -sympy.Rational(1, 10**6))
    ok_loose = separable_bound_holds(e, want + (1 if sense == "max" else -1) * sympy.Rational(1, 100), sense)
    assert ok_loose is not None and ok_loose[0], ok_loose
    tight = want + (-1 if sense == "max" else 1) * sympy.Rational(1, 1000)
    refused = separable_bound_holds(e, tight, sense)
    assert refused is not None and not refused[0]


def test_interior_counts_with_numpy_numbers():
    """Both ends interior count twice with numpy floats too (np.bool_ + np.bool_ is a logical or)."""
    from theory.classes.smooth import consistent_1d

    a, b = np.float64(0.25), np.float64(0.75)
    assert consistent_1d(a, b, 0.0625, 1.0) == consistent_1d(0.25, 0.75, 0.0625, 1.0)  # L D^2 = 4 Delta: tight
    assert not consistent_1d(a, b, 0.07, 1.0)  # needs L D^2 >= 4 Delta = 0.28 > 0.25
