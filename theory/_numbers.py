"""Exact rational views of floats, for certificates that a verifier re-checks in exact arithmetic."""

from __future__ import annotations

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


def _snap(x: float) -> Fraction:
    """The simplest fraction (denominator <= 10^6) whose float is exactly ``x``, else x's exact binary value.

    Floats computed from rationals (1/3, 0.1, LP vertices) are read back as the rationals they stand for."""
    exact = Fraction(x)
    near = exact.limit_denominator(10**6)
    return near if float(near) == x else exact


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
