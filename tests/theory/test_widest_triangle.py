"""The widest triangle in the box, T_d (theory/_triangle.py): the witnesses attain the stated lower end, no triangle
beats the stated upper end, and the exact comparison ``at_most`` agrees with both."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_certificate
from counterexamples.verify._triangle import _unsat, chord_breakpoint, chord_lemma, chord_sum, prove_lipschitz_width
from theory import get_class
from theory._check import _class_abs
from theory._triangle import min_side_squared, widest_triangle

ORD = {"1": 1, "2": 2, "inf": np.inf}
CASES = [(d, p) for p in ("1", "2", "inf") for d in range(1, 8)]


def smallest_side(pts, norm):
    x, a, b = (np.asarray(p, dtype=float) for p in pts)
    return min(np.linalg.norm(u - v, ord=ORD[norm]) for u, v in ((x, a), (x, b), (a, b)))


@pytest.mark.parametrize("d,norm", CASES)
def test_witness_attains_the_lower_end(d, norm):
    tri = widest_triangle(d, norm)
    assert tri.lower <= tri.upper * (1 + 1e-15)
    assert tri.exact == (tri.lower == tri.upper)
    assert all(np.all((p >= 0) & (p <= 1)) for p in tri.witness)
    assert smallest_side(tri.witness, norm) == pytest.approx(tri.lower, rel=1e-12)


@pytest.mark.parametrize("d,norm", CASES)
def test_at_most_is_exact_at_both_ends(d, norm):
    tri = widest_triangle(d, norm)
    assert tri.at_most(Fraction(tri.upper) * (1 + Fraction(1, 10**9))) is True
    assert tri.at_most(Fraction(tri.lower) * (1 - Fraction(1, 10**9))) is False
    if not tri.exact:  # inside the bracket nothing is claimed
        assert tri.at_most(Fraction((tri.lower + tri.upper) / 2)) is None
    r = tri.rational()
    if r is not None:
        assert float(r) == pytest.approx(tri.upper) and tri.at_most(r) is True


def test_known_values():
    assert widest_triangle(2, "2").upper == pytest.approx(math.sqrt(6) - math.sqrt(2))
    assert widest_triangle(3, "2").rational() is None and widest_triangle(6, "2").rational() == 2
    assert widest_triangle(4, "1").rational() == Fraction(8, 3)
    with pytest.raises(ValueError, match="norm"):
        widest_triangle(2, "3")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(CASES), st.data())
def test_no_triangle_beats_the_upper_end(case, data):
    """Property: random triangles (and their corners-snapped versions) never have a smallest side above T."""
    d, norm = case
    unit = st.floats(0.0, 1.0, allow_nan=False)
    pts = [np.array(data.draw(st.lists(unit, min_size=d, max_size=d))) for _ in range(3)]
    tri = widest_triangle(d, norm)
    for cand in (pts, [np.round(p * 3) / 3 for p in pts]):
        assert smallest_side(cand, norm) <= tri.upper * (1 + 1e-12)


def test_square_optimum_by_local_search():
    """In the square no perturbation of the optimal triangle, and no random start improved by hill climbing,
    exceeds sqrt 6 - sqrt 2."""
    rng = np.random.default_rng(0)
    T = math.sqrt(6) - math.sqrt(2)
    best = 0.0
    for _ in range(40):
        pts = rng.random((3, 2))
        cur = smallest_side(pts, "2")
        for k in range(400):
            cand = np.clip(pts + rng.normal(scale=0.1 / (1 + k / 40), size=pts.shape), 0, 1)
            val = smallest_side(cand, "2")
            if val > cur:
                pts, cur = cand, val
        best = max(best, cur)
    assert best <= T * (1 + 1e-12) and best > T * 0.99


@pytest.mark.parametrize("d", [4, 5, 7, 8, 10, 11])
def test_bracketed_witnesses_follow_their_closed_forms(d):
    """2-norm, d not divisible by 3: the witness's squared smallest side is 2k + 8 - 4 sqrt 3 (d = 3k + 2) or
    2k + 6 - 4 sqrt 2 (d = 3k + 1), as docs/theory.md states, and strictly inside the bracket."""
    tri = widest_triangle(d, "2")
    k = d // 3
    closed = 2 * k + (8 - 4 * math.sqrt(3) if d % 3 == 2 else 6 - 4 * math.sqrt(2))
    assert tri.lower**2 == pytest.approx(closed, rel=1e-12)
    assert not tri.exact and tri.lower < tri.upper
    assert tri.upper_sq is not None and 0 < float(tri.upper_sq) - closed <= 1.1e-9


def _chord_program(d: int) -> tuple[object, object]:
    """The verifier's summed chord query at the engine's bound (must be unsat) and 1e-9 below the witness's squared
    side (must be sat: the bound loses nothing beyond its margin)."""
    tri = widest_triangle(d, "2")
    u0 = chord_breakpoint(d)
    assert tri.upper_sq is not None
    above = _unsat(chord_sum(d, u0, tri.upper_sq), 120000)
    below = _unsat(chord_sum(d, u0, min_side_squared(*tri.witness) - Fraction(1, 10**9)), 120000)
    return above, below


@pytest.mark.parametrize("d", [4, 5, 7, 8, 13, 14])
def test_the_chord_bound_is_proved_and_tight(d):
    assert _chord_program(d) == (z3.unsat, z3.sat)


@pytest.mark.slow
def test_the_chord_bound_for_every_dimension_the_command_line_accepts():
    """Every d <= 100 not divisible by 3 (a few minutes: the integer query grows with d)."""
    for d in range(4, 101):
        if d % 3:
            assert _chord_program(d) == (z3.unsat, z3.sat), d


def test_a_negative_width_bound_is_refused():
    """sup_width < 0 made the lemmas (which compare squares) pass vacuously: refused before any proof, for the
    Lipschitz class (chord branch and sum-of-squares branch) and the monotone intersection (found by review)."""
    for cls, d in (("lipschitz", 4), ("lipschitz", 2), ("lipschitz", 5), ("monotone_lipschitz", 3)):
        cert = {
            "type": "bound",
            "class": cls,
            "params": {"d": d, "L": 1, "norm": "2"},
            "question": "approx",
            "sup_width": "-8/5",
            "eps_abs": "0",
        }
        rep = verify_certificate(cert)
        assert not rep.ok and "sup_width >= 0" in str(rep.checks), (cls, d)
    assert not prove_lipschitz_width(4, "2", Fraction(1), Fraction(-8, 5), 10000)[0]


def test_beyond_the_checked_dimensions_the_engine_keeps_the_sum_of_squares_bound():
    tri = widest_triangle(101, "2")
    assert tri.upper_sq is None and tri.upper == pytest.approx(math.sqrt(2 * 101 / 3))


@pytest.mark.parametrize("u0", [Fraction(1, 4), Fraction(2, 5), Fraction(9, 20)])
def test_the_chord_lemma_holds_for_any_breakpoint(u0):
    """The per-coordinate lemma does not depend on where the chords break (convexity of (1 - sqrt p)^2)."""
    ok, detail = chord_lemma(u0, 60000)
    assert ok, detail


def test_the_lipschitz_answer_flips_within_the_gap():
    """lipschitz, 2-norm, d = 4: "yes" just above the proved bound (certificate verified, via the chord lemma),
    "no" just below the witness (verified), "open" only in between."""
    fc = get_class("lipschitz", d=4, L=2.0)
    tri = fc.widest_triangle()
    assert tri.upper_sq is not None
    yes = _class_abs(fc, float(math.sqrt(tri.upper_sq)) * (1 + 1e-12))  # eps_abs = L T / 2 with L = 2
    assert yes.verdict == "yes" and verify_certificate(yes.certificate).ok
    assert "chord lemma" in str(verify_certificate(yes.certificate).checks)
    no = _class_abs(fc, tri.lower * (1 - 1e-7))
    assert no.verdict == "no" and verify_certificate(no.certificate).ok
    assert _class_abs(fc, tri.lower * (1 + 1e-13)).verdict == "open"
