"""Ridge members of the L-smooth class in d >= 2: functions of one linear form, f(y) = phi(t(y)).

With a direction v != 0, ``t(y) = (v.y - t0) / W``, ``t0 = sum_k min(v_k, 0)`` and ``W = ||v||_1`` maps the box
[0,1]^d onto [0, 1]. The Hessian of phi(t(y)) is ``phi''(t) v v' / W^2``, of 2-norm ``|phi''| ||v||_2^2 / W^2``, so
f is L-smooth iff phi is L_t-smooth on [0, 1] with

    L_t = L W^2 / ||v||_2^2.

The 1-D witnesses of ``theory.classes.smooth`` (the fastest rise P from an anchor, ``theory._smooth1d``) therefore
give d-dimensional members: ``f_min + P(|t(y) - t(x_min)|)`` with the curvature bound L_t; it has the visualization
iff it reaches f_max at t(x_max). The one-coordinate witnesses are the special case v = e_k.

Theorem (the chord bound is attained). Take v = x - x_min, u = ||v||_2. If x moves only in coordinates where x_min is
on the boundary of the box, inward (v_k > 0 => x_min,k = 0, v_k < 0 => x_min,k = 1), then t(x_min) = 0 is an end
of [0, 1], so the ridge member's rise starts with a free slope, and in Euclidean units along e = v/u it is the
fastest non-flat rise with room ``T' = W/u = ||e||_1``:

    f(x) = f_min + P(u; room T', not flat).

The outer bound is the same rise along the chord with room T (the chord length from x_min through x to the
boundary, T <= T'), and P(u; room, not flat) does not depend on the room once it is >= s* = sqrt(2 Delta/L). So the
upper end of the value range at x is exact when the member has the visualization and T >= s* or T = T' (e.g. x on
a diagonal of the moving coordinates). Likewise for the lower end from x_max.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from theory._numbers import exact_simplified, to_fraction
from theory._setting import FloatArray
from theory._witness import Witness

if TYPE_CHECKING:
    import sympy


class RidgeSmoothWitness(Witness):
    """``base + sign * P_a(|t(y) - a|)``, t(y) = (v.y - t0)/W, a = t(anchor), P the fastest L_t-smooth rise on
    [0, 1] from a (``theory.classes.smooth.SmoothWitness`` on the projection t)."""

    def __init__(self, v: list[Fraction], anchor: FloatArray, L: float, D: float, base: float, sign: int) -> None:
        self.v = v
        self.d = len(v)
        self.t0 = sum((min(c, Fraction(0)) for c in v), Fraction(0))
        self.W = sum((abs(c) for c in v), Fraction(0))
        norm2 = sum((c * c for c in v), Fraction(0))
        self.L_t = to_fraction(L) * self.W * self.W / norm2
        self.a = self.t(anchor)
        self._vf = np.array([float(c) for c in v])
        from theory.classes.smooth import SmoothWitness

        # the 1-D witness in the coordinate t (d = 1), given the exact a and L_t: its exact pieces then have
        # curvature exactly L_t (a float L_t read back as a rational may exceed it)
        self.profile = SmoothWitness(1, 0, self.a, self.L_t, to_fraction(D), to_fraction(base), sign)

    def t(self, y: FloatArray) -> Fraction:
        """t(y) exactly, from the rational value of each coordinate."""
        dot = sum((c * to_fraction(float(yk)) for c, yk in zip(self.v, y, strict=True)), Fraction(0))
        return (dot - self.t0) / self.W

    def _eval(self, y: FloatArray) -> FloatArray:
        t = (y @ self._vf - float(self.t0)) / float(self.W)
        return self.profile._eval(t[:, None])

    def linear_form(self) -> sympy.Expr:
        import sympy

        xs = [sympy.Symbol(f"x{k}", real=True) for k in range(self.d)]
        num = sum((sympy.Rational(c.numerator, c.denominator) * x for c, x in zip(self.v, xs, strict=True)), 0)
        return (num - sympy.Rational(self.t0.numerator, self.t0.denominator)) / sympy.Rational(
            self.W.numerator, self.W.denominator
        )

    def sympy_expr(self) -> sympy.Expr:
        """The profile's Piecewise with t replaced by the linear form: conditions ``t(y) <= b``."""
        import sympy

        return self.profile.sympy_expr().subs(sympy.Symbol("x0", real=True), self.linear_form())

    def exact_value_str(self, x: FloatArray) -> str:
        import sympy

        t = self.t(x)
        prof = self.profile.sympy_expr()
        at_t = prof.subs(sympy.Symbol("x0", real=True), sympy.Rational(t.numerator, t.denominator))
        return str(exact_simplified(at_t))

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "sympy", "expr": str(self.sympy_expr()), "vars": [f"x{k}" for k in range(self.d)]}


def ridge_member(
    anchor: FloatArray, other: FloatArray, x: FloatArray, L: float, delta: float, base: float, sign: int
) -> tuple[float, RidgeSmoothWitness] | None:
    """The ridge member along v = x - anchor with its extremum ``base`` at the anchor and ``base + sign * delta`` at
    ``other``: (its value at x, the witness), or None if x = anchor or the member does not reach the other
    extremum (then it does not have the visualization)."""
    from theory.classes.smooth import _rise_1d

    v = [to_fraction(float(a)) - to_fraction(float(b)) for a, b in zip(x, anchor, strict=True)]
    if not any(v) or delta <= 0:
        return None
    w = RidgeSmoothWitness(v, anchor, L, delta, base, sign)
    a, L_t = float(w.a), float(w.L_t)
    if _rise_1d(a, float(w.t(other)), L_t, delta) < delta * (1 - 1e-12):
        return None
    return base + sign * _rise_1d(a, float(w.t(x)), L_t, delta), w


def chord_bound_attained(anchor: FloatArray, other: FloatArray, x: FloatArray, L: float, delta: float) -> bool:
    """The theorem's sufficient condition for the chord bound from ``anchor`` at x to be attained by the ridge
    member along x - anchor: x moves only in coordinates where the anchor is on the boundary, inward; the chord
    room T is >= s* = sqrt(2 Delta/L) or equals T' = ||e||_1; and the member reaches the other extremum."""
    from theory.classes.smooth import _chord

    v = np.asarray(x, float) - np.asarray(anchor, float)
    moving = v != 0
    if not moving.any() or delta <= 0:
        return False
    inward = ((v > 0) & (anchor == 0)) | ((v < 0) & (anchor == 1))
    if not np.all(inward[moving]):
        return False
    u, T, _ = _chord(np.asarray(anchor, float), np.asarray(x, float))
    if u == 0:  # x within a subnormal distance of the anchor: ||v|| underflows, x is the anchor in floats
        return False
    T_prime = float(np.sum(np.abs(v))) / u
    s_star = float(np.sqrt(2 * delta / L))
    if not (s_star * (1 - 1e-12) <= T or abs(T - T_prime) <= 1e-12 * T_prime):
        return False
    return ridge_member(anchor, other, x, L, delta, 0.0, 1) is not None
