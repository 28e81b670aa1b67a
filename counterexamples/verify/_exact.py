"""Exact numbers and expressions: fractions from strings, sympy expressions from witness specs."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import sympy

from counterexamples.verify._grammar import ExpressionError, parse_expression

MAX_NUMBER_CHARS = 10_000
_EXACT = re.compile(r"[+-]?(\d+(/\d+)?|(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?)")


def frac(v: Any) -> Fraction:
    """An exact rational from an int or a decimal/fraction string ("0.5", "-3/7", "1e-3"), at most
    ``MAX_NUMBER_CHARS`` characters (decimal exponents at most 4 digits), so reading a number costs little."""
    if isinstance(v, Fraction):
        return v
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ValueError(f"{v!r} is not an exact number (expected an int or a string such as '1/3' or '0.25')")
    if isinstance(v, int):
        if v.bit_length() > 4 * MAX_NUMBER_CHARS:
            raise ValueError(f"an integer of {v.bit_length()} bits is too large (at most {4 * MAX_NUMBER_CHARS})")
        return Fraction(v)
    t = v.strip()
    if len(t) > MAX_NUMBER_CHARS or not _EXACT.fullmatch(t):
        shown = t if len(t) <= 40 else t[:37] + "..."
        raise ValueError(f"{shown!r} is not an exact number (an integer, p/q or a decimal such as '0.25')")
    try:
        return Fraction(t)
    except ZeroDivisionError:
        raise ValueError(f"{t!r} has a zero denominator") from None


def vec(vs: Any) -> list[Fraction]:
    return [frac(v) for v in vs]


def rational(v: Fraction) -> sympy.Rational:
    return sympy.Rational(v.numerator, v.denominator)


def parse_expr(spec: dict[str, Any], source: str = "<witness>") -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """The sympy expression of a ``{"kind": "sympy", "expr", "vars"}`` spec, with exact rationals, read by the
    allow-list grammar of ``_grammar`` (never evaluated as Python); ``ExpressionError`` names ``source``."""
    names = spec.get("vars")
    if not isinstance(names, list):
        raise ExpressionError(f"{source}: 'vars' must be a list of variable names")
    expr = parse_expression(spec.get("expr"), names, source)
    return expr, [sympy.Symbol(n, real=True) for n in names]


def equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Exact equality of two closed-form real numbers."""
    diff = sympy.nsimplify(sympy.simplify(a - b))
    return bool(diff == 0)


def within(a: sympy.Expr, b: sympy.Expr, tol: Fraction) -> bool:
    """|a - b| <= tol, decided exactly for closed-form real numbers."""
    diff = sympy.nsimplify(sympy.simplify(sympy.Abs(a - b) - rational(tol)))
    return bool(diff <= 0)
