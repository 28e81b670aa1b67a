"""One-variable L-smooth pieces, checked exactly: the shared layer of the L-smooth verifiers (``_smooth``,
``_smooth_separable``), with no import of either.

- ``polynomial_degree``: total degree of a polynomial with rational coefficients (None otherwise);
- ``piecewise_smooth``: a Piecewise in one variable t (pieces for t <= b_1, t <= b_2, ..., True) whose pieces are
  polynomials of degree <= 2, C^1 at every breakpoint (exactly) and with |f''| <= L on every piece; f' is then
  continuous and piecewise linear with slopes in [-L, L], so it is L-Lipschitz;
- ``_nonneg``: the sign of a closed-form number, decided exactly (``_exact.sign``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import sympy

from counterexamples.verify._exact import sign


def polynomial_degree(e: sympy.Expr, syms: list[sympy.Symbol]) -> int | None:
    """Total degree of e if it is a polynomial in syms with rational coefficients, else None."""
    if e.atoms(sympy.Function, sympy.Piecewise) or any(
        p.base.free_symbols for p in e.atoms(sympy.Pow) if not (p.exp.is_Integer and p.exp >= 0)
    ):
        return None
    try:
        poly = sympy.Poly(sympy.expand(e), *syms)
    except sympy.PolynomialError:
        return None
    if not all(c.is_Rational for c in poly.coeffs()):
        return None
    return int(poly.total_degree())


def _upper_bound(cond: Any, t: sympy.Symbol) -> sympy.Expr | None:
    """c for a condition t <= c; max c_i for Or(t <= c_i, ...) (sympy merges equal adjacent pieces that way)."""
    if isinstance(cond, sympy.LessThan) and cond.args[0] == t and not cond.args[1].free_symbols:
        return cond.args[1]
    if isinstance(cond, sympy.Or):
        bounds = [_upper_bound(c, t) for c in cond.args]
        if any(b is None for b in bounds):
            return None
        return sympy.Max(*bounds)
    return None


def _guards(pw: sympy.Piecewise) -> list[Any] | str:
    """The conditions of every piece but the last, which must be the default (True) and the only True piece; a
    string saying why not otherwise (the rule every piecewise witness form shares)."""
    conds = [cond for _, cond in pw.args]
    if conds[-1] != sympy.true:
        return "the last piece is not the default (True)"
    if any(cond == sympy.true for cond in conds[:-1]):
        return "a True condition before the last piece"
    return conds[:-1]


def piecewise_smooth(e: sympy.Expr, syms: list[sympy.Symbol], L: Fraction) -> tuple[bool, str]:
    """C^1 piecewise quadratic in one variable with |f''| <= L."""
    free = sorted(e.free_symbols, key=str)
    if len(free) != 1:
        return False, f"a piecewise witness must depend on one variable, not {free}"
    t = free[0]
    if not isinstance(e, sympy.Piecewise):
        return False, "not a Piecewise"
    guards = _guards(e)
    if isinstance(guards, str):
        return False, guards
    breaks = []
    for cond in guards:
        bound = _upper_bound(cond, t)
        if bound is None:
            return False, f"condition {cond} is not of the form {t} <= constant (or an Or of such)"
        breaks.append(bound)
    pieces = [sympy.expand(val) for val, _ in e.args]
    if any(sympy.simplify(b - a) <= 0 for a, b in itertools.pairwise(breaks)):
        return False, "breakpoints must increase"
    Lq = sympy.Rational(L.numerator, L.denominator)
    for p in pieces:
        if p.free_symbols - {t} or not _degree_at_most(p, t, 2):
            return False, f"piece {p} is not a quadratic in {t}"
        if sympy.simplify(sympy.Abs(sympy.diff(p, t, 2)) - Lq) > 0:
            return False, f"piece {p} has |f''| > L = {L}"
    for b, left, right in zip(breaks, pieces, pieces[1:], strict=False):
        for k in (0, 1):
            gap = sympy.simplify(sympy.diff(left, t, k).subs(t, b) - sympy.diff(right, t, k).subs(t, b))
            if gap != 0:
                return False, f"the {'value' if k == 0 else 'derivative'} jumps by {gap} at {t} = {b}"
    return True, f"{len(pieces)} quadratic pieces, C^1 at {len(breaks)} breakpoints, |f''| <= {L} on each"


def _degree_at_most(p: sympy.Expr, t: sympy.Symbol, n: int) -> bool:
    """p is a polynomial in t of degree <= n (False, not an error, when it is not a polynomial, e.g. sqrt(t))."""
    try:
        return bool(sympy.degree(p, t) <= n)
    except sympy.PolynomialError:
        return False


def _nonneg(v: sympy.Expr) -> bool:
    """v >= 0 for a closed-form real number (rationals and square roots): sympy decides the sign exactly or by
    interval evaluation with guaranteed precision; an undecided sign counts as "not shown"."""
    return sign(v) in (0, 1)
