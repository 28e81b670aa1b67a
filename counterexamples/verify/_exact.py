"""Exact numbers and expressions: fractions from strings, sympy expressions from witness specs."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy


def frac(v: Any) -> Fraction:
    """An exact rational from an int or a decimal/fraction string ("0.5", "-3/7")."""
    if isinstance(v, bool) or not isinstance(v, (int, str, Fraction)):
        raise ValueError(f"{v!r} is not an exact number (expected an int or a string such as '1/3' or '0.25')")
    return Fraction(v)


def vec(vs: Any) -> list[Fraction]:
    return [frac(v) for v in vs]


def rational(v: Fraction) -> sympy.Rational:
    return sympy.Rational(v.numerator, v.denominator)


def parse_expr(spec: dict[str, Any]) -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """The sympy expression of a ``{"kind": "sympy", "expr", "vars"}`` spec, with exact rationals."""
    names = list(spec["vars"])
    syms = [sympy.Symbol(n, real=True) for n in names]
    local = dict(zip(names, syms, strict=True))
    local.update(
        {"Min": sympy.Min, "Max": sympy.Max, "Abs": sympy.Abs, "sqrt": sympy.sqrt, "Piecewise": sympy.Piecewise}
    )
    expr = sympy.sympify(spec["expr"], locals=local, rational=True)
    extra = {s.name for s in expr.free_symbols} - set(names)
    if extra:
        raise ValueError(f"expression {spec['expr']!r} uses undeclared variables {sorted(extra)}")
    return expr, syms


def equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Exact equality of two closed-form real numbers."""
    diff = sympy.nsimplify(sympy.simplify(a - b))
    return bool(diff == 0)
