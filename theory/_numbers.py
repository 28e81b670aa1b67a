"""Exact rational views of floats, for certificates that a verifier re-checks in exact arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np


def to_fraction(value: Any, *, max_denominator: int | None = None) -> Fraction:
    """The exact rational value of ``value`` (int, float, Fraction or decimal string).

    With ``max_denominator`` the nearest fraction with at most that denominator is returned instead
    (used to recover the exact rational vertex of a linear programme from a floating-point solution).
    """
    if isinstance(value, Fraction):
        frac = value
    elif isinstance(value, (int, np.integer)):
        frac = Fraction(int(value))
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ValueError(f"non-finite number {value!r} has no exact rational value")
        frac = _snap(float(value))
    elif isinstance(value, str):
        frac = Fraction(value)
    else:
        raise TypeError(f"cannot read {value!r} of type {type(value).__name__} as a rational number")
    return frac.limit_denominator(max_denominator) if max_denominator else frac


def simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (0 <= lo < hi), by continued fractions."""
    a = lo.numerator // lo.denominator
    if a == lo or a + 1 <= hi:
        return Fraction(a) if a == lo else Fraction(a + 1)
    return a + 1 / simplest_between(1 / (hi - a), 1 / (lo - a))


def _snap(x: float) -> Fraction:
    """The rational that the float ``x`` stands for, else x's exact binary value.

    Floats computed from rationals (1/3, 0.1, LP vertices) are read back as those rationals: first the nearest
    fraction with denominator <= 10^6 whose float is exactly ``x``; for |x| < 1 then m · 10^e with e the decade of
    ``x`` and m the simplest fraction (denominator <= 10^4) among the mantissas that round to ``x``. So 0.5 reads
    as 1/2 and, at every scale, 5e-7 as 1/2000000, 1e-12 as 1/10^12 and 1e-7/3 as 1/30000000 (the first rule alone
    would read small values as binary fractions that other, snapped values do not match)."""
    exact = Fraction(x)
    if exact.denominator == 1:  # 0 and integers (every float beyond 2^53) are their own simplest form
        return exact
    near = exact.limit_denominator(10**6)
    if float(near) == x:
        return near
    mag = abs(exact)
    if mag >= 1:
        return exact
    e = math.floor(math.log10(mag))
    decade = Fraction(10) ** e
    half_ulp = Fraction(math.ulp(x)) / 2
    m = simplest_between((mag - half_ulp) / decade, (mag + half_ulp) / decade)
    snapped = (m if x > 0 else -m) * decade
    return snapped if m.denominator <= 10**4 and float(snapped) == x else exact


def fraction_str(value: Any) -> str:
    """Exact string form ``"p/q"`` (or ``"p"``) of a number."""
    frac = to_fraction(value)
    return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"


def vector_str(values: Any) -> list[str]:
    return [fraction_str(v) for v in np.asarray(values, dtype=object).ravel()]


def sym(value: Any) -> str:
    """A number as a sympy-parsable token: ``(p/q)``, parenthesised so it composes in expressions."""
    text = fraction_str(value)
    return f"({text})" if ("/" in text or text.startswith("-")) else text


def exact_simplified(value: Any, guess: bool = True) -> Any:
    """``sympy.nsimplify`` of an exact sympy number, kept only if it equals the number exactly (nsimplify works
    in floating point and can return a wrong "simple" form, e.g. 0 for sqrt(a)/b with 40-digit a and b);
    otherwise the number as ``sympy.simplify`` leaves it. ``guess=False`` skips nsimplify (its integer-relation
    search dominates the cost of exporting piecewise witnesses)."""
    import sympy

    exact = sympy.simplify(value)
    if exact.is_Rational or not guess:  # a rational is in lowest terms; nsimplify could only guess another number
        return exact
    simple = sympy.nsimplify(exact)
    return simple if simple == exact or sympy.simplify(simple - exact) == 0 else exact
