"""Certificates: the evidence behind each verdict, in exact JSON form for independent verification.

- counterexample ("no"): a visualization, a query point x and two members of the class with that
  visualization whose values at x differ (``values_at_x``), with the disagreement as a fraction of Delta;
- proof ("yes"): a decoder, an exact expression of x and the visualization, claimed to return f(x) for every
  member, every visualization it has and every x (verified with z3 in ``counterexamples.verify``);
- region ("depends"): a visualization, x and a decision ("min" or "max") claimed for every L-Lipschitz member.
"""

from __future__ import annotations

from typing import Any

from theory._numbers import exact_simplified, fraction_str, vector_str
from theory._range import ValueRange
from theory._setting import FeatureVisualization, FloatArray
from theory._witness import Witness
from theory.classes import FunctionClass


def exact_params(cls: FunctionClass) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, str)) else fraction_str(v)) for k, v in cls.params.items()}


def counterexample(cls: FunctionClass, question: str, fv: FeatureVisualization, vr: ValueRange) -> dict[str, Any]:
    cert: dict[str, Any] = {
        "type": "counterexample",
        "class": cls.name,
        "params": exact_params(cls),
        "question": question,
        "fv": fv.to_dict(),
        "x": vector_str(vr.x),
        "witnesses": [vr.witness_lo.to_spec(), vr.witness_hi.to_spec()],
        "values_at_x": [_exact_value(vr.witness_lo, vr.x, vr.lo), _exact_value(vr.witness_hi, vr.x, vr.hi)],
        "disagreement": vr.width / fv.delta if fv.delta else 0.0,
        "method": vr.method,
    }
    cert.update({k: v for k, v in vr.extra.items() if k != "exact_witnesses"})
    return cert


def _tolerance(vr: ValueRange) -> dict[str, Any]:
    """The stated tolerance of a range's float witnesses (``witness_tolerance``), if it has one."""
    return {k: vr.extra[k] for k in ("witness_tolerance",) if k in vr.extra}


def _exact_value(w: Witness, x: FloatArray, approx: float) -> str:
    """The witness's value at x in exact form: a closed form for Euclidean cones (e.g. sqrt(2)/4); otherwise a
    fraction (piecewise-affine witnesses with rational data take rational values, which the snapped float
    recovers; the verifier re-evaluates every value exactly)."""
    own = getattr(w, "exact_value_str", None)  # witnesses that know their exact value (quadratics, splines)
    if own is not None:
        return str(own(x))
    if type(w).__name__ == "RadialSmoothWitness":  # closed form with square roots (L-smooth, d >= 2)
        return _radial_exact_value(w, x, approx)
    exact = getattr(w, "exact_value_and_float", None)
    if exact is None:
        return fraction_str(approx)
    val, num = exact(x)
    if abs(num - approx) > 1e-9 * max(1.0, abs(approx)):
        raise ValueError(f"witness value {val} at x disagrees with the range end {approx}")
    return val


def _radial_exact_value(w: Any, x: FloatArray, approx: float) -> str:
    """base + sign P(||x - centre||_2) exactly (P the fastest rise from a flat start, as in ``to_spec``)."""
    import sympy

    from theory._numbers import to_fraction

    def q(v: float) -> Any:
        return sympy.Rational(str(to_fraction(float(v))))

    rho = sympy.sqrt(sum((q(a) - q(c)) ** 2 for a, c in zip(x, w.centre, strict=True)))
    L, D, base = q(w.L), q(w.D), q(w.base)
    h = sympy.sqrt(D / L)
    P = L * rho**2 / 2 if rho <= h else (D - L * (2 * h - rho) ** 2 / 2 if rho <= 2 * h else D)
    val = exact_simplified(base + w.sign * P)
    if abs(float(val) - approx) > 1e-9 * max(1.0, abs(approx)):
        raise ValueError(f"radial witness value {val} at x disagrees with the range end {approx}")
    return str(val)


def proof(cls: FunctionClass, question: str, decoder: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "proof",
        "class": cls.name,
        "params": exact_params(cls),
        "question": question,
        "decoder": decoder,
    }


def region(cls: FunctionClass, fv: FeatureVisualization, vr: ValueRange, decision: str) -> dict[str, Any]:
    return {
        "type": "region",
        "class": cls.name,
        "params": exact_params(cls),
        "fv": fv.to_dict(),
        "x": vector_str(vr.x),
        "decision": decision,
    }


def approx_condition(
    cls: FunctionClass,
    eps: float,
    condition: str,
    below: tuple[FeatureVisualization, ValueRange],
    above: tuple[FeatureVisualization, ValueRange],
) -> dict[str, Any]:
    """The approximation question at fixed ``eps`` depends on L/Delta: an answered instance ``below`` and a
    counterexample ``above`` the stated ``condition``."""
    (fb, vb), (fa, va) = below, above
    return {
        "type": "condition",
        "parameter": "L/Delta",
        "eps": eps,
        "condition": condition,
        "short": f"only for small L/Delta: {condition}",
        "below": {"fv": fb.to_dict(), **vb.to_dict(), **_tolerance(vb), "approximable": True},
        "above": counterexample(cls, "approx", fa, va),
    }


def bound_proof(cls: FunctionClass, bound: dict[str, Any]) -> dict[str, Any]:
    """A proved bound on the relative width of every value range: the midpoint of the range then errs by at most
    sup_width / 2 Delta."""
    return {
        "type": "bound",
        "class": cls.name,
        "params": exact_params(cls),
        "question": "approx",
        "sup_width": bound["sup_width"],
        "argument": bound["argument"],
        "decoder": "the midpoint (lo(x) + hi(x)) / 2 of the value range",
    }
