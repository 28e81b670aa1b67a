"""L-smoothness of separable witnesses f(y) = c + sum_k g_k(y_k), checked exactly (no engine import).

If every g_k is L-smooth on [0, 1], so is f on [0,1]^d: grad f(y) = (g_k'(y_k))_k, hence
||grad f(y) - grad f(z)||_2^2 = sum_k (g_k'(y_k) - g_k'(z_k))^2 <= L^2 ||y - z||_2^2. The expression is split into
its additive terms; every term must depend on at most one variable. The terms of one variable are folded into
one function g_k, which must be a C^1 piecewise quadratic with |g_k''| <= L (``_smooth.piecewise_smooth``) or a
quadratic polynomial with |g_k''| <= L.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from counterexamples.verify._exact import sign
from counterexamples.verify._piecewise1d import _nonneg, _upper_bound, piecewise_smooth, polynomial_degree


def is_separable(e: sympy.Expr) -> bool:
    """A sum of at least two terms in distinct single variables (constants allowed)."""
    if not isinstance(e, sympy.Add):
        return False
    terms = [t for t in e.args if t.free_symbols]
    return all(len(t.free_symbols) == 1 for t in terms) and len({s for t in terms for s in t.free_symbols}) >= 2


def _groups(e: sympy.Expr) -> tuple[sympy.Expr, dict[sympy.Symbol, sympy.Expr]] | str:
    """(constant, {variable: its folded part}) of a sum of terms in one variable each; a string naming a term in
    several variables otherwise."""
    const: sympy.Expr = sympy.Integer(0)
    parts: dict[sympy.Symbol, list[sympy.Expr]] = {}
    for term in sympy.Add.make_args(e):
        free = term.free_symbols
        if len(free) > 1:
            return f"term {term} depends on more than one variable: not separable"
        if free:
            parts.setdefault(next(iter(free)), []).append(term)
        else:
            const += term
    return const, {s: sympy.piecewise_fold(sympy.Add(*ts)) for s, ts in parts.items()}


def separable_smooth(e: sympy.Expr, L: Fraction) -> tuple[bool, str]:
    grouped = _groups(e)
    if isinstance(grouped, str):
        return False, grouped
    Lq = sympy.Rational(L.numerator, L.denominator)
    details = []
    for s, g in sorted(grouped[1].items(), key=lambda item: str(item[0])):
        degree = None if isinstance(g, sympy.Piecewise) else polynomial_degree(g, [s])
        if isinstance(g, sympy.Piecewise):
            ok, detail = piecewise_smooth(g, [s], L)
        elif degree is not None and degree <= 2:
            curv = sympy.Abs(sympy.diff(g, s, 2))
            ok, detail = bool(curv <= Lq), f"a quadratic with |g''| = {curv}"
        else:
            return False, f"the part in {s}, {g}, is neither a piecewise quadratic nor a quadratic"
        if not ok:
            return False, f"the part in {s}: {detail}"
        details.append(f"{s}: {detail}")
    return True, "separable, sum of one-variable parts each L-smooth (" + "; ".join(details) + ")"


def _part_extreme(g: sympy.Expr, s: sympy.Symbol, sense: str) -> sympy.Expr | None:
    """The exact max (or min) of a one-variable piecewise quadratic over [0, 1], or None if g has another form.

    Piece i applies on (b_{i-1}, b_i] (the largest earlier bound, to its own; [0, 1] clipped); over the closure of
    that interval a quadratic is extreme at an end or at its vertex. The largest (smallest) of these candidate values
    bounds g on [0, 1] whether or not g is continuous, and is attained when it is."""
    pieces = list(g.args) if isinstance(g, sympy.Piecewise) else [(g, sympy.true)]
    cands: list[sympy.Expr] = []
    lo: sympy.Expr = sympy.Integer(0)
    for i, (val, cond) in enumerate(pieces):
        last = i + 1 == len(pieces)
        if last != (cond == sympy.true):
            return None
        b = sympy.Integer(1) if last else _upper_bound(cond, s)
        try:
            if b is None or sympy.Poly(val, s).degree() > 2:
                return None
        except sympy.PolynomialError:
            return None
        hi = sympy.Min(b, 1)
        if _positive(lo - hi):  # an empty interval: the piece never applies on [0, 1]
            continue
        pts = [lo, hi]
        q = sympy.expand(val)
        a2, a1 = q.coeff(s, 2), q.coeff(s, 1)
        if a2 != 0:  # the vertex, unless it is shown to lie outside (keeping it is never unsound)
            v = -a1 / (2 * a2)
            if not (_nonneg(lo - v) or _nonneg(v - hi)):
                pts.append(v)
        cands += [sympy.expand(q.subs(s, p)) for p in pts]
        lo = sympy.Max(lo, hi)
        if _nonneg(lo - 1):  # later pieces apply beyond 1 only
            break
    if not cands:
        return None
    best = cands[0]
    for c in cands[1:]:
        better = _nonneg(c - best) if sense == "max" else _nonneg(best - c)
        if better:
            best = c
        elif not (_nonneg(best - c) if sense == "max" else _nonneg(c - best)):
            return None  # the order of two candidates is not decided
    return best


def _positive(v: sympy.Expr) -> bool:
    return sign(v) == 1


def separable_bound_holds(e: sympy.Expr, bound: sympy.Expr, sense: str) -> tuple[bool, str] | None:
    """f <= bound ("max") or f >= bound ("min") on the box for a separable f, from the exact extremes of its parts
    (the extreme of a sum of functions of distinct variables is the sum of their extremes); None if a part is not
    a piecewise quadratic with conditions ``y_k <= b``."""
    grouped = _groups(e)
    if isinstance(grouped, str):
        return None
    const, parts = grouped
    total = const
    for s in sorted(parts, key=str):
        ext = _part_extreme(parts[s], s, sense)
        if ext is None:
            return None
        total += ext
    ok = _nonneg(bound - total) if sense == "max" else _nonneg(total - bound)
    return ok, f"exact {sense} {sympy.simplify(total)} (sum of the parts' extremes over [0, 1]) vs {bound}"
