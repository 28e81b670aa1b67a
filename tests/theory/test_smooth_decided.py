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
from theory._smooth_region import critical_L, decided_exactly, descent_bracket, flat_for


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


def test_boundary_extremum_not_flat_is_open_at_instances():
    """x_min at a vertex, x inward: the chord bound (free initial slope) reaches c, the members do not: "open"
    rather than a "yes" the proof does not give (a ridge member phi(e . y) would settle this one, docs/theory.md)."""
    fv = FeatureVisualization([1.0, 1.0], 0.25, [0.0, 0.0], 0.0)
    rep = check_class("smooth", fv=fv, x=[0.2, 0.1], L=1.0)
    assert rep["min_or_max"].verdict == "open"
    assert not decided_exactly(fv, np.array([0.2, 0.1]), 1.0)
    # on the x_0 edge the bracket is exact and the answer decided
    assert check_class("smooth", fv=fv, x=[0.2, 0.0], L=1.0)["min_or_max"].verdict in ("yes", "no")
