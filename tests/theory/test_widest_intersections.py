"""The widest value range W of the Lipschitz intersections (theory/_widest.py, eps in units of f): the stated
instances attain it, random visualizations never exceed it, the class answer flips exactly at W = 2 eps_abs with
certificates the independent verifier accepts, and the verifier refuses a bound below W."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import z3
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_certificate
from counterexamples.verify._intersection_width import _unsat, one_norm_convex_width, one_norm_summed
from theory import FeatureVisualization, get_class
from theory._check import _class_abs
from theory._widest import for_class

EXACT = [
    *[
        ("monotone_lipschitz", d, p)
        for d, p in [(1, "2"), (2, "2"), (3, "2"), (4, "2"), (5, "2"), (3, "1"), (4, "inf")]
    ],
    *[
        ("convex_lipschitz", d, p)
        for d, p in [(1, "1"), (2, "2"), (2, "inf"), (2, "1"), (3, "1"), (4, "1"), (5, "1"), (8, "1"), (3, "inf")]
    ],
]
ORD = {"1": 1, "2": 2, "inf": np.inf}


def _width(cls: str, d: int, p: str, L: float) -> float:
    wide = for_class(cls, d, p)
    assert wide is not None
    return L * math.sqrt(wide.lower_sq)


@pytest.mark.parametrize(
    ("cls", "d", "p"),
    [
        *EXACT,
        *[
            ("convex_lipschitz", d, p)
            for d, p in [(3, "2"), (4, "2"), (5, "2"), (7, "2"), (4, "1"), (5, "1"), (7, "1")]
        ],
    ],
)
def test_the_instance_attains_the_lower_end(cls: str, d: int, p: str) -> None:
    L = 1.3
    wide = for_class(cls, d, p)
    assert wide is not None
    delta = L * float(wide.delta_over_L if wide.delta_over_L is not None else math.sqrt(wide.lower_sq))
    vr = get_class(cls, d=d, L=L, norm=p).value_range(FeatureVisualization(wide.x_max, delta, wide.x_min, 0.0), wide.x)
    assert vr.width == pytest.approx(_width(cls, d, p, L), rel=1e-7)


@pytest.mark.parametrize(("cls", "d", "p"), EXACT)
def test_the_class_answer_flips_exactly_at_W(cls: str, d: int, p: str) -> None:
    """Just above W = 2 eps_abs a verified bound no wider than 2 eps_abs; just below a verified counterexample."""
    L = 1.3
    w = _width(cls, d, p, L)
    fc = get_class(cls, d=d, L=L, norm=p)
    yes = _class_abs(fc, w / 2 * (1 + 1e-9))
    assert yes.verdict == "yes", yes.reason
    assert verify_certificate(yes.certificate).ok
    assert w * (1 - 1e-12) <= float(Fraction(yes.certificate["sup_width"])) <= w * (1 + 1e-9)
    no = _class_abs(fc, w / 2 * (1 - 1e-6))
    assert no.verdict == "no", no.reason
    assert verify_certificate(no.certificate).ok


def test_exact_tie_and_the_bracket() -> None:
    """Convex and 1-Lipschitz in d = 2: W = 1 exactly (2-norm), so eps_abs = 1/2 is "yes"; W = 9/8 (1-norm), so
    9/16 is "yes" and just below "no". In d = 3 (2-norm) W is bracketed, [sqrt(1 + (805/1024)^2), 1272021/10^6]:
    "no" below 0.636, "open" inside, "yes" above; in d = 6 (no boxes) "yes" from T/2 on."""
    two = _class_abs(get_class("convex_lipschitz", d=2, L=1.0), 0.5)
    assert two.verdict == "yes" and two.certificate["sup_width"] == "1"
    one = get_class("convex_lipschitz", d=2, L=1.0, norm="1")
    assert _class_abs(one, 0.5625).certificate["sup_width"] == "9/8"
    assert _class_abs(one, 0.56).verdict == "no"
    three = get_class("convex_lipschitz", d=3, L=1.0)
    assert _class_abs(three, 0.635).verdict == "no"
    opened = _class_abs(three, 0.636007)  # inside [1.272008, 1.272021] / 2 (tests/theory/test_convex_boxes.py)
    assert opened.verdict == "open" and "bracketed" in opened.reason
    assert _class_abs(three, 0.71).verdict == "yes"
    six = get_class("convex_lipschitz", d=6, L=1.0)  # no tree of boxes: open up to T / 2 = 1
    assert _class_abs(six, 0.95).verdict == "open" and _class_abs(six, 1.0).verdict == "yes"


def test_products_of_blocks_are_superadditive() -> None:
    """The lower ends of the brackets: the 1-norm adds the blocks' widths, the 2-norm their squares (up to the
    rounding of the weights, 1e-9); every lower end stays at most the Lipschitz bound T, and the docs' table quotes
    the 2-norm values."""
    w1 = {d: _width("convex_lipschitz", d, "1", 1.0) for d in range(1, 10)}
    w2 = {d: _width("convex_lipschitz", d, "2", 1.0) ** 2 for d in range(1, 10)}
    for d in range(2, 10):
        for a in range(1, d):
            assert w1[d] >= w1[a] + w1[d - a] - 1e-12
            assert w2[d] >= (w2[a] + w2[d - a]) * (1 - 1e-8)
        tri = get_class("lipschitz", d=d, L=1.0, norm="2").widest_triangle()
        assert math.sqrt(w2[d]) <= float(tri.upper)
    assert [w1[d] for d in (4, 5, 7)] == [2.5, 3.125, 4.5]
    page = (Path(__file__).parents[2] / "docs" / "theory.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| convex, 2-norm, d >= 4"))
    quoted = [float(v) for v in re.findall(r"(\d\.\d{4}) \(", row)]
    assert quoted == [round(math.sqrt(w2[d]), 4) for d in range(4, 9)]
    gaps = [float(get_class("lipschitz", d=d, L=1.0).widest_triangle().upper) - math.sqrt(w2[d]) for d in range(3, 10)]
    said = f"is {gaps[0]:.2f} L\nwide in d = 3, {min(gaps[1:]):.2f} to {max(gaps[1:]):.2f} L in d = 4 to 9"
    assert " ".join(said.split()) in " ".join(page.split())


@pytest.mark.parametrize(
    ("cls", "d", "p"),
    [
        ("monotone_lipschitz", 3, "2"),
        *[("convex_lipschitz", d, p) for d, p in [(2, "2"), (2, "1"), (4, "1"), (7, "1")]],
    ],
)
def test_a_bound_below_W_is_refused(cls: str, d: int, p: str) -> None:
    fc = get_class(cls, d=d, L=1.0, norm=p)
    cert = dict(_class_abs(fc, 10.0).certificate)
    assert cert["type"] == "bound" and verify_certificate(cert).ok
    low = Fraction(_width(cls, d, p, 1.0)).limit_denominator(1000) * Fraction(99, 100)
    rep = verify_certificate({**cert, "sup_width": str(low)})
    assert not rep.ok


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.sampled_from(["1", "2", "inf"]), st.data())
def test_monotone_ranges_never_exceed_L_rho(d: int, p: str, data: st.DataObject) -> None:
    """Property: random consistent visualizations and points of the monotone class have ranges <= L rho."""
    unit = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=d, max_size=d)
    xmin, xmax, x = (np.array(data.draw(unit)) for _ in range(3))
    top = np.linalg.norm(np.maximum(xmax - xmin, 0.0), ord=ORD[p])
    assume(top > 1e-6)
    L = data.draw(st.floats(0.1, 10.0))
    delta = L * top * data.draw(st.floats(0.01, 1.0))
    vr = get_class("monotone_lipschitz", d=d, L=L, norm=p).value_range(FeatureVisualization(xmax, delta, xmin, 0.0), x)
    assert vr.width <= _width("monotone_lipschitz", d, p, L) * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_convex_ranges_in_the_square_never_exceed_L(data: st.DataObject) -> None:
    """Property: convex and L-Lipschitz (2-norm) on [0,1]^2, x_max a vertex or on an edge, random x_min and x: every
    range is at most L wide (the exact conic range of the engine)."""
    unit = st.floats(0.0, 1.0, allow_nan=False)
    xmin, x = (np.array([data.draw(unit), data.draw(unit)]) for _ in range(2))
    xmax = np.array([float(data.draw(st.integers(0, 1))), data.draw(st.sampled_from([0.0, 1.0, data.draw(unit)]))])
    on_face = [k for k in range(2) if xmax[k] in (0.0, 1.0)]
    top = float(np.linalg.norm((xmax - xmin)[on_face]))
    assume(top > 1e-3)
    L = data.draw(st.floats(0.1, 10.0))
    delta = L * top * data.draw(st.floats(0.05, 1.0))
    vr = get_class("convex_lipschitz", d=2, L=L).value_range(FeatureVisualization(xmax, delta, xmin, 0.0), x)
    assert vr.width <= L * (1 + 1e-6)


@pytest.mark.parametrize(
    ("cls", "d", "p", "eps_abs", "verdict"),
    [
        ("convex_lipschitz", 6, "1", 0.1, "no"),  # Delta = 4L is capped at 1e150; the width scales down with it
        ("convex_lipschitz", 6, "1", 0.99e150, "open"),  # a range wider than 1.98e150 needs Delta beyond 1e150
        ("monotone_lipschitz", 9, "1", 0.99e150, "open"),
        ("lipschitz", 3, "2", 0.68e150, "open"),
    ],
)
def test_the_largest_L_answers_without_overflow(cls: str, d: int, p: str, eps_abs: float, verdict: str) -> None:
    """L = 1e150 (the largest allowed): counterexamples never hold a Delta beyond the representable magnitude (it
    raised ValueError before)."""
    ans = _class_abs(get_class(cls, d=d, L=1e150, norm=p), eps_abs)
    assert ans.verdict == verdict, ans.reason
    if verdict == "no":
        assert verify_certificate(ans.certificate).ok
    else:
        assert "beyond" in ans.reason


def test_one_norm_width_is_exact_in_every_d() -> None:
    """Convex and L-Lipschitz, 1-norm: the blocks' lower end equals the verifier's bound 2k, 2k + 1/2, 2k + 9/8
    (d = 3k, 3k + 1, 3k + 2) for every d <= 100, and that bound is the optimum of the summed types (E4: unsat at W,
    sat just below), so the proof loses nothing."""
    for d in range(1, 101):  # every d the command line accepts
        wide = for_class("convex_lipschitz", d, "1")
        assert wide is not None and wide.exact
        assert wide.lower_sq == one_norm_convex_width(d) ** 2
        w = one_norm_convex_width(d)
        assert _unsat(one_norm_summed(d, w), 10000) == z3.unsat
        assert _unsat(one_norm_summed(d, w - Fraction(1, 1000)), 10000) == z3.sat


@pytest.mark.parametrize("d", [-3, 0, 4.9, True, "4.0", " 4", 10**6])
def test_a_bound_certificate_needs_a_dimension_in_range(d: object) -> None:
    """d <= 0 made some width lemmas vacuous (the counts of the summed query cannot add up to d < 0): a bound
    certificate must name an integer d in 1..1000, or it fails before any proof is tried."""
    fc = get_class("convex_lipschitz", d=4, L=1.0, norm="1")
    cert = dict(_class_abs(fc, 10.0).certificate)
    assert verify_certificate(cert).ok
    rep = verify_certificate({**cert, "params": {**cert["params"], "d": d}, "sup_width": "-2", "eps_abs": "-1"})
    assert not rep.ok
    assert "input dimension" in str(rep.checks)


@settings(max_examples=300, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.sampled_from([1, -1]))
def test_every_coordinate_has_a_type(a: float, x: float, m: float, sign: int) -> None:
    """Property (the lemma E3 that z3 proves): per coordinate alpha, beta, gamma <= 1 and, with A = alpha + beta and
    g = max(gamma, 0), A <= 1 or A + 6g <= 2 or 3A + 2g <= 4."""
    s = max(a * (1 - x), -a * x)
    w_m, w_x = (1 - m, 1 - x) if sign > 0 else (m, x)
    alpha, beta, gamma = a * (x - m), w_m - s, w_x - s
    big_a, g, tol = alpha + beta, max(gamma, 0.0), 1e-12
    assert max(alpha, beta, gamma) <= 1 + tol
    assert big_a <= 1 + tol or big_a + 6 * g <= 2 + tol or 3 * big_a + 2 * g <= 4 + tol


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_convex_one_norm_ranges_in_d4_never_exceed_5_halves_L(data: st.DataObject) -> None:
    """Property: convex and L-Lipschitz (1-norm) on [0,1]^4, x_max a vertex, x_min, x (grid points or random) and
    Delta up to the consistency limit: every exact range of the engine is at most 5/2 L wide."""
    coord = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.floats(0.0, 1.0, allow_nan=False))
    unit = st.lists(coord, min_size=4, max_size=4)
    xmin, x = np.array(data.draw(unit)), np.array(data.draw(unit))
    xmax = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=4, max_size=4)))
    top = float(np.abs(xmax - xmin).sum())
    assume(top > 1e-3)
    L = data.draw(st.floats(0.1, 10.0))
    delta = L * top * data.draw(st.floats(0.05, 1.0))
    vr = get_class("convex_lipschitz", d=4, L=L, norm="1").value_range(FeatureVisualization(xmax, delta, xmin, 0.0), x)
    assert vr.width <= 2.5 * L * (1 + 1e-6)
