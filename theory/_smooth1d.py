"""The fastest rise of an L-smooth function from its minimum, the building block of the L-smooth value ranges.

Setting: phi on a segment [0, T] (s = distance from the anchor), phi(0) = 0 is the minimum, 0 <= phi <= D,
|phi''| <= L (phi' L-Lipschitz). ``flat``: the anchor is interior to the domain, so phi'(0) = 0; otherwise the
anchor is an end of the domain and phi'(0) >= 0 is free. Write h = sqrt(D/L), s* = sqrt(2D/L).

Theorem. sup phi(u) = P(u), attained by P itself (bang-bang in phi''):
  flat:      accelerate (phi'' = L) up to a, then decelerate (phi'' = -L), then hold D;
             a = h if T >= 2h (P reaches D with zero slope at 2h), a = T - sqrt(T^2/2 - h^2) if s* <= T < 2h
             (P reaches D exactly at T), a = inf if T < s* (P = L s^2/2 never reaches D).
  not flat:  start with slope v0 and decelerate: v0 = sqrt(2 L D) if T >= s* (reaches D with zero slope at s*,
             then holds D), v0 = D/T + L T/2 otherwise (reaches D exactly at T).
Proof of the bound (comparison functions): with psi = phi - P, on the deceleration part psi'' = phi'' + L >= 0, so
psi is convex there; psi(a) <= 0 and psi'(a) <= 0 (from phi'' <= L on [0, a], resp. psi(0) = 0 when not flat).
If psi(u) > 0 for some u then psi increases from u on, so phi > P = D at the point where P reaches D (or at T):
a contradiction with phi <= D. On the acceleration part phi(u) <= L u^2/2 directly.

The pieces are returned as (start, value, slope, curvature) tuples in any number type with a square root
(floats with math.sqrt for ranges, sympy numbers with sympy.sqrt for exact witnesses).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Piece = tuple[Any, Any, Any, Any]


def rise_pieces(T: Any, flat: bool, L: Any, D: Any, sqrt: Callable[[Any], Any] = math.sqrt) -> list[Piece]:
    """The fastest rise P on [0, T] as C^1 pieces (start s_i, P(s_i), P'(s_i), P'')."""
    if D == 0:
        return [(0 * T, 0 * T, 0 * T, 0 * T)]
    zero = 0 * T
    if flat:
        h2 = D / L
        h = sqrt(h2)
        if 2 * h <= T:
            a = h
        elif 2 * h2 <= T * T:
            a = T - sqrt(T * T / 2 - h2)
        else:
            return [(zero, zero, zero, L)]
        pieces = [(zero, zero, zero, L), (a, L * a * a / 2, L * a, -L)]
        if 2 * a < T:
            pieces.append((2 * a, D, zero, zero))
        return pieces
    if T * T * L >= 2 * D:
        v0 = sqrt(2 * L * D)
        peak = v0 / L
        pieces = [(zero, zero, v0, -L)]
        if peak < T:
            pieces.append((peak, D, zero, zero))
        return pieces
    return [(zero, zero, D / T + L * T / 2, -L)]


def evaluate(pieces: list[Piece], s: Any) -> Any:
    """P(s) from its pieces (s >= 0)."""
    start, v, g, k = pieces[0]
    for p in pieces:
        if p[0] <= s:
            start, v, g, k = p
    return v + g * (s - start) + k / 2 * (s - start) ** 2


def rise(u: float, T: float, flat: bool, L: float, D: float) -> float:
    """P(u): the largest value at distance u from the anchor (floats)."""
    return float(evaluate(rise_pieces(T, flat, L, D), u))


def free_slope(T: float, L: float, D: float) -> float:
    """v0(T): the largest initial slope of an L-smooth phi >= 0 on [0, T] from phi(0) = 0 that stays <= D:
    sqrt(2 L D) if T >= s*, D/T + L T/2 otherwise (non-increasing in T)."""
    return math.sqrt(2 * L * D) if T * T * L >= 2 * D else D / T + L * T / 2


def capped_rise(u: float, T: float, cap: float, L: float, D: float) -> float:
    """sup phi(u) over L-smooth phi on [0, T] with phi(0) = 0, phi <= D and initial slope phi'(0) <= cap.

    cap >= v0(T): the free rise (``rise(u, T, False, L, D)``). Otherwise bang-bang: accelerate (phi'' = L) from
    slope cap up to s1, then decelerate (phi'' = -L) until D is reached at E, then hold D:
      long room:  w^2 = (2 L D + cap^2)/2, s1 = (w - cap)/L, E = s1 + w/L <= T (zero slope at E);
      short room: cap T + L T^2/2 <= D: accelerate all the way (D is not reached on [0, T]);
                  else r = sqrt((cap T + L T^2/2 - D)/L), s1 = T - r, E = T (D reached exactly at T).
    cap = 0 is the flat rise. Proof (as for ``rise``): psi = phi - P has psi(0) = 0, psi'(0) <= 0 and psi'' <= 0 on
    [0, s1], so psi <= 0 and psi' <= 0 there; on [s1, E] psi is convex, so psi(u) > 0 would make psi increase up
    to E, where P = D: phi(E) > D, a contradiction."""
    if u <= 0 or D == 0:
        return 0.0
    if cap >= free_slope(T, L, D):
        return rise(u, T, False, L, D)
    w = math.sqrt((2 * L * D + cap * cap) / 2)
    s1 = (w - cap) / L
    E = s1 + w / L
    if E > T:
        if cap * T + L * T * T / 2 <= D:
            return cap * u + L * u * u / 2
        s1, E = T - math.sqrt((cap * T + L * T * T / 2 - D) / L), T
    if u <= s1:
        return cap * u + L * u * u / 2
    if u >= E:
        return D
    top = cap * s1 + L * s1 * s1 / 2  # value and slope at s1, then decelerate
    g1 = cap + L * s1
    return top + g1 * (u - s1) - L * (u - s1) ** 2 / 2


def ends_factor(a: Any, b: Any) -> int:
    """k in the 1-D consistency condition L D^2 >= k Delta for a minimum and a maximum at a != b in [0, 1]: 4 if
    both are interior, 2 if one is, 0 if neither (every L then works). The rise from an interior anchor must
    accelerate and decelerate (reaching Delta takes 2 sqrt(Delta/L)); from an end it may start with a slope, and
    two interior extrema split D between two such rises."""
    return {2: 4, 1: 2, 0: 0}[int(0 < a < 1) + int(0 < b < 1)]


def critical_L(u: float, T: float, flat: bool, D: float) -> float:
    """The L at which P(u) = D/2 (P increases with L): below it every member stays below the midpoint at
    distance u from the minimiser. Flat anchor: D/u^2 (u is then in the acceleration phase, whatever T). Anchor
    at an end of a domain of length T = 1 (scale-free form with r = u/T): D (3 - 2 sqrt 2)/u^2 if
    r <= 1 - 1/sqrt 2, D (1 - 2r)/(T^2 r (1 - r)) if r < 1/2, else 0 (P(u) >= D r >= D/2 for every L)."""
    if u == 0:
        return math.inf
    if flat:
        return D / (u * u)
    r = u / T
    if r <= 1 - 1 / math.sqrt(2):
        return D * (3 - 2 * math.sqrt(2)) / (u * u)
    if r < 0.5:
        return D * (1 - 2 * r) / (T * T * r * (1 - r))
    return 0.0
