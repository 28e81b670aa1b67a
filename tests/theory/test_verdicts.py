"""Class verdicts agree with instance verdicts (issue 24.1-24.4): exact answered sets, "open", ties, input forms.

Closed forms used here (docs/theory.md, "Fixed eps"): for L-Lipschitz f with the visualization, at x
    hi - lo = min(Delta, L r_min, L r_max, L (r_min + r_max) - Delta),   r_min = ||x - x_min||, r_max = ||x - x_max||;
"closer to min or max" is answered iff Delta = 0, or L min(r_min, r_max) < Delta/2, or L r_min = L r_max = Delta/2.
"""

from __future__ import annotations

import os
import zlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from counterexamples.verify import verify_bound, verify_counterexample
from theory import FeatureVisualization, check_class, get_class, value_range
from theory._check import _class_abs

PNORM = {"1": 1, "2": 2, "inf": np.inf}
unit = st.floats(0.0, 1.0, allow_nan=False)


def _dist(a, b, norm):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b), ord=PNORM[norm]))


@st.composite
def lipschitz_instances(draw):
    d = draw(st.integers(1, 4))
    norm = draw(st.sampled_from(["1", "2", "inf"]))
    xmax = np.array(draw(st.lists(unit, min_size=d, max_size=d)))
    xmin = np.array(draw(st.lists(unit, min_size=d, max_size=d)))
    x = np.array(draw(st.lists(unit, min_size=d, max_size=d)))
    D = _dist(xmax, xmin, norm)
    assume(D > 1e-3)
    L = draw(st.floats(0.1, 10.0))
    fmin = draw(st.floats(-5.0, 5.0))
    delta = L * D * draw(st.floats(0.01, 1.0))  # consistent: Delta <= L ||x_max - x_min||
    return d, norm, L, FeatureVisualization(xmax, fmin + delta, xmin, fmin), x


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lipschitz_instances(), st.floats(0.01, 0.49))
def test_lipschitz_width_and_instance_verdicts_follow_the_closed_form(inst, eps):
    d, norm, L, fv, x = inst
    r_min, r_max, D = _dist(x, fv.x_min, norm), _dist(x, fv.x_max, norm), fv.delta
    width = max(0.0, min(D, L * r_min, L * r_max, L * (r_min + r_max) - D))
    vr = value_range("lipschitz", fv, x, L=L, norm=norm)
    assert vr.width == pytest.approx(width, rel=1e-9, abs=1e-12 * D)
    rep = check_class("lipschitz", fv=fv, x=list(x), L=L, norm=norm, eps=eps)  # d from the visualization
    margin = abs(width - 2 * eps * D)
    if margin > 1e-7 * D:  # away from the boundary the float comparison is unambiguous
        assert (rep["approx"].verdict == "yes") == (width <= 2 * eps * D)
    m = min(L * r_min, L * r_max)
    if abs(m - D / 2) > 1e-7 * D:
        assert (rep["min_or_max"].verdict == "yes") == (m < D / 2)
    lip = get_class("lipschitz", d=d, L=L, norm=norm)
    assert lip.approximable(fv, x, eps) == (rep["approx"].verdict == "yes") or margin <= 1e-7 * D
    assert lip.decided(fv, x) == (rep["min_or_max"].verdict == "yes") or abs(m - D / 2) <= 1e-7 * D


# ---- class verdicts never contradict instance verdicts -------------------------------------------------------
CLASSES = [
    ("lipschitz", {"L": 1.0, "norm": 2}),
    ("lipschitz", {"L": 2.0, "norm": "inf"}),
    ("monotone_lipschitz", {"L": 1.0, "norm": 2}),
    ("black_box", {}),
    ("monotonic", {}),
    ("affine", {}),
    ("constant", {}),
    ("smooth", {"L": 1.0}),
    ("quadratic", {}),
]
EPS = [0.05, 0.1, 0.25, 0.3, 0.45]


def _class_verdicts(name, params, d):
    return {eps: check_class(name, d=d, eps=eps, **params) for eps in EPS}


_CACHE: dict = {}


def _cached(name, params, d):
    key = (name, tuple(sorted(params.items())), d)
    if key not in _CACHE:
        _CACHE[key] = _class_verdicts(name, params, d)
    return _CACHE[key]


@pytest.mark.parametrize("name,params", CLASSES, ids=[f"{n}-{p}" for n, p in CLASSES])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_class_and_instance_verdicts_never_contradict(name, params, d):
    seed = os.environ.get("FVTRUST_TEST_SEED", "0")
    if name in ("smooth", "quadratic") and d == 3:
        pytest.skip("d = 3 adds nothing for these classes here (smooth: as in d = 2; quadratic is slow)")
    reports = _cached(name, params, d)
    fc = get_class(name, d=d, **params)
    rng = np.random.default_rng(zlib.crc32(f"{name}{d}{seed}".encode()))
    checked = 0
    for _ in range(60):
        a, b, x = rng.random(d), rng.random(d), rng.random(d)
        if rng.random() < 0.3:  # vertices too
            a, b = np.round(a), np.round(b)
        if name == "monotone_lipschitz" or name == "monotonic":
            a, b = np.maximum(a, b), np.minimum(a, b)
        delta = 0.0 if name == "constant" else float(rng.choice([0.05, 0.3, 1.0, 3.0]))
        if np.array_equal(a, b) and delta:
            continue
        fv = FeatureVisualization(a, 1.0 + delta, b, 1.0)
        try:
            if not fc.is_consistent(fv):
                continue
        except ValueError:  # smooth d >= 2: consistency undecided
            continue
        checked += 1
        for eps, rep in reports.items():
            inst = check_class(fc, fv=fv, x=x, eps=eps)
            for q in ("exact", "approx", "min_or_max") if eps == EPS[0] else ("approx",):
                cv, iv = rep[q].verdict, inst[q].verdict
                if cv == "yes":
                    assert iv == "yes", (name, d, eps, q, fv, x)
                if iv == "no":
                    assert cv != "yes"
                if cv == "depends" and name == "lipschitz":
                    pred = fc.approximable(fv, x, eps) if q == "approx" else fc.decided(fv, x)
                    assert pred == (iv == "yes")
    assert checked >= 3  # random quadratic visualizations are often inconsistent


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_lipschitz_fixed_eps_is_depends_in_every_dimension(d, eps):
    ans = check_class("lipschitz", d=d, L=1.0, eps=eps)["approx"]
    assert ans.verdict == "depends"
    cert = ans.certificate
    assert "L (r_min + r_max) - Delta" in cert["condition"]
    assert cert["below"]["approximable"] is True
    above = cert["above"]
    assert above["disagreement"] > 2 * eps


def test_issue_example_no_longer_contradicts():
    fv = FeatureVisualization((1, 1), 2**0.5, (0, 0), 0)
    inst = check_class("lipschitz", fv=fv, x=(0.25, 0), L=1, eps=0.1)  # no d: taken from the visualization
    assert inst["approx"].verdict == "yes"
    assert check_class("lipschitz", d=2, L=1, eps=0.1)["approx"].verdict == "depends"


# ---- "open" and quadratic d = 1 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "eps,verdict", [(0.05, "no"), (0.2, "no"), (0.249, "no"), (0.2499999999, "no"), (0.25, "yes"), (0.3, "yes")]
)
def test_quadratic_d1_fixed_eps(eps, verdict):
    ans = check_class("quadratic", d=1, eps=eps)["approx"]
    assert ans.verdict == verdict
    if verdict == "yes":
        assert ans.certificate["type"] == "bound" and ans.certificate["sup_width"] == "1/2"
    else:  # also within the engine's float tolerance of the bound (it answered "open" there)
        assert ans.certificate["disagreement"] == pytest.approx(0.5)
        assert verify_counterexample(ans.certificate).ok


def test_quadratic_d1_bound_is_attained_and_never_exceeded():
    rng = np.random.default_rng(3)
    fc = get_class("quadratic", d=1)
    worst = 0.0
    for a, b in [(1.0, 0.0), (0.0, 1.0), (0.7, 0.0), (1.0, 0.3)] + [tuple(rng.random(2)) for _ in range(6)]:
        fv = FeatureVisualization([a], 1.0, [b], 0.0)
        if not fc.is_consistent(fv):
            continue
        for t in np.linspace(0, 1, 9):
            worst = max(worst, fc.value_range(fv, [t]).width)
    assert worst == pytest.approx(0.5, abs=1e-8) and worst <= 0.5 + 1e-8


def test_open_is_not_depends():
    ans = check_class("convex_lipschitz", d=4, L=1.0, eps_abs=0.72)["approx"]  # W bracketed: 2-norm, d = 4
    assert ans.verdict == "open" and ans.certificate["type"] == "open"
    none = check_class("quadratic", d=1)["approx"]
    assert none.verdict == "depends" and none.certificate["condition"] == "eps >= 1/4"


# ---- ties (24.3) --------------------------------------------------------------------------------------------
def test_lipschitz_tie_at_the_smallest_L_is_answered():
    fv = FeatureVisualization([1.0], 1.0, [0.0], 0.0)  # L_min = 1
    rep = check_class("lipschitz", fv=fv, x=[0.5], L=1.0)
    assert rep["min_or_max"].verdict == "yes" and "tie" in rep["min_or_max"].reason
    assert get_class("lipschitz", d=1, L=1.0).decided(fv, np.array([0.5]))
    # just above L_min the midpoint is undecided
    assert check_class("lipschitz", fv=fv, x=[0.5], L=1.001)["min_or_max"].verdict == "no"


def test_lipschitz_at_L_star_without_tie_is_not_answered():
    fv = FeatureVisualization([1.0], 1.0, [0.0], 0.0)
    x = [0.25]  # L*(x) = Delta / (2 * 0.25) = 2: at L = L* the range [0, 1/2] touches c from below
    assert check_class("lipschitz", fv=fv, x=x, L=2.0)["min_or_max"].verdict == "no"
    assert check_class("lipschitz", fv=fv, x=x, L=1.999)["min_or_max"].verdict == "yes"
    assert not get_class("lipschitz", d=1, L=2.0).decided(fv, np.array(x))


def test_lipschitz_zero_delta_is_always_answered():
    fv = FeatureVisualization([0.2, 0.9], 3.0, [0.7, 0.1], 3.0)
    rep = check_class("lipschitz", fv=fv, x=[0.5, 0.5], L=1.0, eps=0.1)
    assert rep["min_or_max"].verdict == "yes" and rep["approx"].verdict == "yes" and rep["exact"].verdict == "yes"


@pytest.mark.parametrize(
    "cls, fv, x, L, above",
    [
        ("monotone_lipschitz", FeatureVisualization([1.0, 1.0], 2**0.5, [0.0, 0.0], 0.0), [0.5, 0.5], 1.0, 1.001),
        ("smooth", FeatureVisualization([0.75], 1.0, [0.25], 0.0), [0.5], 16.0, 16.02),
    ],
)
def test_ties_at_L_star_are_answered_and_stated(cls, fv, x, L, above):
    """At L = L*(x) with both bounds equal to c the answer is the tie, as the class's stated condition says; a
    slightly larger L leaves the instance undecided."""
    assert (ans := check_class(cls, fv=fv, x=x, L=L)["min_or_max"]).verdict == "yes" and "tie" in ans.reason
    assert check_class(cls, fv=fv, x=x, L=above)["min_or_max"].verdict == "no"
    condition = get_class(cls, d=fv.d, L=L).region_condition()
    assert "only the tie" in condition and "Delta = 0 is always answered" in condition


def test_tie_off_the_segment_needs_L_below_L_min():
    """In the 2-norm an equidistant x off the segment has r_min + r_max > ||x_max - x_min||: never a tie."""
    fv = FeatureVisualization([1.0, 0.0], 1.0, [0.0, 0.0], 0.0)
    for L in (1.0, 1.5, 3.0):
        assert check_class("lipschitz", fv=fv, x=[0.5, 0.2], L=L)["min_or_max"].verdict == "no"


# ---- input forms (24.4) -------------------------------------------------------------------------------------
@pytest.mark.parametrize("x", [[0.25, 0.0], (0.25, 0.0), np.array([0.25, 0.0]), [0.25, 0]])
def test_instances_take_d_from_the_visualization(x):
    fv = FeatureVisualization([1, 1], 2**0.5, [0, 0], 0)
    rep = check_class("lipschitz", fv=fv, x=x, L=1, eps=0.1)
    assert rep.cls.d == 2 and rep["approx"].verdict == "yes"


@pytest.mark.parametrize("bad", [[True, 0.0], (False, 1.0), np.array([True, False]), True])
def test_boolean_points_are_refused(bad):
    fv = FeatureVisualization([1, 1], 1.0, [0, 0], 0)
    with pytest.raises(ValueError, match="boolean"):
        check_class("lipschitz", fv=fv, x=bad, L=1)


def test_boolean_values_and_eps_are_refused():
    with pytest.raises(ValueError, match="not a number"):
        FeatureVisualization([1.0], True, [0.0], 0.0)
    with pytest.raises(ValueError, match="eps"):
        check_class("lipschitz", d=1, eps=True)
    with pytest.raises(ValueError, match="dimension"):
        check_class("lipschitz", fv=FeatureVisualization([1, 1], 1.0, [0, 0], 0), x=[0.5], L=1)


# ---- absolute eps (24.9) ------------------------------------------------------------------------------------------
WIDEST = [(1, "2", 0.5), (1, "1", 0.5), (2, "inf", 1.0), (3, "inf", 1.0), (2, "1", 4 / 3), (3, "1", 2.0)]
WIDEST += [(5, "1", 10 / 3), (2, "2", 6**0.5 - 2**0.5), (3, "2", 2**0.5), (6, "2", 2.0)]


@pytest.mark.parametrize("d,norm,T", WIDEST)
@pytest.mark.parametrize("L", [0.25, 0.5, 1.0, 2.0])
def test_lipschitz_absolute_eps_is_yes_exactly_for_small_L(d, norm, T, L):
    eps_abs = 0.3
    ans = check_class("lipschitz", d=d, L=L, norm=norm, eps_abs=eps_abs)["approx"]
    small = L * T <= 2 * eps_abs  # noqa: SIM300
    assert ans.verdict == ("yes" if small else "no")
    if ans.verdict == "no":  # the counterexample's range is wider than 2 eps_abs, and no wider than L T
        delta = float(Fraction(ans.certificate["fv"]["f_max"]))
        assert 2 * eps_abs < ans.certificate["disagreement"] * delta <= L * T * (1 + 1e-12)
    else:  # the proved bound lies between L T and 2 eps_abs
        assert L * T * (1 - 1e-12) <= float(Fraction(ans.certificate["sup_width"])) <= 2 * eps_abs


@pytest.mark.parametrize("d,norm,T", [(2, "1", 4 / 3), (2, "2", 6**0.5 - 2**0.5), (3, "2", 2**0.5)])
def test_lipschitz_absolute_eps_threshold_is_exact(d, norm, T):
    """Just below L = 2 eps_abs / T the answer is "yes", just above it "no"."""
    eps_abs = 0.3
    for L, verdict in ((2 * eps_abs / T * (1 - 1e-6), "yes"), (2 * eps_abs / T * (1 + 1e-6), "no")):
        assert check_class("lipschitz", d=d, L=L, norm=norm, eps_abs=eps_abs)["approx"].verdict == verdict


@settings(max_examples=150, deadline=None)
@given(lipschitz_instances(), st.floats(0.01, 3.0))
def test_lipschitz_absolute_eps_class_yes_implies_instance_yes(inst, eps_abs):
    d, norm, L, fv, x = inst
    # the class answer alone (check_class also builds the other two class answers, which are not under test here)
    cls = _class_abs(get_class("lipschitz", d=d, L=L, norm=norm), eps_abs).verdict
    iv = check_class("lipschitz", fv=fv, x=x, L=L, norm=norm, eps_abs=eps_abs)["approx"].verdict
    if cls == "yes":
        assert iv == "yes"
    if iv == "no":
        assert cls != "yes"
    tri = get_class("lipschitz", d=d, L=L, norm=norm).widest_triangle()  # no range is wider than L T
    assert value_range("lipschitz", fv, x, L=L, norm=norm).width <= L * tri.upper * (1 + 1e-9)


def test_absolute_eps_scale_free_classes_and_bad_input():
    assert check_class("quadratic", d=1, eps_abs=0.3)["approx"].verdict == "no"  # any Delta is allowed
    assert check_class("affine", d=1, eps_abs=0.3)["approx"].verdict == "yes"
    # T for the 2-norm in d = 4 is sqrt(8 - 4 sqrt 2) = 1.5307... up to 1e-9 in T^2 (the chord bound): 2 eps_abs / L
    # = 1.538 is above it, and only inside that gap is the answer open
    assert check_class("lipschitz", d=4, L=0.65, eps_abs=0.5)["approx"].verdict == "yes"
    tri = get_class("lipschitz", d=4, L=1.0).widest_triangle()
    assert check_class("lipschitz", d=4, L=1.0, eps_abs=tri.lower / 2 * (1 + 1e-13))["approx"].verdict == "open"
    with pytest.raises(ValueError, match="not both"):
        check_class("lipschitz", d=1, eps=0.1, eps_abs=0.1)
    with pytest.raises(ValueError, match="eps_abs"):
        check_class("lipschitz", d=1, eps_abs=-1.0)


def test_convex_lipschitz_inherits_the_absolute_yes_where_its_widest_range_is_bracketed():
    """Where the class's own widest range W is only bracketed and no tree of boxes bounds it (convex and
    L-Lipschitz, d = 6; theory/_widest.py), L T <= 2 eps_abs still answers "yes" (every member is L-Lipschitz); the
    instance attaining W's lower end is a verified "no" below it; in between the answer is "open"."""
    fc = get_class("convex_lipschitz", d=6, L=1)
    big = _class_abs(fc, 10.0)
    assert big.verdict == "yes" and big.certificate["class"] == "convex_lipschitz" and big.certificate["via_superclass"]
    assert verify_bound(big.certificate).ok
    small = _class_abs(fc, 0.85)
    assert small.verdict == "no" and verify_counterexample(small.certificate).ok
    assert _class_abs(fc, 0.95).verdict == "open"


@pytest.mark.parametrize("L", [0.5, 1.0, 7.0])
def test_smooth_absolute_eps_d1_is_yes_exactly_for_L_at_most_8_eps_abs(L):
    """d = 1: every range is at most L/4 wide (z3 re-proves it), attained at x = 1/2 for x_min = 0, x_max = 1,
    Delta >= L/2; so "yes" iff L/4 <= 2 eps_abs, a verified bound at the threshold and a verified counterexample of
    width L/4 just above it."""
    at = check_class("smooth", d=1, L=L, eps_abs=L / 8)["approx"]
    assert at.verdict == "yes" and Fraction(at.certificate["sup_width"]) == Fraction(L) / 4
    assert verify_bound(at.certificate).ok
    below = check_class("smooth", d=1, L=L, eps_abs=L / 8 * (1 - 1e-6))["approx"]
    assert below.verdict == "no" and verify_counterexample(below.certificate).ok
    assert float(Fraction(below.certificate["fv"]["f_max"])) * below.certificate["disagreement"] == pytest.approx(L / 4)
    tight = {**at.certificate, "sup_width": str(Fraction(L) / 4 * Fraction(99, 100))}
    assert not verify_bound(tight).ok  # a bound below L/4 is false, and z3 finds the pair


@pytest.mark.parametrize("d", [2, 3])
def test_smooth_absolute_eps_is_no_in_d2_and_up(d):
    """f_min + Delta y_1 is L-smooth for every Delta: the range at e_1 is all of [f_min, f_max], any width."""
    ans = check_class("smooth", d=d, L=1.0, eps_abs=50.0)["approx"]
    assert ans.verdict == "no" and verify_counterexample(ans.certificate).ok
    assert float(Fraction(ans.certificate["fv"]["f_max"])) > 100.0


def test_smooth_absolute_eps_at_the_largest_magnitude_is_open_not_an_error():
    """eps_abs = 1e150 (allowed) would need Delta > 1e150, which a visualization cannot hold: "open", no error."""
    ans = check_class("smooth", d=2, L=1.0, eps_abs=1e150)["approx"]
    assert ans.verdict == "open" and "needs Delta" in ans.reason


@settings(max_examples=60, deadline=None)
@given(
    xmin=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
    xmax=st.sampled_from([0.0, 0.3, 0.8, 1.0]),
    delta=st.sampled_from([0.01, 0.1, 0.5, 2.0, 30.0]),
    x=st.floats(0.0, 1.0),
    L=st.sampled_from([0.5, 1.0, 4.0]),
)
def test_smooth_d1_ranges_are_at_most_L_over_4_wide(xmin, xmax, delta, x, L):
    """The engine's closed-form ranges (d = 1) never exceed the proved width L/4, and the class's absolute "yes"
    implies the instance's."""
    assume(xmin != xmax)
    fv = FeatureVisualization([xmax], delta, [xmin], 0.0)
    if not get_class("smooth", d=1, L=L).is_consistent(fv):
        return
    assert value_range("smooth", fv, np.array([x]), L=L).width <= L / 4 * (1 + 1e-9)
    assert check_class("smooth", fv=fv, x=[x], L=L, eps_abs=L / 8)["approx"].verdict == "yes"


def test_a_d_that_conflicts_with_the_visualization_is_named():
    fv = FeatureVisualization([1, 1], 1.0, [0, 0], 0)
    with pytest.raises(ValueError, match=r"d = 3 conflicts with the visualization, whose points have dimension 2"):
        check_class("convex", fv=fv, x=[0.5, 0.5], d=3)
    assert check_class("convex", fv=fv, x=[0.5, 0.5], d=2).cls.d == 2
