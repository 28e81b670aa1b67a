"""The verifier checks that each witness is a member of the stated class, not only its values (issue 23.1).

For every class of the (extended) table, the project's own counterexample certificate passes its membership
checks; the same certificate with one witness replaced by a non-member (its claimed value at x updated so that only
membership can fail) is rejected by a named membership check."""

from __future__ import annotations

import copy

import pytest
import sympy

from counterexamples.verify import parse_expression, verify_counterexample, verify_witness
from theory import check_class

MEMBERSHIP_WORDS = ("affine", "constant", "convex", "nondecreasing", "Lipschitz", "quadratic", "gradient", "member")


def _certificate(cls: str, **params):
    report = check_class(cls, **params)
    for ans in report.answers.values():
        cert = ans.certificate
        if cert.get("type") == "threshold":
            cert = cert["above"]
        if cert.get("type") == "counterexample":
            return copy.deepcopy(cert)
    raise AssertionError(f"no counterexample certificate for {cls}")


def _membership_checks(rep, tag="witness 1"):
    return [c for c in rep.checks if c.name.startswith(tag) and any(w in c.name for w in MEMBERSHIP_WORDS)]


def _tamper(cert, expr):
    bad = copy.deepcopy(cert)
    names = [f"x{k}" for k in range(len(cert["x"]))]
    bad["witnesses"][1] = {"kind": "sympy", "expr": expr, "vars": names}
    e = parse_expression(expr, names, "test")
    val = e.subs({sympy.Symbol(n, real=True): sympy.Rational(v) for n, v in zip(names, cert["x"], strict=True)})
    bad["values_at_x"][1] = str(sympy.nsimplify(val))
    return bad


CASES = [
    ("affine", {"d": 2}, "x0**2"),
    ("convex", {"d": 2}, "Min(1, 2 - x0 - x1)"),  # concave
    ("convex", {"d": 2}, "-(x0 - 1/2)**2"),  # concave polynomial (Hessian check)
    ("monotonic", {"d": 2}, "1 - x0"),  # decreasing
    ("monotonic", {"d": 2}, "(x0 - 1/2)**2"),  # neither
    ("lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "Min(1, 2*x0)"),  # slope 2 > L = 1
    ("lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "x0**2 * 3"),  # gradient up to 6
    ("piecewise_affine", {"d": 2}, "x0*x1"),
    ("neural_network", {"d": 2}, "x0**2"),
    ("erm_network", {"d": 2}, "Max(0, x0 - x1)"),  # not a ReLU network spec: no ERM
    ("quadratic", {"d": 2}, "x0**3"),
    ("smooth", {"d": 1, "L": 1.0}, "x0**2"),  # f'' = 2 > L
    ("smooth", {"d": 1, "L": 1.0}, "Abs(x0 - 1/2)"),  # not differentiable
    ("convex_lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "Min(1/4, 1/2 - x0/4)"),  # concave, 1/4-Lipschitz
    ("convex_lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "Max(0, 3*x0 - 2)"),  # convex, too steep
    ("monotone_lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "(1 - x0)/4"),  # decreasing
]


@pytest.mark.parametrize("cls,params,expr", CASES, ids=[f"{c}:{e}" for c, _, e in CASES])
def test_a_non_member_witness_fails_membership(cls, params, expr):
    cert = _certificate(cls, **params)
    good = verify_counterexample(cert)
    assert good.ok, [c for c in good.checks if not c.ok]
    assert not verify_counterexample(_tamper(cert, expr)).ok
    rep = verify_counterexample(_tamper(cert, expr))
    failed = [c for c in rep.checks if not c.ok]
    if cls == "erm_network":
        assert any(c.name.startswith("ERM: both witnesses are ReLU networks") for c in failed), failed
    else:
        assert any(c in failed for c in _membership_checks(rep)), failed


FV1 = {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"}


def test_constant_class():
    assert verify_witness(
        {"kind": "sympy", "expr": "1/2", "vars": ["x0"]}, {**FV1, "f_max": "1/2", "f_min": "1/2"}, "constant", {"d": 1}
    ).ok
    rep = verify_witness({"kind": "sympy", "expr": "x0", "vars": ["x0"]}, FV1, "constant", {"d": 1})
    assert any(c.name == "witness: constant" and not c.ok for c in rep.checks)


def test_relu_network_specs_of_the_wrong_class_fail():
    """A ReLU network y -> relu(1 - 2y) (decreasing, slope 2) is not monotone, not 1-Lipschitz, not affine."""
    net = {"kind": "relu_net", "layers": [{"W": [["-2"]], "b": ["1"]}, {"W": [["1"]], "b": ["0"]}]}
    fv = {"x_max": ["0"], "f_max": "1", "x_min": ["1"], "f_min": "0"}
    assert verify_witness(net, fv, "piecewise_affine", {"d": 1}).ok
    for cls, params, word in (
        ("monotonic", {"d": 1}, "nondecreasing"),
        ("lipschitz", {"d": 1, "L": "1", "norm": "2"}, "Lipschitz"),
        ("affine", {"d": 1}, "affine"),
        ("constant", {"d": 1}, "constant"),
    ):
        rep = verify_witness(net, fv, cls, params)
        assert any(word in c.name and not c.ok for c in rep.checks), (cls, rep.to_dict())
    assert verify_witness(net, fv, "lipschitz", {"d": 1, "L": "2", "norm": "2"}).ok


def test_lipschitz_is_compared_exactly():
    """Slope exactly L passes; slope L + 2^-60 fails (no floating-point tolerance for PWA expressions)."""
    fv = {"x_max": ["1"], "f_max": "1/2", "x_min": ["0"], "f_min": "0"}
    ok = verify_witness({"kind": "sympy", "expr": "x0/2", "vars": ["x0"]}, fv, "lipschitz", {"L": "1/2", "norm": "2"})
    assert ok.ok
    eps = sympy.Rational(1, 2**60)
    steep = f"Min(1/2, x0*({sympy.Rational(1, 2) + eps}))"
    rep = verify_witness({"kind": "sympy", "expr": steep, "vars": ["x0"]}, fv, "lipschitz", {"L": "1/2", "norm": "2"})
    assert any("Lipschitz" in c.name and not c.ok for c in rep.checks)
