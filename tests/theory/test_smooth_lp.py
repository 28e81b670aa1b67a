"""The two-point LP for L-smooth functions (theory/_smooth_lp.py): its bounds are proved by exact dual
certificates that the independent verifier accepts, they never cut into the members' range, and tampering with a
certificate is caught."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_certificate, verify_smooth_lp_bound
from theory import FeatureVisualization, value_range
from theory._smooth_lp import bound, claim, relaxation
from theory.classes import InconsistentVisualization
from theory.classes.smooth import Smooth, UndecidedConsistency

EDGE = FeatureVisualization([1.0, 0.5], 0.25, [0.0, 0.5], 0.0)  # docs/theory.md: the edge example


X = np.array([0.1, 0.7])


def _cert() -> dict:
    about = claim(EDGE.x_min, EDGE.x_max, EDGE.f_min, EDGE.f_max, 2.0, "hi", X)
    out = bound(EDGE.x_min, EDGE.x_max, Fraction(8), X, 1, claim=about)
    assert out is not None
    return json.loads(json.dumps(out[1]))


def test_the_edge_example_is_proved_below_c():
    cert = _cert()
    rep, proved = verify_smooth_lp_bound(cert)
    assert rep.ok and proved == Fraction(7, 15)  # f(x) <= f_min + 7/15 Delta = 0.1167 < c = 0.125
    assert verify_certificate(cert).ok  # by its type, as every certificate the engine emits


def test_the_relaxation_is_the_lp_optimum_the_proof_rounds():
    """The float optimum (no certificate) is the proved bound up to the dual's rounding; on nested grids (step 1/3
    inside step 1/6, with the same points near x) the finer one can only be lower."""
    engine = relaxation(EDGE.x_min, EDGE.x_max, 8.0, X, 1, 7)
    coarse = relaxation(EDGE.x_min, EDGE.x_max, 8.0, X, 1, 4)
    assert engine == pytest.approx(7 / 15, abs=1e-7)
    assert coarse is not None and coarse >= engine - 1e-9


def _recompute(c: dict) -> None:
    """Make the stated bound match the rows again (the tampering then has to be caught by the claim checks)."""
    total = Fraction(0)
    for r in c["rows"]:
        kind, y = r[:-1], Fraction(r[-1])
        if kind[0] in ("up", "down"):
            p, q = c["points"][kind[1]], c["points"][kind[2]]
            sq = sum((Fraction(b) - Fraction(a)) ** 2 for a, b in zip(p, q, strict=True))
            total += y * Fraction(c["L_over_delta"]) * sq / 2
        elif kind[0] in ("ceil", "eq_max"):
            total += y
    c["bound"] = str(total)


@pytest.mark.parametrize(
    "tamper, words",
    [
        (lambda c: c.update(bound=str(Fraction(c["bound"]) - Fraction(1, 10**6))), "stated bound"),
        (lambda c: c["rows"][0].__setitem__(-1, "-1"), "multipliers of inequalities"),
        (lambda c: c["rows"].pop(0), "equals the objective"),
        (lambda c: c.update(L_over_delta="7"), "equals the stated bound"),
        (lambda c: c["points"][c["x_min"]].__setitem__(0, "1/10"), "visualization's"),
        (lambda c: c["rows"].append(["slack", 0, "1"]), "not allowed"),
        (lambda c: c["rows"].append(["up", 3, 3, "1"]), "must differ"),
        (lambda c: c.update(points="nonsense"), "parses"),
        # the review's attacks: a bound for another L, another point or another side, recomputed to match
        (lambda c: (c.update(L_over_delta="1"), _recompute(c)), "L_over_delta = L / (f_max - f_min)"),
        (lambda c: (c["objective"].update(point=c["x_min"]), c.update(rows=[["eq_min", "1"]], bound="0")), "claim's"),
        (lambda c: c["objective"].update(sign=-1), "claim's"),
        (lambda c: (c["objective"].update(sign=-1), c.update(side="lo")), "equals the objective"),
        (lambda c: c.update(x_max=c["x_min"]), "distinct"),
        (lambda c: c["objective"].update(f_max_pinned="false"), "objective and side"),
        (lambda c: c["fv"].update(f_max=0.25), "parses"),
    ],
)
def test_a_tampered_certificate_is_refused(tamper, words):
    cert = _cert()
    tamper(cert)
    rep, proved = verify_smooth_lp_bound(cert)
    assert not rep.ok and proved is None
    assert any(words in f"{c.name} {c.detail}" for c in rep.checks if not c.ok), [c for c in rep.checks if not c.ok]


coord = st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    xmin=st.tuples(coord, coord),
    xmax=st.tuples(coord, coord),
    x=st.tuples(st.sampled_from([0.1, 0.3, 0.6, 0.9]), st.sampled_from([0.1, 0.4, 0.7])),
    delta=st.sampled_from([0.05, 0.1, 0.25]),
)
def test_proved_ends_hold_the_members_and_verify(xmin, xmax, x, delta):
    """Where the LP tightens the outer range, the members' range stays inside it and each certificate verifies."""
    fv = FeatureVisualization(np.array(xmax), delta, np.array(xmin), 0.0) if xmin != xmax else None
    if fv is None:
        return
    try:
        vr = value_range("smooth", fv, np.array(x), L=1.0)
    except (InconsistentVisualization, UndecidedConsistency):
        return
    lo, hi = vr.extra["outer"]
    assert lo <= vr.lo + 1e-12 * delta and vr.hi <= hi + 1e-12 * delta
    for side, cert in vr.extra.get("outer_certificates", {}).items():
        rep, proved = verify_smooth_lp_bound(cert)
        assert rep.ok, rep
        end = delta * float(proved) if side == "hi" else -delta * float(proved)
        assert end == pytest.approx(hi if side == "hi" else lo, abs=1e-12)


def test_refuted_consistency_is_a_verified_bound_below_one():
    fc = Smooth(2, 1.0)
    fv = FeatureVisualization([0.0, 0.6], 0.286, [0.4, 1.0], 0.0)  # separable members reach only 0.16
    with pytest.raises(InconsistentVisualization, match="two-point conditions") as err:
        fc.check_consistent(fv.observations())
    cert = json.loads(json.dumps(err.value.certificate))  # type: ignore[attr-defined]
    rep, proved = verify_smooth_lp_bound(cert)
    assert rep.ok and cert["side"] == "consistency"
    assert proved is not None and proved * Fraction(286, 1000) == pytest.approx(0.16, abs=1e-9)


def test_d3_tightens_the_chord_bound_as_documented():
    """docs/theory.md: in d = 3 the LP takes the chord bound 0.151 down to 37/70 Delta = 0.132 (still above c)."""
    fv = FeatureVisualization([1.0, 0.5, 0.5], 0.25, [0.0, 0.5, 0.5], 0.0)
    vr = value_range("smooth", fv, np.array([0.1, 0.7, 0.4]), L=2.0)
    cert = vr.extra["outer_certificates"]["hi"]
    rep, proved = verify_smooth_lp_bound(cert)
    assert rep.ok and proved == Fraction(37, 70) and vr.extra["outer"][1] == pytest.approx(0.25 * 37 / 70)
    assert vr.hi < fv.midpoint < vr.extra["outer"][1]


@pytest.mark.parametrize(
    "xmin, xmax, delta, proved_bound",
    [
        ([1.0, 0.5, 0.25, 0.25], [0.75, 0.0, 0.5, 0.25], 0.375, Fraction(2, 3)),
        ([0.75, 0.75, 0.25, 0.75, 1.0], [0.0, 0.25, 0.75, 0.25, 1.0], 0.5, Fraction(15, 16)),
    ],
)
def test_consistency_is_refuted_in_d4_and_d5(xmin, xmax, delta, proved_bound):
    """d = 4, 5: visualizations that pass the chord conditions but no member has are refuted by the consistency LP
    (grid step 1/2), with a certificate the verifier accepts."""
    d = len(xmin)
    fv = FeatureVisualization(xmax, delta, xmin, 0.0)
    with pytest.raises(InconsistentVisualization, match="two-point conditions") as err:
        Smooth(d, 1.0).check_consistent(fv.observations())
    cert = json.loads(json.dumps(err.value.certificate))  # type: ignore[attr-defined]
    rep, proved = verify_smooth_lp_bound(cert)
    assert rep.ok and cert["side"] == "consistency" and proved == proved_bound < 1
    assert len(cert["points"]) == 3**d + 2  # the grid of step 1/2, then x_min and x_max (both off the grid)
