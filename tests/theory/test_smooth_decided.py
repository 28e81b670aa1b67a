"""L-smooth functions in d >= 2 (issue 24, item 6): the decided cases of "closer to min or max" (both extrema flat
for x, radial members present: answered iff L < Delta / min(||x - x_min||, ||x - x_max||)^2, or the tie), the
class-level "depends" verdicts with verified certificates, and instance answers on brackets ("open" where the
proved bounds and the members disagree)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_certificate
from theory import FeatureVisualization, check_class, value_range
from theory import _certificates as certs
from theory._smooth_region import critical_L, decided_exactly, descent_bracket, flat_for
from theory._smooth_ridge import chord_bound_attained
from theory.classes.smooth import Smooth


def _interior(d):
    return st.lists(st.floats(0.05, 0.95), min_size=d, max_size=d).map(np.array)


@settings(max_examples=30, deadline=None)
@given(d=st.sampled_from([2, 3]), data=st.data())
def test_interior_visualizations_are_decided_exactly(d, data):
    """Interior x_min, x_max: the engine's answer at every x is the theorem's, and never "open"."""
    xmin, xmax, x = data.draw(_interior(d)), data.draw(_interior(d)), data.draw(_interior(d))
    D = float(np.linalg.norm(xmax - xmin))
    if D < 0.05:
        return
    L = data.draw(st.sampled_from([0.5, 1.0, 4.0]))
    delta = L * D * D / 4 * data.draw(st.floats(0.05, 1.0))  # consistent: L D^2 >= 4 Delta
    fv = FeatureVisualization(xmax, delta, xmin, 0.0)
    assert decided_exactly(fv, x, L)
    u = min(float(np.linalg.norm(x - xmin)), float(np.linalg.norm(x - xmax)))
    h = math.sqrt(delta / L)
    if abs(u - h) < 1e-6 * h:  # the boundary itself (ties) is tested separately
        return
    inst = check_class("smooth", fv=fv, x=x, L=L)["min_or_max"].verdict
    assert inst == ("yes" if u < h else "no")
    assert (critical_L(fv, x) > L) == (u < h)
    # members (the engine's inner range) lie inside the descent bracket, and the chord bound (flat: P <= L u^2/2)
    # is at least as tight as it
    r = value_range("smooth", fv, x, L=L)
    lo, hi = descent_bracket(L, fv, x)
    olo, ohi = r.extra["outer"]
    tol = 1e-12 * max(1.0, delta)
    assert lo - tol <= r.lo and r.hi <= hi + tol
    assert lo - tol <= olo and ohi <= hi + tol


def test_tie_at_the_smallest_L_is_answered():
    """D = 2h and x the midpoint: both descent bounds give f(x) = c (a tie); any larger L leaves it undecided."""
    fv = FeatureVisualization([0.75, 0.5], 1 / 16, [0.25, 0.5], 0.0)  # L_min = 4 Delta / D^2 = 1
    rep = check_class("smooth", fv=fv, x=[0.5, 0.5], L=1.0)
    assert rep["min_or_max"].verdict == "yes" and "tie" in rep["min_or_max"].reason
    assert check_class("smooth", fv=fv, x=[0.5, 0.5], L=1.01)["min_or_max"].verdict == "no"


def test_flat_for():
    assert flat_for(np.array([0.5, 0.5]), np.array([0.9, 0.1]))  # interior: always
    assert flat_for(np.array([0.0, 0.5]), np.array([0.0, 0.9]))  # on an edge, x along it: the chord continues
    assert not flat_for(np.array([0.0, 0.5]), np.array([0.1, 0.5]))  # the chord starts at the edge
    assert flat_for(np.array([1.0, 1.0]), np.array([1.0, 1.0]))  # x = anchor


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("L", [0.25, 1.0, 7.0])
def test_class_min_or_max_depends_and_verifies(d, L):
    ans = check_class("smooth", d=d, L=L)["min_or_max"]
    assert ans.verdict == "depends"
    cert = ans.certificate
    assert cert["type"] == "threshold" and cert["below"]["type"] == "region"
    assert cert["L_star_closed_form"] == pytest.approx(cert["L_star_bisection"], rel=1e-6)
    assert cert["L_min"] < cert["L_star_closed_form"] < L
    rep = verify_certificate(cert)
    assert rep.ok, [c for c in rep.checks if not c.ok]


@pytest.mark.parametrize("eps", [0.01, 0.1, 0.3, 0.45])
def test_class_fixed_eps_depends_and_verifies(eps):
    ans = check_class("smooth", d=2, L=1.0, eps=eps)["approx"]
    assert ans.verdict == "depends"
    rep = verify_certificate(ans.certificate)
    assert rep.ok, [c for c in rep.checks if not c.ok]
    # a smaller eps than the one certified must fail the answered instance (the check is not vacuous)
    tampered = {**ans.certificate, "eps": eps / 50}
    if ans.certificate["below"]["lo"] != ans.certificate["below"]["hi"]:
        assert not verify_certificate(tampered).ok


def test_ridge_member_decides_a_vertex_instance():
    """x_min at a vertex, x inward (not flat for x): the ridge member f_min + P(e.(y - x_min)) attains the chord bound
    (free initial slope sqrt(2 L Delta)), so the range is exact and the answer "no", with a verified certificate."""
    fv = FeatureVisualization([1.0, 1.0], 0.25, [0.0, 0.0], 0.0)
    x = np.array([0.2, 0.1])
    assert not decided_exactly(fv, x, 1.0) and chord_bound_attained(fv.x_min, fv.x_max, x, 1.0, fv.delta)
    vr = value_range("smooth", fv, x, L=1.0)
    u = math.sqrt(0.05)
    assert vr.extra["exact_range"] and vr.hi == pytest.approx(math.sqrt(0.5) * u - u * u / 2, rel=1e-12)
    assert type(vr.witness_hi).__name__ == "RidgeSmoothWitness"
    assert vr.witness_hi.exact_value_str(x) == "-1/40 + sqrt(10)/20"  # quoted in docs/theory.md
    ans = check_class("smooth", fv=fv, x=x, L=1.0)["min_or_max"]
    assert ans.verdict == "no"
    rep = verify_certificate(certs.counterexample(Smooth(2, 1.0), "min_or_max", fv, vr))
    assert rep.ok, [c for c in rep.checks if not c.ok]
    assert any("ridge" in c.detail for c in rep.checks)


def test_boundary_extremum_moving_an_interior_coordinate_stays_open():
    """x_min on an edge and x moving along it as well as inward: the chord bound (free slope along the chord) and the
    members differ and straddle c, so the answer is "open", not a claim the proof does not give."""
    fv = FeatureVisualization([1.0, 0.5], 0.25, [0.0, 0.5], 0.0)
    x = np.array([0.1, 0.7])
    assert not chord_bound_attained(fv.x_min, fv.x_max, x, 1.0, fv.delta)
    vr = value_range("smooth", fv, x, L=1.0)
    assert not vr.extra["exact_range"] and vr.hi < fv.midpoint < vr.extra["outer"][1]
    assert (round(vr.hi, 4), round(vr.extra["outer"][1], 4)) == (0.0657, 0.1375)  # quoted in docs/theory.md
    assert check_class("smooth", fv=fv, x=x, L=1.0)["min_or_max"].verdict == "open"
    # on the x_0 edge the bracket is exact and the answer decided
    assert check_class("smooth", fv=fv, x=[0.2, 0.5], L=1.0)["min_or_max"].verdict in ("yes", "no")


@settings(max_examples=40, deadline=None)
@given(d=st.sampled_from([2, 3]), data=st.data())
def test_opposite_vertices_give_exact_ranges(d, data):
    """x_min and x_max at opposite vertices with Delta <= L/2: every chord from a vertex has room >= 1 >= s*, so by
    the ridge theorem both ends of the range are exact at every x and no instance answer is "open"."""
    corner = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=d, max_size=d)))
    x = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=d, max_size=d)))
    L = data.draw(st.sampled_from([0.5, 1.0, 3.0]))
    delta = L * data.draw(st.floats(0.01, 0.5))
    fv = FeatureVisualization(1 - corner, delta, corner, 0.0)
    vr = value_range("smooth", fv, x, L=L)
    olo, ohi = vr.extra["outer"]
    tol = 1e-9 * delta
    assert abs(vr.hi - ohi) <= tol and abs(vr.lo - olo) <= tol and vr.extra["exact_range"]
    u = float(np.linalg.norm(x - corner))  # the upper end in closed form: the fastest non-flat rise
    s_star = math.sqrt(2 * delta / L)
    assert vr.hi == pytest.approx(delta if u >= s_star else math.sqrt(2 * L * delta) * u - L * u * u / 2, abs=tol)
    assert "open" not in {a.verdict for a in check_class("smooth", fv=fv, x=x, L=L).answers.values()}


@settings(max_examples=40, deadline=None)
@given(d=st.sampled_from([2, 3]), data=st.data())
def test_ridge_theorem_condition_implies_exact_upper_end(d, data):
    """Property: wherever ``chord_bound_attained`` holds, the engine's upper end equals the proved chord bound."""
    xmin = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 0.3, 0.5]), min_size=d, max_size=d)))
    xmax = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=d, max_size=d)))
    x = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=d, max_size=d)))
    L = data.draw(st.sampled_from([0.5, 1.0, 4.0]))
    D = float(np.linalg.norm(xmax - xmin))
    delta = L * D * D / 4 * data.draw(st.floats(0.05, 1.0))
    if delta <= 1e-6 or not chord_bound_attained(xmin, xmax, x, L, delta):
        return
    fv = FeatureVisualization(xmax, delta, xmin, 0.0)
    vr = value_range("smooth", fv, x, L=L)
    assert vr.hi == pytest.approx(vr.extra["outer"][1], abs=1e-9 * delta)
