"""Verifiers for the quadratic and L-smooth classes: good witnesses pass; a Hessian too large, a derivative that
jumps, a moved argmax and a false region claim are rejected."""

from __future__ import annotations

import copy

from counterexamples.verify import verify_counterexample, verify_smooth_region

FV = {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"}


def sym(expr, d=1):
    return {"kind": "sympy", "expr": expr, "vars": [f"x{k}" for k in range(d)]}


def cex(cls, exprs, values, params, q="min_or_max", fv=FV, x=("1/2",)):
    return {
        "class": cls,
        "params": params,
        "question": q,
        "fv": fv,
        "x": list(x),
        "witnesses": [sym(e, len(fv["x_max"])) for e in exprs],
        "values_at_x": values,
    }


GOOD = cex("smooth", ["x0**2/2 + x0/2", "-x0**2/2 + 3*x0/2"], ["3/8", "5/8"], {"d": 1, "L": "1"})


def failed(rep):
    return [c.name for c in rep.checks if not c.ok]


def test_good_smooth_quadratics_pass():
    rep = verify_counterexample(GOOD)
    assert rep.ok, failed(rep)


def test_hessian_too_large_is_rejected():
    bad = copy.deepcopy(GOOD)
    bad["params"]["L"] = "1/2"  # |f''| = 1 > 1/2
    rep = verify_counterexample(bad)
    assert not rep.ok and all("gradient" in n for n in failed(rep))


def test_hessian_spectral_norm_in_d2():
    fv = {"x_max": ["1", "1"], "f_max": "2", "x_min": ["0", "0"], "f_min": "0"}
    # H = [[0, 1], [1, 0]] (f = y0 y1 + (y0 + y1)/2): ||H||_2 = 1
    good = cex(
        "smooth",
        ["x0*x1 + x0/2 + x1/2", "x0/2 + x1/2 + x0*x1"],
        ["1/2", "1/2"],
        {"d": 2, "L": "1"},
        "exact",
        fv,
        ("1", "0"),
    )
    rep = verify_counterexample(good)
    assert "witness 0: gradient 1-Lipschitz (2-norm)" not in failed(rep)
    tight = copy.deepcopy(good)
    tight["params"]["L"] = "99/100"
    assert "witness 0: gradient 99/100-Lipschitz (2-norm)" in failed(verify_counterexample(tight))


def test_moved_argmax_is_rejected():
    bad = copy.deepcopy(GOOD)
    bad["witnesses"][1] = sym("-x0**2 + 2*x0 + 1/8")  # max 9/8 at 1: above f_max
    bad["values_at_x"][1] = "7/8"
    bad["params"]["L"] = "2"
    rep = verify_counterexample(bad)
    assert not rep.ok and "witness 1: f(x_max) = f_max" in failed(rep)
    moved = copy.deepcopy(GOOD)
    moved["witnesses"][1] = sym("-2*x0**2 + 3*x0")  # f(1) = 1 but f(3/4) = 9/8: the argmax moved inside
    moved["values_at_x"][1] = "1"
    moved["params"]["L"] = "4"
    rep = verify_counterexample(moved)
    assert failed(rep) == ["witness 1: global max by z3"]


def test_piecewise_c1_and_curvature():
    ok = cex(
        "smooth",
        [
            "Piecewise((x0**2/2 - x0/2 + 1/8, x0 <= 1/2), (0, True))",
            "Piecewise((1/8, x0 <= 1/2), (-x0**2/2 + x0/2, True))",
        ],
        ["0", "1/8"],
        {"d": 1, "L": "1"},
        "approx",
        {"x_max": ["0"], "f_max": "1/8", "x_min": ["1"], "f_min": "0"},
    )
    assert verify_counterexample(ok).ok
    steep = copy.deepcopy(ok)  # curvature 2 > L = 1 on the first piece (and C^1 broken at 1/2)
    steep["witnesses"][0]["expr"] = "Piecewise((x0**2 - x0 + 1/4, x0 <= 1/2), (0, True))"
    rep = verify_counterexample(steep)
    assert any("gradient" in c.name and "f''| > L" in c.detail for c in rep.checks if not c.ok)
    jump = copy.deepcopy(ok)  # the pieces do not join at 1/2
    jump["witnesses"][1]["expr"] = "Piecewise((1/8, x0 <= 1/2), (-x0**2/2 + x0/4 + 1/4, True))"
    rep = verify_counterexample(jump)
    assert any("gradient" in c.name and "jumps" in c.detail for c in rep.checks if not c.ok)


def test_quadratic_membership():
    good = cex("quadratic", ["x0**2", "2*x0 - x0**2"], ["1/4", "3/4"], {"d": 1})
    assert verify_counterexample(good).ok
    cubic = copy.deepcopy(good)
    cubic["witnesses"][0] = sym("x0**3")
    cubic["values_at_x"][0] = "1/8"
    assert "witness 0: quadratic" in failed(verify_counterexample(cubic))


def test_smooth_region_claims():
    fv = {"x_max": ["0"], "f_max": "1/8", "x_min": ["1"], "f_min": "0"}
    claim = {
        "type": "region",
        "class": "smooth",
        "params": {"d": 1, "L": "6/35"},
        "fv": fv,
        "x": ["1/4"],
        "decision": "max",
    }
    assert verify_smooth_region(claim).ok
    for bad in ({"params": {"d": 1, "L": "1"}}, {"decision": "min"}, {"x": ["1/2"]}):
        rep = verify_smooth_region({**claim, **bad})
        assert not rep.ok, bad
