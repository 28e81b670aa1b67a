"""Twisted members of the L-smooth class (theory._smooth_twist) and their independent check
(counterexamples.verify._smooth_twist): the membership theorem, the exact checks on both sides, and the ranges
they open up."""

from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterexamples.verify import parse_expression, verify_certificate
from counterexamples.verify._smooth_twist import twist_bound_holds, twist_extreme, twist_parts, twist_smooth
from theory import FeatureVisualization, check_class, value_range
from theory._numbers import fraction_str
from theory._smooth_twist import TwistedSmoothWitness, _least_norm, exact_check, twisted_member

# x_min and x_max on one edge (y_0 = 0): every one-coordinate, radial, ridge and separable member stays near f_min
# at x, a twisted member rises across the edge where it is low and falls where it is high
XMIN, XMAX, DELTA, X = (0.0, 0.28), (0.0, 1.0), 0.224, (0.7, 0.3)
FV = FeatureVisualization(list(XMAX), DELTA, list(XMIN), 0.0)

coef = st.fractions(min_value=-2, max_value=2, max_denominator=16)


def _pieces_from(b0, db0, betas, g0, dg0, gammas, knots):
    """C^1 piecewise quadratics (absolute coefficients) from values, slopes at 0 and second derivatives."""
    out = {"B": [], "G": []}
    for name, (v, dv, curv) in (("B", (b0, db0, betas)), ("G", (g0, dg0, gammas))):
        for k, c in enumerate(curv):
            t0, t1 = knots[k], knots[k + 1]
            c2 = c / 2
            out[name].append((v - dv * t0 + c2 * t0 * t0, dv - 2 * c2 * t0, c2))
            v, dv = v + dv * (t1 - t0) + c2 * (t1 - t0) ** 2, dv + c * (t1 - t0)
    return out["B"], out["G"]


def _twist(text: str):
    e = parse_expression(text, ["x0", "x1"])
    return twist_parts(e, sorted(e.free_symbols, key=str))


@pytest.fixture(scope="module")
def widest():
    return value_range("smooth", FV, np.array(X), L=1.0)


# ---- the ranges --------------------------------------------------------------------------------------------
def test_a_twisted_member_opens_the_range_across_an_edge(widest):
    """Before twisted members the upper end at x was 2e-4 (members of one coordinate); the chord allows Delta."""
    assert isinstance(widest.witness_hi, TwistedSmoothWitness)
    assert 0.15 < widest.hi <= widest.extra["outer"][1] + 1e-12
    Y = np.random.default_rng(0).random((20000, 2))
    vals = widest.witness_hi(Y)
    assert vals.min() >= -1e-12 and vals.max() <= DELTA + 1e-12
    assert widest.witness_hi(np.array(XMIN)) == pytest.approx(0.0, abs=1e-15)
    assert widest.witness_hi(np.array(XMAX)) == pytest.approx(DELTA, abs=1e-15)


def test_the_instance_verdicts_turn_no_as_docs_theory_says(widest, monkeypatch):
    r = check_class("smooth", fv=FV, x=list(X), L=1.0, eps=0.1)
    assert {q: a.verdict for q, a in r.answers.items()} == {"exact": "no", "approx": "no", "min_or_max": "no"}
    assert round(widest.hi, 3) == 0.157 and widest.extra["outer"][1] == pytest.approx(DELTA)
    monkeypatch.setattr("theory.classes.smooth.TWIST_MAX_D", 1)  # the members without twists
    before = value_range("smooth", FV, np.array(X), L=1.0)
    assert before.hi <= 0.0002 + 1e-12
    r = check_class("smooth", fv=FV, x=list(X), L=1.0, eps=0.1)
    assert {q: a.verdict for q, a in r.answers.items()} == {"exact": "no", "approx": "open", "min_or_max": "open"}


def test_a_counterexample_with_a_twisted_witness_verifies_and_tampering_fails(widest):
    lo_spec = value_range("smooth", FV, np.array(X), L=1.0).witness_lo.to_spec()
    cex = {
        "type": "counterexample",
        "class": "smooth",
        "params": {"d": 2, "L": "1"},
        "question": "min_or_max",
        "fv": {"x_max": ["0", "1"], "f_max": fraction_str(DELTA), "x_min": ["0", fraction_str(0.28)], "f_min": "0"},
        "x": [fraction_str(v) for v in X],
        "witnesses": [lo_spec, widest.witness_hi.to_spec()],
        "values_at_x": ["0", widest.witness_hi.exact_value_str(np.array(X))],
    }
    rep = verify_certificate(cex)
    assert rep.ok, [(c.name, c.detail) for c in rep.checks if not c.ok]
    assert any("twist" in c.detail for c in rep.checks if c.name.startswith("witness 1: gradient"))
    assert verify_certificate({**cex, "params": {"d": 2, "L": "9/10"}}).ok is False  # curvature bound is tight-ish
    bent = copy.deepcopy(cex)
    bent["witnesses"][1]["expr"] = "1/1000 + " + bent["witnesses"][1]["expr"]  # f(x_min) = 1/1000: no longer f_min
    assert not verify_certificate(bent).ok


# ---- the membership theorem ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    knots_inner=st.lists(st.fractions(min_value=Fraction(1, 20), max_value=Fraction(19, 20)), max_size=3, unique=True),
    b=st.tuples(coef, coef),
    g=st.tuples(coef, coef),
    curv=st.lists(st.tuples(coef, coef), min_size=4, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_corner_condition_bounds_the_gradient_lipschitz_constant(knots_inner, b, g, curv, seed):
    """Whenever the exact check passes with lam, finite pairs of points never show ||grad q(a) - grad q(b)|| above
    lam ||a - b|| (the theorem: corners suffice, C^1 glues the pieces)."""
    knots = sorted({Fraction(0), Fraction(1), *knots_inner})
    n = len(knots) - 1
    B, G = _pieces_from(b[0], b[1], [c[0] for c in curv[:n]], g[0], g[1], [c[1] for c in curv[:n]], knots)
    # the smallest lam the corners allow: largest over corners of (|e| + sqrt(e^2 + 4 s^2)) / 2
    lam = Fraction(0)
    for k in range(n):
        for t in knots[k : k + 2]:
            s = float(G[k][1] + 2 * G[k][2] * t)
            for yi in (0, 1):
                e = float(2 * B[k][2] + yi * 2 * G[k][2])
                lam = max(lam, Fraction((abs(e) + (e * e + 4 * s * s) ** 0.5) / 2) * Fraction(1000001, 1000000))
    assert exact_check(knots, B, G, lam, Fraction(-100), Fraction(100)) is None
    w = TwistedSmoothWitness(2, 0, 1, knots, B, G)

    def grad(p):
        k = min(np.searchsorted([float(t) for t in knots], p[1], side="left") - 1, n - 1)
        k = max(k, 0)
        pb, pg = [float(c) for c in B[k]], [float(c) for c in G[k]]
        gval = pg[0] + pg[1] * p[1] + pg[2] * p[1] ** 2
        return np.array([gval, pb[1] + 2 * pb[2] * p[1] + p[0] * (pg[1] + 2 * pg[2] * p[1])])

    rng = np.random.default_rng(seed)
    for _ in range(200):
        a, c = rng.random(2), rng.random(2)
        assert np.linalg.norm(grad(a) - grad(c)) <= float(lam) * np.linalg.norm(a - c) * (1 + 1e-9) + 1e-12
    assert w(np.array([0.3, 0.6])) == pytest.approx(float(w.exact_value([Fraction(3, 10), Fraction(3, 5)])))


@settings(max_examples=40, deadline=None)
@given(
    b=st.tuples(coef, coef),
    g=st.tuples(coef, coef),
    curv=st.lists(st.tuples(coef, coef), min_size=3, max_size=3),
    lam=st.fractions(min_value=Fraction(1, 10), max_value=5, max_denominator=10),
)
def test_the_engine_and_the_verifier_agree_on_the_conditions(b, g, curv, lam):
    knots = [Fraction(0), Fraction(1, 3), Fraction(2, 3), Fraction(1)]
    B, G = _pieces_from(b[0], b[1], [c[0] for c in curv], g[0], g[1], [c[1] for c in curv], knots)
    w = TwistedSmoothWitness(2, 0, 1, knots, B, G)
    tw = _twist(w.to_spec()["expr"])
    if tw is None:  # sympy folded the Piecewise (e.g. G identically 0): not a twist, nothing to compare
        return
    smooth_engine = exact_check(knots, B, G, lam, Fraction(-(10**6)), Fraction(10**6)) is None
    assert twist_smooth(tw, lam)[0] == smooth_engine
    hi, lo = twist_extreme(tw, "max"), twist_extreme(tw, "min")
    Y = np.random.default_rng(1).random((4000, 2))
    assert w(Y).max() <= float(hi) + 1e-9 and w(Y).min() >= float(lo) - 1e-9  # exact extremes bound the samples
    assert exact_check(knots, B, G, Fraction(10**6), lo, hi) is None  # and the engine agrees they are the extremes
    assert exact_check(knots, B, G, Fraction(10**6), lo, hi - Fraction(1, 10**6)) is not None
    assert twist_bound_holds(tw, hi, "max") == (True, twist_bound_holds(tw, hi, "max")[1])
    assert twist_bound_holds(tw, hi - Fraction(1, 10**6), "max")[0] is False


def test_the_exact_check_refuses_what_breaks_a_condition():
    knots = [Fraction(0), Fraction(1, 2), Fraction(1)]
    B, G = _pieces_from(
        Fraction(1, 4),
        Fraction(0),
        [Fraction(1), Fraction(-1)],
        Fraction(0),
        Fraction(1, 2),
        [Fraction(0), Fraction(0)],
        knots,
    )
    assert exact_check(knots, B, G, Fraction(2), Fraction(-1), Fraction(2)) is None
    assert "Hessian" in exact_check(knots, B, G, Fraction(1), Fraction(-1), Fraction(2))
    assert "leaves" in exact_check(knots, B, G, Fraction(2), Fraction(1, 4) + Fraction(1, 100), Fraction(2))
    kinked = [B[0], (B[1][0] + Fraction(1, 100), B[1][1], B[1][2])]
    assert "C^1" in exact_check(knots, kinked, G, Fraction(2), Fraction(-1), Fraction(2))


def test_only_the_twist_form_is_read_as_a_twist():
    pw = "Piecewise((x1**2, x1 <= 1/2), (x1 - 1/4, True))"
    assert _twist(f"{pw} + x0*{pw}") is not None
    for other in (f"{pw} + x0**2*{pw}", f"{pw} + x0*x1*{pw}", f"{pw} + x0*{pw.replace('x1', 'x0')}", f"x0 + {pw}"):
        assert _twist(other) is None, other


@settings(max_examples=30, deadline=None)
@given(
    A=st.lists(
        st.lists(st.fractions(min_value=-3, max_value=3, max_denominator=5), min_size=5, max_size=5),
        min_size=1,
        max_size=4,
    ),
    c=st.lists(st.fractions(min_value=-3, max_value=3, max_denominator=5), min_size=5, max_size=5),
)
def test_the_least_norm_correction_solves_consistent_systems_exactly(A, c):
    r = [sum(a * v for a, v in zip(row, c, strict=True)) for row in A]  # consistent by construction
    sol = _least_norm(A + A[:1], r + r[:1])  # a repeated row is dropped, not an error
    assert sol is not None
    assert all(sum(a * v for a, v in zip(row, sol, strict=True)) == t for row, t in zip(A, r, strict=True))
    if any(A[0]):  # the same row with another right-hand side: inconsistent
        assert _least_norm(A + [A[0]], r + [r[0] + 1]) is None


def test_no_member_when_the_program_has_none():
    """x_min and x_max on one line y_j = 0 with y_i of x_min inside: G(0) = 0, so B(0) would be 0 and 1 at once."""
    assert (
        twisted_member(np.array([0.0, 0.28]), np.array([0.0, 1.0]), np.array([0.7, 0.3]), 1.0, 0.0, 0.224, 1, 1, 0)
        is None
    )


def test_a_piece_that_holds_only_on_the_face_x_j_0_is_read():
    """Review finding: a condition x1 <= 0 makes its piece hold only on the face x1 = 0; the checks skipped it, so a
    jump there (f(0, 0) = 5) passed as a 1-smooth function with maximum 1/4."""
    tw = _twist("Piecewise((5, x1 <= 0), (0, True)) + x0*x1**2/4")
    assert tw is not None
    assert twist_extreme(tw, "max") == 5
    ok, detail = twist_smooth(tw, Fraction(1))
    assert not ok and "C^1" in detail
    for below in ("(x1 <= -1) | (x1 <= 0)", "x1 <= 0"):
        tw = _twist(f"Piecewise((7, x1 <= -1), (5, {below}), (0, True)) + x0*x1**2/4")
        assert tw is not None and twist_extreme(tw, "max") == 5 and not twist_smooth(tw, Fraction(1))[0]
