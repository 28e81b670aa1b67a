"""Convex and L-Lipschitz, 2-norm, d = 3 to 5: the upper end of the widest range W from a tree of boxes
(theory/_convex_boxes.py). The stored trees verify (engine and verifier, independently), nothing below the stated
bound verifies in d = 3, the class answer flips at the bound, the inner maximum G_theta is a true upper bound of
the subgradient bound, and the engine's exact ranges never exceed the bound."""

from __future__ import annotations

import copy
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_certificate
from counterexamples.verify._convex_boxes import check_boxes
from theory import FeatureVisualization, get_class
from theory._check import _class_abs
from theory._convex_boxes import DATA, THETA_N, certificate_part, check, prove, stored
from theory._widest import for_class


@pytest.mark.parametrize("d", [3, 4, 5])
def test_stored_trees_prove_their_bounds_twice(d: int) -> None:
    sup, n, tree = stored(d)
    s, detail = check_boxes(d, certificate_part(d))
    assert s == sup and "cover" in detail
    assert check(d, sup, n, tree)
    wide = for_class("convex_lipschitz", d, "2")
    assert wide is not None and wide.upper_sq == sup * sup
    assert wide.lower_sq <= sup * sup  # the bracket is not empty


def test_nothing_below_the_bound_verifies_in_d3() -> None:
    """W >= sqrt(1 + t^2) = 1.272008 (the instance), so no tree can prove 1.2720, and this one does not."""
    sup, n, tree = stored(3)
    assert not check(3, Fraction(12720, 10000), n, tree)
    part = {**certificate_part(3), "sup_over_L": "1272/1000"}
    assert check_boxes(3, part)[0] is None


def test_the_tree_regenerates() -> None:
    """python -m theory._convex_boxes is deterministic: the d = 3 tree is found again (about 6 s)."""
    sup, n, tree = stored(3)
    assert prove(3, float(sup), n) == tree


@pytest.mark.parametrize(("d", "exact"), [(1, 0.5), (2, 1.0)])
def test_the_relaxation_reaches_the_exact_value_in_d1_d2(d: int, exact: float) -> None:
    """Where W is known exactly the same search proves W + 1e-5 (the relaxation loses nothing there)."""
    target = exact + 1e-5
    tree = prove(d, target, max_boxes=20000)
    assert tree is not None
    assert check(d, Fraction(target), THETA_N, tree)


@pytest.mark.parametrize(
    ("eps_abs", "verdict"), [(0.636, "no"), (0.636007, "open"), (0.636011, "yes"), (0.7, "yes"), (0.71, "yes")]
)
def test_the_class_answer_flips_at_the_box_bound(eps_abs: float, verdict: str) -> None:
    """d = 3: the lower end 1.272008 / 2 = 0.636004, the box bound 1.272021 / 2 = 0.6360105, T / 2 = 0.7071."""
    fc = get_class("convex_lipschitz", d=3, L=1.0, norm="2")
    ans = _class_abs(fc, eps_abs)
    assert ans.verdict == verdict
    if verdict != "open":
        rep = verify_certificate(ans.certificate)
        assert rep.ok, [c for c in rep.checks if not c.ok]
    if verdict == "yes" and eps_abs < 0.7071:
        assert "boxes" in ans.certificate


def test_tampered_trees_fail() -> None:
    fc = get_class("convex_lipschitz", d=3, L=1.0, norm="2")
    cert = _class_abs(fc, 0.64).certificate
    assert verify_certificate(cert).ok
    tree = cert["boxes"]["tree"]
    leaf = next(i for i, t in enumerate(tree) if isinstance(t, list))
    bad_leaf = copy.deepcopy(cert)
    bad_leaf["boxes"]["tree"][leaf] = [0, 0]  # theta = (0, 0, 1): too weak somewhere
    changes = [
        {**cert, "sup_width": "1.27"},
        {**cert, "boxes": {**cert["boxes"], "sup_over_L": "1.27"}},
        {**cert, "boxes": {**cert["boxes"], "tree": tree[:-1]}},
        {**cert, "boxes": {**cert["boxes"], "tree": [*tree, [1, 1]]}},
        {**cert, "boxes": {**cert["boxes"], "tree": [True, *tree[1:]]}},
        {**cert, "boxes": {**cert["boxes"], "tree": [6, *tree[1:]]}},
        {**cert, "boxes": {**cert["boxes"], "theta_denominator": 10**9}},
        {**cert, "boxes": {**cert["boxes"], "theta_denominator": 23}},
        {**cert, "boxes": "nothing"},
        bad_leaf,
    ]
    for bad in changes:
        assert not verify_certificate(bad).ok


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=12, max_size=12), st.lists(st.floats(-1, 1), min_size=6, max_size=6),
       st.floats(0, 1), st.floats(0, 1))  # fmt: skip
def test_g_theta_bounds_the_three_subgradient_terms(xm: list[float], ah: list[float], u: float, w: float) -> None:
    """Property: for |a| <= 1 and h >= 0, |h| <= 1, theta.(P, Q, R) <= G_theta(x, m) (the inner maximum)."""
    x, m = np.array(xm[:3]), np.array(xm[3:6])
    a, h = np.array(ah[:3]), np.abs(np.array(ah[3:]))
    a, h = a / max(1.0, float(np.linalg.norm(a))), h / max(1.0, float(np.linalg.norm(h)))
    th = np.array([u * w, u * (1 - w), 1 - u])
    s_a = float(np.sum(np.maximum(a * (1 - x), -a * x)))
    P, Q, R = a @ (x - m), h @ (1 - m) - s_a, h @ (1 - x) - s_a
    t23 = th[1] + th[2]
    p = np.maximum(np.maximum(th[0] * (x - m) - t23 * (1 - x), -th[0] * (x - m) - t23 * x), 0)
    G = np.linalg.norm(p) + np.linalg.norm(th[1] * (1 - m) + th[2] * (1 - x))
    assert th @ np.array([P, Q, R]) <= G + 1e-12


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=9, max_size=9), st.floats(0.05, 1.0))
def test_random_ranges_stay_below_the_box_bound(pts: list[float], frac: float) -> None:
    """The engine's exact ranges (convex and 1-Lipschitz, d = 3) at random visualizations and x: never wider than
    1272021/1000000."""
    xmin, xmax, x = np.array(pts[:3]), np.array(pts[3:6]), np.array(pts[6:])
    D = float(np.linalg.norm(xmax - xmin))
    if D == 0:
        return
    fc = get_class("convex_lipschitz", d=3, L=1.0, norm="2")
    fv = FeatureVisualization(xmax, D * frac, xmin, 0.0)
    if not fc.is_consistent(fv):
        return
    vr = fc.value_range(fv, x)
    assert vr.width <= 1.272021 + 1e-9


def test_the_docs_quote_the_stored_bounds() -> None:
    page = (Path(__file__).parents[2] / "docs" / "theory.md").read_text(encoding="utf-8")
    flat = " ".join(page.split())
    raw = json.loads(DATA.read_text(encoding="utf-8"))["trees"]
    for d in (3, 4, 5):
        sup = Fraction(raw[str(d)]["sup"])
        leaves = sum(1 for t in raw[str(d)]["tree"] if not isinstance(t, int))
        assert f"{sup.numerator}/{sup.denominator}" in flat
        assert f"{leaves} boxes" in flat
        lower = math.sqrt(for_class("convex_lipschitz", d, "2").lower_sq)
        gap = float(sup) - lower
        said = f"{gap:.6f}" if d == 3 else f"{gap:.3f}"
        assert f"{said} L in d = {d}" in flat, said
