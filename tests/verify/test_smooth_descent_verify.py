"""Region claims for L-smooth functions in d >= 2 (descent lemma at a flat extremum): good claims pass, every
tampered ingredient fails."""

from __future__ import annotations

from counterexamples.verify import verify_certificate, verify_smooth_region

FV = {"x_max": ["3/4", "1/2"], "f_max": "1/100", "x_min": ["1/4", "1/2"], "f_min": "0"}
CLAIM = {
    "type": "region",
    "class": "smooth",
    "params": {"d": 2, "L": "2/5"},
    "fv": FV,
    "x": ["13/40", "3/5"],  # ||x - x_min|| = 1/8: L u^2 = 1/160 < Delta = 1/100
    "decision": "min",
}


def failed(rep):
    return [c.name for c in rep.checks if not c.ok]


def test_good_claim_passes():
    assert verify_smooth_region(CLAIM).ok
    assert verify_certificate(CLAIM).ok
    mirrored = {**CLAIM, "x": ["27/40", "2/5"], "decision": "max"}
    assert verify_smooth_region(mirrored).ok


def test_tampered_claims_fail():
    cases = {
        "L above L* = 64 Delta": {"params": {"d": 2, "L": "16/25"}},
        "wrong side": {"decision": "max"},
        "unknown decision": {"decision": "tie"},
        "inconsistent (L D^2 < 4 Delta)": {"params": {"d": 2, "L": "3/20"}},
        "Delta = 0": {"fv": {**FV, "f_max": "0"}},
        "outside the box": {"x": ["13/40", "6/5"]},
        "wrong length": {"x": ["13/40"]},
    }
    for what, bad in cases.items():
        rep = verify_smooth_region({**CLAIM, **bad})
        assert not rep.ok, what


def test_flatness_is_required():
    """x_min on an edge: x along the edge (chord continues past x_min) passes; x inward (the chord starts at x_min,
    so the gradient need not vanish along it) fails even though L u^2 < Delta."""
    fv = {"x_max": ["0", "1"], "f_max": "1/100", "x_min": ["0", "1/2"], "f_min": "0"}
    along = {**CLAIM, "fv": fv, "x": ["0", "3/5"]}
    assert verify_smooth_region(along).ok
    inward = {**CLAIM, "fv": fv, "x": ["1/10", "1/2"]}
    assert "flat" in " ".join(failed(verify_smooth_region(inward)))


def test_threshold_with_bad_below_fails():
    from theory import check_class

    cert = check_class("smooth", d=2, L=1.0)["min_or_max"].certificate
    assert verify_certificate(cert).ok
    bad = {**cert, "below": {**cert["below"], "params": {"d": 2, "L": "1"}}}
    assert not verify_certificate(bad).ok


def test_flat_rise_needs_room_past_x():
    """x_min = (1/2, 1/2), x = (9/10, 1/2): u = 2/5 and the chord has 1/10 of room past x. With h = 1/4 (Delta =
    1/16, L = 1) braking needs 2h - u = 1/10: the flat rise proves f(x) <= P(u) = 23/400 exactly and nothing less;
    with h = 3/10 (Delta = 9/100) braking needs 1/5 > 1/10, so the lemma does not apply and P(u) = 7/100 stays
    unproved (the descent lemma gives only 2/25)."""
    from fractions import Fraction as F

    from counterexamples.verify._smooth_descent import rise_at_most

    xmin, x = [F(1, 2), F(1, 2)], [F(9, 10), F(1, 2)]
    assert rise_at_most(F(1), xmin, x, F(1, 16), F(23, 400)) == "flat rise"
    assert rise_at_most(F(1), xmin, x, F(1, 16), F(23, 400) - F(1, 10**12)) is None
    assert rise_at_most(F(1), xmin, x, F(9, 100), F(7, 100)) is None
    assert rise_at_most(F(1), xmin, x, F(9, 100), F(2, 25)) == "descent lemma"
    assert rise_at_most(F(1), [F(0), F(1, 2)], x, F(1, 16), F(23, 400)) is None  # x_min not flat for x
