"""Certificates whose parts are each true but do not prove the stated claim, and witnesses that only look valid:
every one must be refused (found by an independent review of the smooth-class verifier)."""

from __future__ import annotations

import copy
import json

import pytest

from counterexamples.verify import parse_expression, verify_certificate, verify_file
from counterexamples.verify._kinds import verify_condition
from counterexamples.verify._report import Report
from counterexamples.verify._z3expr import box_extreme_holds
from theory import check_class

FV = {"x_max": ["3/4", "1/2"], "f_max": "1/100", "x_min": ["1/4", "1/2"], "f_min": "0"}
PHI = "3*(x0 - 1/4)/25 - (x0 - 1/4)**2/5"  # 2/5-smooth, but its minimum on the box is -17/400 < f_min
GENUINE = (
    "Piecewise((0, x0 <= 3/4 - sqrt(10)/10), (x0**2/5 - 3*x0/10 + sqrt(10)*x0/25 - 3*sqrt(10)/100 + 53/400, "
    "x0 <= 3/4 - sqrt(10)/20), (-x0**2/5 + 3*x0/10 - 41/400, (x0 <= 3/4) | (x0 <= 1 - sqrt(10)/40)), "
    "(x0**2/5 - x0/2 + sqrt(10)*x0/50 - sqrt(10)/50 + 3/10, True))"
)


def _failed(rep: Report) -> list[str]:
    return [c.name for c in rep.checks if not c.ok]


@pytest.fixture(scope="module")
def smooth_d2() -> dict:
    r = check_class("smooth", d=2, L=1.0, eps=0.1)
    return {q: a.certificate for q, a in r.answers.items()}


@pytest.fixture(scope="module")
def smooth_d1() -> dict:
    r = check_class("smooth", d=1, L=1.0, eps=0.1)
    return {q: a.certificate for q, a in r.answers.items()}


# ---- witnesses ------------------------------------------------------------------------------------------------
def test_a_sqrt_of_a_negative_number_does_not_make_a_bound_hold_vacuously():
    import sympy

    expr = parse_expression("x0 + sqrt(x0 - 2)*((x0 + 1)**2 - x0**2 - 2*x0 - 1)", ["x0"])
    x0 = next(iter(expr.free_symbols))
    assert expr.atoms(sympy.Pow), "the zero factor must stay unexpanded for the test to mean anything"
    ok, detail = box_extreme_holds(expr, [x0], sympy.Rational(1, 2), "max")
    assert not ok, detail  # x0 reaches 1 > 1/2 on [0, 1]
    genuine = parse_expression("x0 + sqrt(2)", ["x0"])
    assert box_extreme_holds(genuine, [x0], 1 + sympy.sqrt(2), "max")[0]  # a genuine sqrt still works


def test_a_poisoned_witness_is_refused():
    poisoned = f"Piecewise(({PHI} + sqrt(x0 - 2)*((x0 + 1)**2 - x0**2 - 2*x0 - 1), x0 <= 2), ({PHI}, True))"
    cex = {
        "type": "counterexample",
        "class": "smooth",
        "params": {"d": 2, "L": "2/5"},
        "question": "min_or_max",
        "fv": FV,
        "x": ["13/40", "3/5"],
        "witnesses": [
            {"kind": "sympy", "expr": GENUINE, "vars": ["x0", "x1"]},
            {"kind": "sympy", "expr": poisoned, "vars": ["x0", "x1"]},
        ],
        "values_at_x": ["0", "63/8000"],
    }
    rep = verify_certificate(cex)
    assert not rep.ok and "witness 1: global min by z3" in _failed(rep)
    # the genuine witness alone is fine: the refusal is about the poisoned one
    assert not any(name.startswith("witness 0") for name in _failed(rep))


def test_a_visualization_outside_the_box_is_refused():
    cex = {
        "type": "counterexample",
        "class": "smooth",
        "params": {"d": 1, "L": "1"},
        "question": "approx",
        "eps_abs": "1/8",
        "fv": {"x_max": ["2"], "f_max": "2", "x_min": ["0"], "f_min": "0"},
        "x": ["1"],
        "witnesses": [
            {"kind": "sympy", "expr": "x0**2/2", "vars": ["x0"]},
            {"kind": "sympy", "expr": "2*x0 - x0**2/2", "vars": ["x0"]},
        ],
        "values_at_x": ["1/2", "3/2"],
    }
    rep = verify_certificate(cex)
    assert not rep.ok and "witness 0: x_max and x_min in [0,1]^d" in _failed(rep)


def test_a_counterexample_file_with_L_not_positive_is_refused(tmp_path):
    cex = {
        "type": "counterexample",
        "class": "smooth",
        "params": {"d": 1, "L": "-1"},
        "question": "min_or_max",
        "fv": {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"},
        "x": ["1/2"],
        "witnesses": [
            {"kind": "sympy", "expr": "x0**2/2 + x0/2", "vars": ["x0"]},
            {"kind": "sympy", "expr": "-x0**2/2 + 3*x0/2", "vars": ["x0"]},
        ],
        "values_at_x": ["3/8", "5/8"],
    }
    path = tmp_path / "cex.json"
    path.write_text(json.dumps(cex))
    rep = verify_file(path)
    assert not rep.ok and _failed(rep) == ["params: L > 0"]
    cex["params"]["L"] = "1"
    path.write_text(json.dumps(cex))
    assert verify_file(path).ok  # the same pair is a true counterexample for L = 1


@pytest.mark.parametrize("piece", ["sqrt(x0)", "Abs(x0 - 1/4)"])
def test_a_piece_that_is_not_a_polynomial_fails_cleanly(piece):
    cex = {
        "type": "counterexample",
        "class": "smooth",
        "params": {"d": 1, "L": "4"},
        "question": "min_or_max",
        "fv": {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"},
        "x": ["1/4"],
        "witnesses": [
            {"kind": "sympy", "expr": f"Piecewise(({piece}, x0 <= 1/2), (x0, True))", "vars": ["x0"]},
            {"kind": "sympy", "expr": "x0", "vars": ["x0"]},
        ],
        "values_at_x": ["1/2", "1/4"],
    }
    rep = verify_certificate(cex)  # no PolynomialError
    assert not rep.ok and "witness 0: gradient 4-Lipschitz (2-norm)" in _failed(rep)


# ---- region claims ------------------------------------------------------------------------------------------
def test_a_region_claim_outside_the_box_is_refused():
    fv = {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"}
    region = {"type": "region", "class": "smooth", "params": {"d": 1, "L": "1"}, "fv": fv, "decision": "min"}
    assert not verify_certificate({**region, "x": ["3/2"]}).ok
    lip = {"type": "region", "class": "lipschitz", "params": {"d": 1, "L": "1", "norm": "2"}, "decision": "min"}
    assert verify_certificate({**lip, "fv": fv, "x": ["1/4"]}).ok
    assert not verify_certificate({**lip, "fv": fv, "x": ["-1/4"]}).ok
    # f_max < f_min: every t would have to lie in an empty interval, so any decision would follow
    upside_down = {"x_max": ["1"], "f_max": "0", "x_min": ["0"], "f_min": "1"}
    for decision in ("min", "max"):
        assert not verify_certificate({**lip, "fv": upside_down, "x": ["1/4"], "decision": decision}).ok


# ---- threshold on L -----------------------------------------------------------------------------------------
def test_the_engines_threshold_verifies_and_its_parts_are_bound(smooth_d2):
    thr = smooth_d2["min_or_max"]
    assert thr["type"] == "threshold" and verify_certificate(thr).ok
    moved = copy.deepcopy(thr)
    moved["above"]["x"] = ["1", "0"]  # another point: the counterexample no longer speaks about this instance
    assert "below and above: the same visualization and x" in _failed(verify_certificate(moved))
    swapped = copy.deepcopy(thr)
    swapped["below"]["params"]["L"] = swapped["above"]["params"]["L"]
    assert "L_below < L_above" in _failed(verify_certificate(swapped))
    stated = {**thr, "L_star_closed_form": 1e9}
    assert "every stated L* lies in (L_below, L_above]" in _failed(verify_certificate(stated))
    other_class = copy.deepcopy(thr)
    other_class["below"] = {**other_class["below"], "class": "lipschitz"}
    other_class["below"]["params"] = {**other_class["below"]["params"], "norm": "2"}
    assert not verify_certificate(other_class).ok


# ---- conditions ---------------------------------------------------------------------------------------------
def test_the_refuted_instance_of_a_condition_on_L_over_Delta_answers_approx(smooth_d2):
    cond = smooth_d2["approx"]
    assert cond["type"] == "condition" and verify_certificate(cond).ok
    other = copy.deepcopy(cond)
    other["above"]["question"] = "exact"  # any disagreement would pass, not one wider than 2 eps Delta
    assert "above: refutes the approx question" in _failed(verify_certificate(other))


def test_the_answered_instance_has_the_dimension_of_the_class(smooth_d1):
    cond = smooth_d1["approx"]
    assert cond["type"] == "condition" and verify_certificate(cond).ok
    wide = copy.deepcopy(cond)
    below = wide["below"]
    below["x"] = ["0", "1"]
    below["fv"] = {**below["fv"], "x_max": ["1", "1"], "x_min": ["0", "0"]}
    assert "below: x, x_max, x_min in [0,1]^d with d = params.d" in _failed(verify_certificate(wide))


def test_a_condition_on_relative_eps_refuses_a_bound_in_units_of_f():
    bound = check_class("smooth", d=1, L=1.0, eps_abs=0.25).answers["approx"].certificate
    proof = {k: v for k, v in bound.items() if k != "eps_abs"}
    cond = {"type": "condition", "parameter": "eps", "condition": f"eps >= {proof['sup_width']}", "proof": proof}
    cond["counterexample"] = check_class("smooth", d=1, L=1.0).answers["approx"].certificate
    rep = verify_certificate(cond)
    assert "units: a condition on eps (relative to Delta) needs a width bound relative to Delta" in _failed(rep)


def test_the_tightness_counterexample_cannot_replace_its_test(monkeypatch):
    """The counterexample of a condition on eps must show a width of sup_width Delta: its own eps or eps_abs, an
    'exact' question or other params must not stand in (the proof is taken as verified here)."""
    cond = check_class("quadratic", d=1).answers["approx"].certificate
    monkeypatch.setattr("counterexamples.verify._kinds.verify_bound", lambda *a, **k: Report("stub"))
    assert verify_condition(cond).ok
    loose = {**cond, "proof": {**cond["proof"], "sup_width": "1"}, "condition": "eps >= 1/2"}
    assert not verify_condition(loose).ok  # the quadratic counterexample is not Delta wide
    for tamper in ({"eps": "0"}, {"eps_abs": "0"}):
        assert not verify_condition({**loose, "counterexample": {**cond["counterexample"], **tamper}}).ok
    exact = {**cond, "counterexample": {**cond["counterexample"], "question": "exact"}}
    assert "counterexample: same params, question approx" in _failed(verify_condition(exact))
    other = copy.deepcopy(cond)
    other["counterexample"]["params"]["d"] = 3
    assert "counterexample: same params, question approx" in _failed(verify_condition(other))


def test_long_sums_parse():
    """A 2-norm witness in d = 100 is a sum of 100 squares, which nests about 100 deep; the grammar allows it."""
    expr = parse_expression(
        "sqrt(" + " + ".join(f"(x{k} - 1/2)**2" for k in range(100)) + ")", [f"x{k}" for k in range(100)]
    )
    assert len(expr.free_symbols) == 100
