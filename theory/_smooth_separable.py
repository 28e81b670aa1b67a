"""Separable members of the L-smooth class in d >= 2: sums of one-coordinate rises.

Theorem. If every a_k : [0, 1] -> R is L-smooth, then f(y) = sum_k a_k(y_k) is L-smooth on [0,1]^d:
grad f(y) = (a_k'(y_k))_k, so ||grad f(y) - grad f(z)||_2^2 = sum_k (a_k'(y_k) - a_k'(z_k))^2
<= L^2 sum_k (y_k - z_k)^2. Its extrema over the box are sum_k min a_k and sum_k max a_k, attained coordinate by
coordinate.

Members with the visualization. Split Delta = sum_k Delta_k with Delta_k >= 0 and let a_k be the 1-D witness of
height Delta_k at the k-th coordinates: the fastest rise from x_min,k (``theory.classes.smooth.SmoothWitness``),
f = f_min + sum_k a_k, or the fastest fall from x_max,k, f = f_max - sum_k b_k. f has the visualization iff every
a_k reaches Delta_k at x_max,k, i.e. (``smooth.consistent_1d``)

    Delta_k <= c_k = L (x_max,k - x_min,k)^2 / n_k,   n_k = 4, 2 for two, one interior end points,

c_k = infinity if both are end points of [0, 1] and differ, and c_k = 0 if they are equal. So separable members
exist iff sum_k c_k >= Delta: a sufficient condition for consistency that is weaker than that of the
one-coordinate members (one Delta_k = Delta). The best separable member at x takes

    f(x) = f_min + max over the splits of sum_k P_k(|x_k - x_min,k|; Delta_k),

P_k the fastest rise of height Delta_k from x_min,k (``theory._smooth1d``); likewise below from x_max. The split
is found by search (golden section on exchanges between pairs of coordinates); whatever split it finds, the
member is exact and has the visualization, so the search only decides how good the inner range is, never whether
it is sound.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from theory._numbers import exact_simplified, to_fraction
from theory._setting import FloatArray
from theory._smooth1d import ends_factor
from theory._witness import Witness, _vars

if TYPE_CHECKING:
    import sympy

    from theory.classes.smooth import SmoothWitness

_GOLDEN = (math.sqrt(5) - 1) / 2


def heights_allowed(anchor: FloatArray, other: FloatArray, L: float) -> list[Fraction | None]:
    """c_k exactly (None = no limit): the largest height of a 1-D member at coordinate k that still reaches it at
    ``other[k]`` from ``anchor[k]``, L D_k^2 / k (``_smooth1d.ends_factor``)."""
    Lq = to_fraction(L)
    out: list[Fraction | None] = []
    for a, b in zip(anchor, other, strict=True):
        aq, bq = to_fraction(float(a)), to_fraction(float(b))
        k = ends_factor(aq, bq)
        out.append(Fraction(0) if aq == bq else None if k == 0 else Lq * (bq - aq) ** 2 / k)
    return out


def _enough(caps: list[Fraction | None], delta: Fraction) -> bool:
    """sum_k c_k >= Delta, exactly."""
    return any(c is None for c in caps) or sum((c for c in caps if c is not None), Fraction(0)) >= delta


def separable_exists(xmin: FloatArray, xmax: FloatArray, L: float, delta: Fraction) -> bool:
    """sum_k c_k >= Delta (exact): separable members with the visualization exist."""
    return _enough(heights_allowed(xmin, xmax, L), delta)


def _value(anchor: FloatArray, x: FloatArray, L: float, heights: list[float]) -> float:
    from theory.classes.smooth import _rise_1d

    return sum(_rise_1d(float(a), float(t), L, h) for a, t, h in zip(anchor, x, heights, strict=True) if h > 0)


def best_split(anchor: FloatArray, x: FloatArray, L: float, delta: float, limits: list[Fraction | None]) -> list[float]:
    """A split of Delta (floats, within the limits c_k, whose sum is at least Delta) that makes
    sum_k P_k(|x_k - anchor_k|; Delta_k) large. The coordinates in which x moves get as much as the limits allow
    (P_k does not decrease with Delta_k); the rest absorb what is left; exchanges between pairs of moving
    coordinates are then optimised by golden section."""
    d = len(x)
    # float limits, a little inside the exact ones (``exact_heights`` repairs the sum exactly)
    caps = [(delta if c is None else min(float(c), delta)) * (1 - 1e-12) for c in limits]
    moving = [k for k in range(d) if x[k] != anchor[k] and caps[k] > 0]
    h = [0.0] * d
    left = delta
    open_ = list(moving)
    while open_ and left > 1e-15 * delta:  # water-fill the moving coordinates (P_k does not decrease)
        share = left / len(open_)
        for k in list(open_):
            add = min(share, caps[k] - h[k])
            h[k] += add
            left -= add
            if h[k] >= caps[k]:
                open_.remove(k)
    for k in range(d):  # the others absorb the rest
        if k not in moving and left > 0:
            add = min(caps[k], left)
            h[k] += add
            left -= add
    for _ in range(3 if len(moving) > 2 else 1):
        for i, j in [(i, j) for n, i in enumerate(moving) for j in moving[n + 1 :]]:
            _exchange(anchor, x, L, h, caps, i, j)
    return h


def _exchange(anchor: FloatArray, x: FloatArray, L: float, h: list[float], caps: list[float], i: int, j: int) -> None:
    """Move height between coordinates i and j (their sum fixed) to maximise the value at x: golden section."""
    total = h[i] + h[j]
    lo, hi = max(0.0, total - caps[j]), min(caps[i], total)

    def val(t: float) -> float:
        trial = list(h)
        trial[i], trial[j] = t, total - t
        return _value(anchor, x, L, trial)

    a, b = lo, hi
    c, e = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fe = val(c), val(e)
    for _ in range(48):
        if fc < fe:
            a, c, fc = c, e, fe
            e = a + _GOLDEN * (b - a)
            fe = val(e)
        else:
            b, e, fe = e, c, fc
            c = b - _GOLDEN * (b - a)
            fc = val(c)
    best = max((val(t), t) for t in (lo, hi, (a + b) / 2, h[i]))
    h[i], h[j] = best[1], total - best[1]


def exact_heights(heights: list[float], caps: list[Fraction | None], delta: Fraction) -> list[Fraction]:
    """The split as exact rationals within the exact limits, summing to Delta exactly: each share of Delta is
    rounded to a fraction with denominator <= 1024 (short numbers keep the exact pieces and their proofs small)."""
    total = float(delta)
    q = [delta * Fraction(max(0.0, v) / total).limit_denominator(1024) for v in heights]
    q = [v if c is None else min(v, c) for v, c in zip(q, caps, strict=True)]
    rest = delta - sum(q, Fraction(0))
    for k, c in enumerate(caps):  # repair the rounding: add within the limits, or take away
        if rest > 0:
            add = rest if c is None else min(rest, c - q[k])
            q[k] += add
            rest -= add
        elif rest < 0:
            take = min(-rest, q[k])
            q[k] -= take
            rest += take
    if rest != 0:
        raise ValueError(f"no split of Delta = {delta} within the limits {caps}")
    return q


class SeparableSmoothWitness(Witness):
    """``base + sign * sum_k P_k(|y_k - anchor_k|)``: one 1-D fastest rise of height Delta_k per coordinate
    (``SmoothWitness`` parts with base 0), L-smooth by the theorem above."""

    def __init__(self, parts: list[SmoothWitness], base: Fraction, d: int) -> None:
        self.parts, self.base, self.d = parts, base, d

    def _eval(self, y: FloatArray) -> FloatArray:
        out = np.full(y.shape[0], float(self.base))
        for p in self.parts:
            out = out + p._eval(y)
        return out

    def sympy_expr(self) -> sympy.Expr:
        import sympy

        return sympy.Add(
            sympy.Rational(self.base.numerator, self.base.denominator), *(p.sympy_expr() for p in self.parts)
        )

    def exact_value_str(self, x: FloatArray) -> str:
        import sympy

        sub = {sympy.Symbol(f"x{k}", real=True): sympy.Rational(to_fraction(float(v))) for k, v in enumerate(x)}
        return str(exact_simplified(self.sympy_expr().subs(sub)))

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "sympy", "expr": str(self.sympy_expr()), "vars": _vars(self.d)}


def separable_member(
    anchor: FloatArray, other: FloatArray, x: FloatArray, L: float, fmin: float, fmax: float, sign: int
) -> tuple[float, SeparableSmoothWitness] | None:
    """The best separable member found at x with its extremum at ``anchor`` (f_min if sign = 1, f_max if sign = -1)
    and the other at ``other``: (its value at x, the witness), or None if none has the visualization."""
    from theory.classes.smooth import SmoothWitness

    delta_q = to_fraction(fmax) - to_fraction(fmin)
    limits = heights_allowed(anchor, other, L)
    if delta_q <= 0 or not _enough(limits, delta_q):
        return None
    heights = exact_heights(best_split(anchor, x, L, float(delta_q), limits), limits, delta_q)
    d = len(x)
    parts = [SmoothWitness(d, k, float(anchor[k]), L, hk, Fraction(0), sign) for k, hk in enumerate(heights) if hk > 0]
    base = to_fraction(fmin if sign == 1 else fmax)
    w = SeparableSmoothWitness(parts, base, d)
    return float(w(np.asarray(x, float))), w
