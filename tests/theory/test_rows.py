"""Every row of the paper's table as an executable example checked against its closed form (PEPit style)."""

from __future__ import annotations

import numpy as np
import pytest

from theory import FeatureVisualization, check_class, value_range

FV2 = FeatureVisualization([1.0, 1.0], 1.0, [0.0, 0.0], 0.0)


@pytest.mark.parametrize("name", ["black_box", "neural_network", "erm_network", "piecewise_affine"])
def test_interpolating_classes_range_is_everything(name):
    """Theorem: at any unobserved x, f(x) ranges over all of [f_min, f_max]."""
    for x in ([0.5, 0.5], [1.0, 0.0], [0.9, 0.99]):
        r = value_range(name, FV2, x, d=2)
        assert (r.lo, r.hi) == (0.0, 1.0)
        assert r.witness_lo(np.array(x)) == pytest.approx(0.0, abs=1e-12)
        assert r.witness_hi(np.array(x)) == pytest.approx(1.0, abs=1e-12)
    # at an observed point the range is its value
    r = value_range(name, FV2, [1.0, 1.0], d=2)
    assert r.lo == r.hi == 1.0


def test_erm_witnesses_fit_their_dataset():
    r = value_range("erm_network", FV2, [1.0, 0.0], d=2)
    X = np.array([[float(eval(v)) for v in row] for row in r.extra["dataset"]["X"]])  # noqa: S307
    y = np.array([float(eval(v)) for v in r.extra["dataset"]["y"]])  # noqa: S307
    for w in (r.witness_lo, r.witness_hi):
        assert np.sum((w(X) - y) ** 2) == 0.0


@pytest.mark.parametrize(
    "norm,dist", [("1", lambda z: np.abs(z).sum()), ("2", np.linalg.norm), ("inf", lambda z: np.abs(z).max())]
)
@pytest.mark.parametrize("L", [0.8, 1.5, 4.0])
def test_lipschitz_closed_form(norm, dist, L):
    """McShane-Whitney: [max(f_min, f_max - L||x - x_max||), min(f_max, f_min + L||x - x_min||)]."""
    fv = FeatureVisualization([0.9, 0.2], 0.5, [0.1, 0.6], -0.1)
    rng = np.random.default_rng(0)
    for x in rng.random((20, 2)):
        r = value_range("lipschitz", fv, x, d=2, L=L, norm=norm)
        lo = max(fv.f_min, fv.f_max - L * dist(x - fv.x_max))
        hi = min(fv.f_max, fv.f_min + L * dist(x - fv.x_min))
        assert r.lo == pytest.approx(lo, abs=1e-12) and r.hi == pytest.approx(hi, abs=1e-12)


def test_lipschitz_certified_region_is_two_balls():
    """Corollary: decided iff ||x - x_min|| < Delta/(2L) ('min') or ||x - x_max|| < Delta/(2L) ('max')."""
    L, fv = 2.0, FeatureVisualization([1.0, 1.0], 1.0, [0.0, 0.0], 0.0)
    r0 = fv.delta / (2 * L)
    rng = np.random.default_rng(1)
    for x in rng.random((200, 2)):
        dec = value_range("lipschitz", fv, x, d=2, L=L).decision()
        if np.linalg.norm(x - fv.x_min) < r0 - 1e-9:
            assert dec == "min"
        elif np.linalg.norm(x - fv.x_max) < r0 - 1e-9:
            assert dec == "max"
        elif min(np.linalg.norm(x - fv.x_min), np.linalg.norm(x - fv.x_max)) > r0 + 1e-9:
            assert dec is None


def test_monotonic_closed_form():
    """[max{f_min, v_i : p_i <= x}, min{f_max, v_i : p_i >= x}]; interior points of the canonical FV get all."""
    r = value_range("monotonic", FV2, [0.3, 0.8], d=2)
    assert (r.lo, r.hi) == (0.0, 1.0)
    fv = FeatureVisualization([0.5, 0.5], 1.0, [0.0, 0.0], 0.0)  # the upper quadrant of x_max is forced to f_max
    assert value_range("monotonic", fv, [0.7, 0.6], d=2).lo == 1.0
    assert value_range("monotonic", fv, [0.7, 0.2], d=2).hi == 1.0
    with pytest.raises(ValueError, match="nondecreasing"):
        value_range("monotonic", FeatureVisualization([0.0, 0.0], 1.0, [1.0, 1.0], 0.0), [0.5, 0.5], d=2)


def test_convex_closed_form_d1():
    """d = 1, x_min = 0, x_max = 1: the chord bounds f, and f can stay flat: [f_min, f_min + Delta x]."""
    fv = FeatureVisualization([1.0], 2.0, [0.0], -1.0)
    for x in (0.1, 0.5, 0.8):
        r = value_range("convex", fv, [x], d=1)
        assert r.lo == pytest.approx(-1.0, abs=1e-7) and r.hi == pytest.approx(-1.0 + 3.0 * x, abs=1e-7)
    # interior minimiser: x_min = 1/2, x_max = 0; at x = 1 any value in [f_min, f_max] (V shape or flat)
    r = value_range("convex", FeatureVisualization([0.0], 1.0, [0.5], 0.0), [1.0], d=1)
    assert (r.lo, r.hi) == pytest.approx((0.0, 1.0), abs=1e-7)
    assert r.method.startswith("closed form")  # the LP is the cross-check (test_convex_form.py)


def test_affine_closed_form():
    """f(x) in [f_min + Delta min_S s_k, f_min + Delta max_S s_k], s_k = |x_k - x_min_k|; exact in d = 1."""
    r = value_range("affine", FV2, [0.2, 0.7], d=2)
    assert (r.lo, r.hi) == pytest.approx((0.2, 0.7))
    fv1 = FeatureVisualization([0.0], 3.0, [1.0], 1.0)
    for x in (0.0, 0.25, 1.0):
        r = value_range("affine", fv1, [x], d=1)
        assert r.lo == r.hi == pytest.approx(1.0 + 2.0 * (1 - x))
    with pytest.raises(ValueError, match="opposite"):
        value_range("affine", FeatureVisualization([0.5, 1.0], 1.0, [0.0, 1.0], 0.0), [0.1, 0.1], d=2)


def test_affine_general_observations_lp_matches_closed_form():
    """The LP for general observations gives the closed form when fed the two-point visualization plus a
    redundant observation."""
    from theory import Observations

    obs = Observations([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]], [1.0, 0.0, 1.0], ["max", "min", "value"])
    r = value_range("affine", obs, [0.2, 0.7], d=2)
    assert (r.lo, r.hi) == pytest.approx((0.2, 0.7), abs=1e-7)


def test_constant():
    r = value_range("constant", FeatureVisualization([0.3], 2.5, [0.9], 2.5), [0.1], d=1)
    assert r.lo == r.hi == 2.5
    with pytest.raises(ValueError, match="constant"):
        value_range("constant", FV2, [0.5, 0.5], d=2)


# ---- the class-level verdicts: one executable example per row of the paper's table --------------------------
ROWS = [
    ("black_box", {"d": 2}, ("no", "no", "no")),
    ("neural_network", {"d": 2}, ("no", "no", "no")),
    ("erm_network", {"d": 2}, ("no", "no", "no")),
    ("lipschitz", {"d": 2, "L": 1.0, "norm": 2}, ("no", "no", "depends")),
    ("piecewise_affine", {"d": 2}, ("no", "no", "no")),
    ("monotonic", {"d": 2}, ("no", "no", "no")),
    ("convex", {"d": 2}, ("no", "no", "no")),
    ("affine", {"d": 2}, ("no", "no", "no")),
    ("affine", {"d": 1}, ("yes", "yes", "yes")),
    ("constant", {"d": 2}, ("yes", "yes", "yes")),
]


@pytest.mark.parametrize("name,params,expected", ROWS, ids=[f"{n}-d{p['d']}" for n, p, _ in ROWS])
def test_table_row(name, params, expected):
    report = check_class(name, **params)
    assert tuple(report.answers[q].verdict for q in ("exact", "approx", "min_or_max")) == expected
    for q, ans in report.answers.items():
        cert = ans.certificate
        if ans.verdict == "no":
            # the counterexample's two witnesses really disagree at x by the stated amount
            fv = FeatureVisualization.from_dict(cert["fv"])
            x = np.array([float(eval(v)) for v in cert["x"]])  # noqa: S307
            vals = [float(eval(v)) for v in cert["values_at_x"]]  # noqa: S307
            assert vals[1] - vals[0] == pytest.approx(cert["disagreement"] * fv.delta)
            if q == "approx":
                assert cert["disagreement"] == pytest.approx(1.0)
            if q == "min_or_max":
                assert vals[0] <= fv.midpoint <= vals[1] and vals[0] != vals[1]
            assert x.shape == (params["d"],)
        elif ans.verdict == "yes":
            assert cert["type"] == "proof" and cert["decoder"]["expr"]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("norm", ["1", "2", "inf"])
def test_lipschitz_depends_threshold_matches_closed_form(d, norm):
    cert = check_class("lipschitz", d=d, L=1.5, norm=norm)["min_or_max"].certificate
    assert cert["L_star_closed_form"] == pytest.approx(cert["L_star_bisection"], rel=1e-6)
    assert cert["L_min"] < cert["L_star_closed_form"]


def test_lipschitz_region_share_shrinks_as_L_grows():
    rows = check_class("lipschitz", d=1, L=1.0).details["certified_region"]["by_L"]
    shares = [r["share"] for r in rows]
    assert shares == sorted(shares, reverse=True)
    # d = 1, x_min = 0, x_max = 1: balls of radius 1/(2 lambda) at both ends; at lambda = 1 f is forced linear
    for r in rows:
        lam = r["L_over_L_min"]
        expected = 1.0 if lam == 1.0 else min(1.0, 1.0 / lam)
        assert r["share"] == pytest.approx(expected, abs=2e-4)
