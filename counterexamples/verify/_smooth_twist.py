"""L-smoothness and exact extrema of twisted witnesses f(y) = c + B(y_j) + y_i G(y_j) (no engine import).

B and G are C^1 piecewise quadratics in y_j with rational breakpoints and coefficients, i != j, and f depends on no
other variable. The Hessian of f is zero outside the (i, j) block, where it is H = [[0, b], [b, e]] with
b = G'(y_j) and e = B''(y_j) + y_i G''(y_j); its eigenvalues are (e +- sqrt(e^2 + 4 b^2)) / 2, so

    ||H||_2 <= L  iff  b^2 + L |e| <= L^2.

Between two consecutive breakpoints (of B or G) the pair (b, e) is affine in (y_i, y_j) and b^2 + L |e| is convex,
so the condition holds on the rectangle iff it holds at its four corners (y_i in {0, 1}). f is C^1 (B, G and
their derivatives agree at every breakpoint) and piecewise C^2, so grad f is L-Lipschitz on the convex box
(integrate H along a segment). f is affine in y_i, so its extrema over the box are those of c + B and c + B + G
over [0, 1]: per interval at the ends or at the vertex of the quadratic, exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy

from counterexamples.verify._piecewise1d import _guards, _upper_bound, polynomial_degree

Poly = tuple[Fraction, Fraction, Fraction]
Pieces = list[tuple[Poly, Fraction | None]]  # (c0 + c1 t + c2 t^2, upper bound of its interval; None: the rest)


class Twist:
    """The parts of a twisted witness: ``const + B(x_j) + x_i G(x_j)``."""

    def __init__(self, xi: sympy.Symbol, xj: sympy.Symbol, const: Fraction, B: Pieces, G: Pieces) -> None:
        self.xi, self.xj, self.const, self.B, self.G = xi, xj, const, B, G
        inner = {b for P in (B, G) for _, b in P if b is not None and 0 < b < 1}
        self.knots = sorted(inner | {Fraction(0), Fraction(1)})

    def parts_on(self, a: Fraction, b: Fraction) -> tuple[Poly, Poly]:
        """The polynomials of B and G on the interval [a, b] between two consecutive knots."""
        mid = (a + b) / 2
        return _active(self.B, mid), _active(self.G, mid)


def _active(P: Pieces, t: Fraction) -> Poly:
    return next(p for p, b in P if b is None or t <= b)


def _at(p: Poly, t: Fraction) -> Fraction:
    return p[0] + t * (p[1] + t * p[2])


def _der(p: Poly, t: Fraction) -> Fraction:
    return p[1] + 2 * p[2] * t


def _rational(v: sympy.Expr) -> Fraction | None:
    return Fraction(int(v.p), int(v.q)) if isinstance(v, sympy.Expr) and v.is_Rational else None


def _poly(e: sympy.Expr, t: sympy.Symbol) -> Poly | None:
    if e.free_symbols - {t} or polynomial_degree(e, [t]) is None:
        return None
    coeffs = sympy.Poly(sympy.expand(e), t).all_coeffs()[::-1] if e.free_symbols else [e]
    if len(coeffs) > 3:
        return None
    out = [_rational(sympy.sympify(c)) for c in coeffs] + [Fraction(0)] * (3 - len(coeffs))
    return None if any(c is None for c in out) else (out[0], out[1], out[2])  # type: ignore[return-value]


def _pieces(e: sympy.Expr, t: sympy.Symbol) -> Pieces | None:
    """A rational polynomial of degree <= 2 in t, or a Piecewise of such with conditions t <= rational bound."""
    if not isinstance(e, sympy.Piecewise):
        p = _poly(e, t)
        return None if p is None else [(p, None)]
    guards = _guards(e)
    if isinstance(guards, str):
        return None
    bounds = [_upper_bound(c, t) for c in guards]
    if any(b is None for b in bounds):
        return None
    out: Pieces = []
    for (val, _), b in zip(e.args, [*bounds, None], strict=True):
        p = _poly(val, t)
        if p is None:
            return None
        if b is None:
            out.append((p, None))
            continue
        q = _rational(b)
        if q is None:
            return None
        out.append((p, q))
    finite = [b for _, b in out if b is not None]
    if any(b2 <= b1 for b1, b2 in zip(finite, finite[1:], strict=False)):
        return None
    return out


def twist_parts(e: sympy.Expr, syms: list[sympy.Symbol]) -> Twist | None:
    """The parts if ``e`` is ``const + B(x_j) + x_i * G(x_j)`` (B, G as in ``_pieces``), else None."""
    if not isinstance(e, sympy.Add):
        return None
    const, b_terms, twist = Fraction(0), [], None
    for term in e.args:
        fs = term.free_symbols
        if not fs:
            c = _rational(term)
            if c is None:
                return None
            const += c
        elif len(fs) == 2 and isinstance(term, sympy.Mul) and twist is None:
            lin = [f for f in term.args if isinstance(f, sympy.Symbol) and f in fs]
            if len(lin) != 1:
                return None
            rest = sympy.Mul(*[f for f in term.args if f is not lin[0]])
            if rest.free_symbols != fs - {lin[0]}:
                return None
            twist = (lin[0], rest)
        elif len(fs) == 1:
            b_terms.append(term)
        else:
            return None
    if twist is None or not set(syms) >= e.free_symbols:
        return None
    xi, g_expr = twist
    (xj,) = g_expr.free_symbols
    if any(t.free_symbols != {xj} for t in b_terms) or len(b_terms) > 1:
        return None
    B = _pieces(b_terms[0], xj) if b_terms else [((Fraction(0), Fraction(0), Fraction(0)), None)]
    G = _pieces(g_expr, xj)
    return None if B is None or G is None else Twist(xi, xj, const, B, G)


def twist_smooth(tw: Twist, L: Fraction) -> tuple[bool, str]:
    """C^1 at every breakpoint and the corner conditions on every interval (module docstring)."""
    for name, P in (("B", tw.B), ("G", tw.G)):
        for (p, b), (q, _) in zip(P, P[1:], strict=False):  # b = 0 too: that piece holds on the face x_j = 0
            if b is not None and 0 <= b < 1 and (_at(p, b) != _at(q, b) or _der(p, b) != _der(q, b)):
                return False, f"{name} is not C^1 at {tw.xj} = {b}"
    for a, b in zip(tw.knots, tw.knots[1:], strict=False):
        pb, pg = tw.parts_on(a, b)
        for t in (a, b):
            slope = _der(pg, t)
            for yi in (0, 1):
                if slope * slope + L * abs(2 * pb[2] + yi * 2 * pg[2]) > L * L:
                    return False, f"|Hessian| > L = {L} at {tw.xj} = {t}, {tw.xi} = {yi}"
    return True, (
        f"twist B({tw.xj}) + {tw.xi} G({tw.xj}): C^1 piecewise quadratics on {len(tw.knots) - 1} intervals, "
        f"G'^2 + L |B'' + {tw.xi} G''| <= L^2 at every corner"
    )


def twist_extreme(tw: Twist, sense: str) -> Fraction:
    """max (sense "max") or min of f over the box, exactly: the values at the knots (each by the piece that holds
    there, also a piece that holds only at x_j = 0) and, per interval, its piece at the ends and at its vertex."""
    vals: list[Fraction] = []
    for t in tw.knots:  # the values at the knots themselves, by the Piecewise's own first-match rule
        pb, pg = _active(tw.B, t), _active(tw.G, t)
        vals += [_at(pb, t), _at(pb, t) + _at(pg, t)]
    for a, b in zip(tw.knots, tw.knots[1:], strict=False):
        pb, pg = tw.parts_on(a, b)
        for p in (pb, (pb[0] + pg[0], pb[1] + pg[1], pb[2] + pg[2])):
            vals += [_at(p, a), _at(p, b)]
            if p[2] != 0 and a < (s := -p[1] / (2 * p[2])) < b:
                vals.append(_at(p, s))
    return tw.const + (max(vals) if sense == "max" else min(vals))


def twist_bound_holds(tw: Twist, bound: Any, sense: str) -> tuple[bool, str] | None:
    """f <= bound ("max") or f >= bound ("min") on the box; None when the bound is not rational."""
    q = _rational(sympy.sympify(bound))
    if q is None:
        return None
    v = twist_extreme(tw, sense)
    ok = v <= q if sense == "max" else v >= q
    return ok, f"exact {sense} of a twist (B and B + G per interval) = {v} vs {q}"
