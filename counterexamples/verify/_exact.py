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


def is_zero(e: sympy.Expr) -> bool:
    """e = 0 exactly, for a closed-form real number: by sympy's simplification, else (for a number that is tiny
    at 60 digits) by the minimal polynomial of the algebraic number, which is z iff it is 0. Never by
    ``sympy.nsimplify``, which works in floating point and can call a nonzero number 0."""
    v = sympy.simplify(e)
    if v == 0:
        return True
    if v.free_symbols or v.is_Rational:
        return False
    approx = v.evalf(60)
    if approx.is_Number and abs(approx) > sympy.Float("1e-40", 60):
        return False
    z = sympy.Symbol("z")
    try:
        return bool(sympy.minimal_polynomial(v, z) == z)
    except (NotImplementedError, ValueError, sympy.polys.polyerrors.BasePolynomialError):  # e.g. NotAlgebraic
        return False


def sign(e: sympy.Expr) -> int | None:
    """The sign of a closed-form real number (-1, 0, 1), decided exactly (``is_zero``) or by sympy's evaluation with
    guaranteed precision; None if undecided."""
    if is_zero(e):
        return 0
    v = sympy.simplify(e)
    if v.free_symbols:
        return None
    if v.is_positive:
        return 1
    if v.is_negative:
        return -1
    return None


def exact_form(e: sympy.Expr) -> sympy.Expr:
    """e simplified without changing its value: ``sympy.nsimplify`` (floating point: it reads
    1351079888211149/2^53 as 3/20) is kept only when it is proved equal (``is_zero``)."""
    exact = sympy.simplify(e)
    if exact.is_Rational or exact.free_symbols:
        return exact
    simple = sympy.nsimplify(exact)
    return simple if simple == exact or is_zero(simple - exact) else exact


def equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Exact equality of two closed-form real numbers."""
    return is_zero(a - b)


def within(a: sympy.Expr, b: sympy.Expr, tol: Fraction) -> bool:
    """|a - b| <= tol, decided exactly for closed-form real numbers."""
    return sign(sympy.Abs(a - b) - rational(tol)) in (-1, 0)
