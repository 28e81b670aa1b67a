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
