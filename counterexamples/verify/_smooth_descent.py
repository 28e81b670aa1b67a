"""Region claims and answered instances for L-smooth functions in d >= 2, proved exactly in rational arithmetic.

Descent lemma at a flat extremum. Let f be L-smooth (gradient L-Lipschitz in the 2-norm) on [0,1]^d with its global
minimum f_min at x_min, and let v = x - x_min. Call x_min *flat for x* if the chord through x_min and x extends
beyond x_min inside the box: x_min - s v is in the box for some s > 0, i.e. for every k with v_k > 0 x_min,k > 0,
and for every k with v_k < 0 x_min,k < 1 (always when x_min is interior to the box; trivially when v = 0). Then
g(s) = f(x_min + s v) on [-s0, 1] has an interior minimum at s = 0, so g'(0) = 0, and g' is L ||v||^2-Lipschitz, so

    f(x) = g(1) <= g(0) + L ||v||^2 / 2 = f_min + L ||x - x_min||^2 / 2,

and symmetrically f(x) >= f_max - L ||x - x_max||^2 / 2 when x_max is flat for x. Everything here is rational
(||v||^2 is a sum of squares of rationals), so the checks are exact comparisons of fractions:

- region claim "min": x_min flat for x and L ||x - x_min||^2 < Delta (then f(x) < f_min + Delta/2 = c for every
  member); "max" symmetrically. The claim is not vacuous: L ||x_max - x_min||^2 >= 4 Delta is checked, which makes
  the radial function f_min + P(||y - x_min||_2) (P the fastest rise from a flat start, reaching Delta at
  2 sqrt(Delta/L)) a member with the visualization (see ``_smooth.radial_smooth`` for its L-smoothness);
- answered instance (fixed eps): every member's f(x) lies in [f_max - P_max, f_min + P_min], and the claim
  "within eps Delta of m" holds if f_min + P_min <= m + eps Delta and f_max - P_max >= m - eps Delta. With
  u = ||x - x_min|| and h = sqrt(Delta/L), P_min is Delta if x_min is not flat for x, else the flat rise below.

Flat rise. If x_min is flat for x, h < u < 2h and the chord continues at least 2h - u past x inside the box, then
f(x) <= f_min + P(u) with P(u) = Delta - L (2h - u)^2 / 2 (the fastest rise from a flat start that can still stop
below f_max). Proof, along the unit chord g(s) = f(x_min + s e) (g(0) = 0, g'(0) = 0, g' L-Lipschitz, 0 <= g <=
Delta on [0, u + r], r the room past x), with v = g'(u): g(u) <= F(v) = int_0^u min(L s, v + L (u - s)) ds, F
increasing, and F(v*) = P(u) at v* = L (2h - u) (accelerate up to h, then brake). If v <= v*, g(u) <= P(u). If
v* < v <= L r, stopping takes v/L <= r, so Delta >= g(u) + v^2/(2L) and g(u) < Delta - v*^2/(2L) = P(u). If v > L r,
Delta >= g(u + r) >= g(u) + v r - L r^2/2, so g(u) <= Delta - L r^2/2 <= P(u) as r >= 2h - u. Otherwise
P_min = min(Delta, L u^2/2) (descent lemma; P(u) = L u^2/2 for u <= h anyway). P(u) is irrational in general, but
P(u) <= b is exact: P(u) = 2 sqrt(L Delta u^2) - Delta - L u^2/2, so P(u) <= b iff R = b + Delta + L u^2/2 >= 0
and 4 L Delta u^2 <= R^2; the room condition is (t + 1)^2 L u^2 >= 4 Delta with t the largest number such that
x + t (x - x_min) is in the box (rational). Likewise P_max from x_max.
None of this imports the engine.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from counterexamples.verify._exact import frac, vec
from counterexamples.verify._report import Report


def flat_for(anchor: list[Fraction], x: list[Fraction]) -> bool:
    """Does the chord from x through the anchor continue past the anchor inside [0,1]^d?"""
    return all(
        (v <= 0 or a > 0) and (v >= 0 or a < 1) for a, v in ((a, xi - a) for a, xi in zip(anchor, x, strict=True))
    )


def sq_dist(a: list[Fraction], b: list[Fraction]) -> Fraction:
    return sum(((u - v) ** 2 for u, v in zip(a, b, strict=True)), Fraction(0))


def room(anchor: list[Fraction], x: list[Fraction]) -> Fraction | None:
    """The largest t >= 0 with x + t (x - anchor) in [0,1]^d (None if x = anchor)."""
    ts = [(1 - xi) / (xi - a) if xi > a else xi / (a - xi) for a, xi in zip(anchor, x, strict=True) if xi != a]
    return min(ts) if ts else None


def rise_at_most(L: Fraction, anchor: list[Fraction], x: list[Fraction], delta: Fraction, b: Fraction) -> str | None:
    """Is |f(x) - f(anchor)| <= b for every L-smooth member whose extremum (f_min or f_max) is at the anchor? The
    lemma that proves it ("bound", "descent lemma", "flat rise"), or None if none does (module docstring)."""
    if delta <= b:
        return "bound"  # every member stays within [f_min, f_max]
    if not flat_for(anchor, x):
        return None
    u2 = sq_dist(x, anchor)
    if L * u2 / 2 <= b:
        return "descent lemma"
    t = room(anchor, x)
    if delta < L * u2 < 4 * delta and t is not None and (t + 1) ** 2 * L * u2 >= 4 * delta:
        r = b + delta + L * u2 / 2
        if r >= 0 and 4 * L * delta * u2 <= r * r:
            return "flat rise"
    return None


def _read(cert: dict[str, Any]) -> tuple[Fraction, list[Fraction], list[Fraction], list[Fraction], Fraction, Fraction]:
    fv = cert["fv"]
    L = frac(str(cert["params"]["L"]))
    x, xmax, xmin = vec(cert["x"]), vec(fv["x_max"]), vec(fv["x_min"])
    if not (len(x) == len(xmax) == len(xmin) == int(cert["params"]["d"])):
        raise ValueError("x, x_max and x_min must have d coordinates")
    if any(not 0 <= v <= 1 for v in (*x, *xmax, *xmin)):
        raise ValueError("x, x_max and x_min must lie in [0,1]^d")
    return L, x, xmax, xmin, frac(fv["f_max"]), frac(fv["f_min"])


def radial_members_exist(L: Fraction, xmax: list[Fraction], xmin: list[Fraction], delta: Fraction) -> bool:
    """L ||x_max - x_min||^2 >= 4 Delta: the radial members have the visualization (the claim is not vacuous)."""
    return L * sq_dist(xmax, xmin) >= 4 * delta


def verify_smooth_region_descent(cert: dict[str, Any]) -> Report:
    """A region claim for L-smooth f in d >= 2 by the descent lemma at a flat extremum (module docstring)."""
    decision = cert.get("decision")
    rep = Report(f"L-smooth region claim, d >= 2 ({decision})")
    try:
        L, x, xmax, xmin, fmax, fmin = _read(cert)
    except (KeyError, TypeError, ValueError) as err:
        rep.add("certificate parses", False, f"{err.__class__.__name__}: {err}")
        return rep
    delta = fmax - fmin
    rep.add("Delta > 0", delta > 0, f"Delta = {delta} (Delta = 0 makes every member the constant c: a tie)")
    rep.add(
        "the visualization is consistent: radial members exist (L ||x_max - x_min||^2 >= 4 Delta)",
        radial_members_exist(L, xmax, xmin, delta),
        f"L ||x_max - x_min||^2 = {L * sq_dist(xmax, xmin)} vs 4 Delta = {4 * delta}",
    )
    if decision not in ("min", "max"):
        rep.add("decision", False, f"unknown decision {decision!r}; expected 'min' or 'max'")
        return rep
    anchor = xmin if decision == "min" else xmax
    rep.add(
        f"x_{decision} is flat for x (the chord through x continues past it inside the box)",
        flat_for(anchor, x),
        f"x_{decision} = {[str(v) for v in anchor]}, x = {[str(v) for v in x]}",
    )
    u2 = sq_dist(x, anchor)
    rep.add(
        f"L ||x - x_{decision}||^2 < Delta, so |f(x) - f(x_{decision})| <= L ||x - x_{decision}||^2/2 < Delta/2 "
        "(descent lemma, exact)",
        L * u2 < delta,
        f"L ||x - x_{decision}||^2 = {L * u2} vs Delta = {delta}",
    )
    return rep


def answered_within(cert: dict[str, Any], m: Fraction, eps: Fraction, rep: Report, prefix: str = "below: ") -> None:
    """An answered instance at a fixed eps, d >= 2: [f_max - P_max, f_min + P_min] lies within eps Delta of m
    (bound, descent lemma or flat rise at each extremum; module docstring)."""
    try:
        L, x, xmax, xmin, fmax, fmin = _read(cert)
    except (KeyError, TypeError, ValueError) as err:
        rep.add(f"{prefix}instance parses", False, f"{err.__class__.__name__}: {err}")
        return
    delta = fmax - fmin
    half = eps * delta
    for side, anchor, b, sign in (("above", xmin, m + half - fmin, "+"), ("below", xmax, fmax - m + half, "-")):
        how = rise_at_most(L, anchor, x, delta, b)
        rep.add(
            f"{prefix}no member has f(x) {side} m {sign} eps Delta",
            how is not None,
            f"|f(x) - f(x_{'min' if side == 'above' else 'max'})| <= {b} needed; "
            + (f"proved by the {how}, exact" if how else "no lemma proves it (bound, descent lemma, flat rise)"),
        )
