"""Width bounds for L-Lipschitz classes in the 1- and 2-norm, d >= 2, re-proved with z3 in two lemmas (the direct
query, 3d + 4 real variables with square roots, is beyond z3's nonlinear arithmetic for the 2-norm).

Lemma A (reduction, linear): two values t1, t2 that satisfy the necessary conditions of an L-Lipschitz member with a
visualization (f_min <= t <= f_max, t - f_min <= L r_min, f_max - t <= L r_max, f_max - f_min <= L D) differ by at
most L min(D, r_min, r_max). Checked as: t1 - t2 > sup together with min(D, r_min, r_max) <= sup / L is unsat.

Lemma B (geometry): no triangle in [0,1]^d has all three sides longer than s = sup / L.
- Sums per coordinate: for u, v, w in [0,1], |u - v| + |v - w| + |w - u| <= 2 and the squares of the three
  differences sum to at most 2 (z3, three variables). Summed over the coordinates, the three sides (1-norm) or their
  squares (2-norm) total at most 2d, so the smallest is at most 2d/3: enough when s >= 2d/3 (1-norm) or
  s^2 >= 2d/3 (2-norm).
- The 2-norm in d = 2 (s^2 < 4/3): sort the points by the first coordinate (relabelling), gaps a, b >= 0 with
  a + b <= 1; in the second coordinate one of the three points lies between the others, so the vertical
  differences are u, w and u + w <= 1, assigned to the sides in one of three ways. Each way is a four-variable
  problem for z3: a^2 + dy_12^2, b^2 + dy_23^2, (a + b)^2 + dy_13^2 all > s^2 is unsat.
- The 2-norm in d >= 4 not divisible by 3 (s^2 < 2d/3): per coordinate, the three squared differences are at most
  1 for one pair (the two extreme numbers; they are at most 1 apart) and (p, q) for the other two, where
  sqrt p + sqrt q <= 1. That curve is convex in p, so (p, q) lies under one of the chords between the breakpoints
  p = 0, u0^2, (1 - u0)^2, 1 (u0 = a rational near sqrt 2 - 1 for d = 3k + 1, near 2 - sqrt 3 for d = 3k + 2,
  where the witnesses split a coordinate): the chord lemma (z3, three variables, nine cases, one query per order of
  the three numbers). Summed over the
  coordinates of each long side j and chord t (counts n_jt, totals P_jt, Q_jt), the squared sides are at most
  sum_t n_jt + P_(j-1)t + Q_(j-2)t; all three above s^2 is a linear query with nine integers.
This module imports nothing from the engine.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import z3


def _q(v: Fraction) -> Any:
    return z3.RealVal(f"{v.numerator}/{v.denominator}")


def _unsat(constraints: list[Any], timeout_ms: int) -> Any:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*constraints)
    return s.check()


def _abs(e: Any) -> Any:
    return z3.If(e >= 0, e, -e)


def reduction_lemma(L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Lemma A: a width above ``sup`` forces all of D, r_min, r_max above sup / L."""
    fmin, fmax, t1, t2, D, rmin, rmax = z3.Reals("fmin fmax t1 t2 D rmin rmax")
    cons = [D >= 0, rmin >= 0, rmax >= 0, fmax >= fmin, fmax - fmin <= _q(L) * D, t1 - t2 > _q(sup)]
    for t in (t1, t2):
        cons += [t >= fmin, t <= fmax, t - fmin <= _q(L) * rmin, fmax - t <= _q(L) * rmax]
    s = sup / L
    cons.append(z3.Or(_q(s) >= D, rmin <= _q(s), rmax <= _q(s)))
    res = _unsat(cons, timeout_ms)
    return res == z3.unsat, f"lemma A (z3, linear): a width > {sup} needs D, r_min, r_max > {s}: {res}"


def coordinate_lemma(norm: str, timeout_ms: int) -> tuple[bool, str]:
    """Per coordinate: the three pairwise differences of u, v, w in [0,1] sum (1-norm) or sum in squares (2-norm)
    to at most 2."""
    u, v, w = z3.Reals("u v w")
    box = [c for t in (u, v, w) for c in (t >= 0, t <= 1)]
    diffs = (u - v, v - w, w - u)
    total = z3.Sum([_abs(e) for e in diffs]) if norm == "1" else z3.Sum([e * e for e in diffs])
    res = _unsat([*box, total > 2], timeout_ms)
    kind = "|differences|" if norm == "1" else "squared differences"
    return res == z3.unsat, f"per coordinate the three {kind} of numbers in [0,1] sum to <= 2 (z3): {res}"


def square_lemma(s: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """The 2-norm in d = 2: three points of the unit square always have two within s (three cases, z3)."""
    a, b, u, w = z3.Reals("a b u w")
    base = [a >= 0, b >= 0, a + b <= 1, u >= 0, w >= 0, u + w <= 1]
    s2 = _q(s * s)
    results = []
    for d12, d23, d13 in ((u, w, u + w), (u + w, w, u), (u, u + w, w)):  # middle in y: point 2, 3, 1
        sides = [a * a + d12 * d12 > s2, b * b + d23 * d23 > s2, (a + b) * (a + b) + d13 * d13 > s2]
        results.append(_unsat([*base, *sides], timeout_ms))
    ok = all(r == z3.unsat for r in results)
    return ok, f"three points of the unit square with all sides > {s}: the three orderings are {results}"


def chord_breakpoint(d: int) -> Fraction:
    """u0 for the chord lemma: a rational within 1e-12 of sqrt 2 - 1 (d = 3k + 1) or 2 - sqrt 3 (d = 3k + 2), the
    splits of the witness triangles. Any u0 in (0, 1/2) gives a valid bound; these make it tight."""
    n = 10**12
    if d % 3 == 1:
        return Fraction(math.isqrt(2 * n * n) - n, n)
    return Fraction(2 * n - math.isqrt(3 * n * n), n)


def _chords(u0: Fraction) -> list[tuple[Fraction, Fraction, Fraction, Fraction]]:
    """The chords (p_left, p_right, q_left, slope) of q = (1 - sqrt p)^2 between p = 0, u0^2, (1 - u0)^2, 1."""
    us = [Fraction(0), u0, 1 - u0, Fraction(1)]
    ps, qs = [u * u for u in us], [(1 - u) * (1 - u) for u in us]
    return [(ps[t], ps[t + 1], qs[t], (qs[t + 1] - qs[t]) / (ps[t + 1] - ps[t])) for t in range(3)]


def chord_lemma(u0: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Per coordinate: for numbers y_0, y_1, y_2 in [0,1] with squared differences D_j (the side j: 0 = (0, 1),
    1 = (2, 0), 2 = (2, 1)), some side j has D_j <= 1 and (D_(j+1), D_(j+2)) lies under a point of one chord."""
    y = z3.Reals("y0 y1 y2")
    dd = [(y[0] - y[1]) ** 2, (y[2] - y[0]) ** 2, (y[2] - y[1]) ** 2]
    cases = []
    for j in range(3):
        p, q = dd[(j + 1) % 3], dd[(j + 2) % 3]
        for left, right, q_left, slope in _chords(u0):
            at = z3.If(p >= _q(left), p, _q(left))  # the chord's point above p: q is at most its height there
            cases.append(z3.And(dd[j] <= 1, p <= _q(right), q <= _q(q_left) + _q(slope) * (at - _q(left))))
    box = [c for v in y for c in (v >= 0, v <= 1)]
    results = [  # one query per order of the three numbers (z3 is fast on each, slow on their union)
        _unsat([*box, y[i] <= y[j], y[j] <= y[k], z3.Not(z3.Or(cases))], timeout_ms)
        for i, j, k in itertools.permutations(range(3))
    ]
    ok = all(r == z3.unsat for r in results)
    return ok, f"chord lemma (z3, u0 = {float(u0):.12f}, six orders): {', '.join(map(str, results))}"


def chord_sum(d: int, u0: Fraction, s2: Fraction) -> list[Any]:
    """The chord lemma summed over d coordinates: the three squared sides all above s2 (unsat proves the bound)."""
    chords = _chords(u0)
    n = [[z3.Int(f"n{j}_{t}") for t in range(3)] for j in range(3)]
    P = [[z3.Real(f"P{j}_{t}") for t in range(3)] for j in range(3)]
    Q = [[z3.Real(f"Q{j}_{t}") for t in range(3)] for j in range(3)]
    cons = [z3.Sum([v for row in n for v in row]) == d]
    for j in range(3):
        for t, (left, right, q_left, slope) in enumerate(chords):
            k, p, q = n[j][t], P[j][t], Q[j][t]
            cons += [
                k >= 0,
                p >= _q(left) * k,
                p <= _q(right) * k,
                q <= _q(q_left) * k + _q(slope) * (p - _q(left) * k),
            ]
    for side in range(3):
        total = z3.Sum([n[side][t] + P[(side - 1) % 3][t] + Q[(side - 2) % 3][t] for t in range(3)])
        cons.append(total > _q(s2))
    return cons


def prove_lipschitz_width(d: int, norm: str, L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Every value range of an L-Lipschitz class (1- or 2-norm, d >= 2) is at most ``sup`` wide: lemma A and
    lemma B with s = sup / L."""
    if sup < 0 or L <= 0:
        return False, f"sup_width = {sup} and L = {L}: a width bound needs sup_width >= 0 and L > 0"
    ok_a, detail_a = reduction_lemma(L, sup, timeout_ms)
    s = sup / L
    bound = Fraction(2 * d, 3)
    if (norm == "1" and s >= bound) or (norm == "2" and s * s >= bound):
        ok_b, detail_b = coordinate_lemma(norm, timeout_ms)
        detail_b += f"; so the smallest side is <= {'2d/3' if norm == '1' else 'sqrt(2d/3)'} <= {s}"
    elif norm == "2" and d == 2:
        ok_b, detail_b = square_lemma(s, timeout_ms)
    elif norm == "2" and d >= 4 and d % 3:
        u0 = chord_breakpoint(d)
        ok_c, detail_c = chord_lemma(u0, timeout_ms)
        res = _unsat(chord_sum(d, u0, s * s), timeout_ms)
        ok_b = ok_c and res == z3.unsat
        detail_b = f"{detail_c}; summed over {d} coordinates (z3, nine integers), all squared sides > {s * s}: {res}"
    else:
        ok_b = False
        detail_b = f"no triangle lemma proves that every triangle in [0,1]^{d} ({norm}-norm) has a side <= {s}"
    return ok_a and ok_b, f"{detail_a}; lemma B: {detail_b}"
