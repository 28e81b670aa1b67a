"""L-smooth functions in d >= 2: where "closer to min or max" and eps-approximation are decided, and the
class-level "depends" verdicts with certificates (docs/theory.md, "L-smooth, d >= 2: decided cases").

Descent lemma at a flat extremum. Call x_min *flat for x* if the chord through x_min and x continues past x_min
inside the box (x_min - s (x - x_min) in [0,1]^d for some s > 0; always when x_min is interior to the box). Then
g(s) = f(x_min + s (x - x_min)) has an interior minimum at 0, g'(0) = 0, g' is L ||x - x_min||^2-Lipschitz, so

    f(x) <= f_min + L ||x - x_min||_2^2 / 2        (and f(x) >= f_max - L ||x - x_max||_2^2 / 2 if x_max is flat).

Theorem (decided cases). Let Delta > 0, h = sqrt(Delta/L), D = ||x_max - x_min||_2 >= 2h (then the radial members
f_min + P(||y - x_min||) and f_max - P(||y - x_max||), P the fastest rise from a flat start, have the visualization;
P(s) = L s^2/2 up to h, so P(s) < Delta/2 iff s < h). If x_min is flat for x, every member has f(x) < c iff
||x - x_min|| < h: "if" by the descent lemma (f(x) - f_min <= L u^2/2 < Delta/2), "only if" because the radial
member from x_min has f(x) = f_min + P(u) >= c when u >= h. Likewise for x_max and "> c". So when both are flat for x
(in particular for every x when x_min and x_max are interior to the box, where D >= 2h is also necessary for
consistency), x is answered iff

    L < L*(x) = Delta / min(||x - x_min||, ||x - x_max||)^2,

or x is the midpoint at the smallest L = 4 Delta / D^2 (then both bounds give f(x) = c: a tie).
Not flat: where an extremum on the boundary of the box is not flat for x (the chord through x starts at it), the
outer bound is the chord rise with a free initial slope; ridge members (``theory._smooth_ridge``) attain it when x
moves only inward across the extremum's boundary coordinates and the chord has room >= sqrt(2 Delta/L). Elsewhere
(e.g. x also moving along the edge that holds the extremum) the answer is bracketed and may be "open".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from theory import _certificates as certs
from theory._numbers import to_fraction
from theory._range import ValueRange
from theory._setting import FeatureVisualization, FloatArray
from theory.classes.smooth import Smooth


def flat_for(anchor: FloatArray, x: FloatArray) -> bool:
    """Does the chord from x through the anchor continue past the anchor inside [0,1]^d?"""
    v = x - anchor
    return bool(np.all(((v <= 0) | (anchor > 0)) & ((v >= 0) | (anchor < 1))))


def descent_bracket(L: float, fv: FeatureVisualization, x: FloatArray) -> tuple[float, float]:
    """[lo, hi] containing f(x) for every L-smooth member (descent lemma at the flat extrema; else [f_min, f_max])."""
    hi = fv.f_max
    if flat_for(fv.x_min, x):
        hi = min(hi, fv.f_min + L * float(np.sum((x - fv.x_min) ** 2)) / 2)
    lo = fv.f_min
    if flat_for(fv.x_max, x):
        lo = max(lo, fv.f_max - L * float(np.sum((x - fv.x_max) ** 2)) / 2)
    return lo, hi


def decided_exactly(fv: FeatureVisualization, x: FloatArray, L: float) -> bool:
    """Is "closer to min or max" at (fv, x) inside the decided cases of the theorem (both extrema flat for x,
    radial members present)?"""
    D = float(np.linalg.norm(fv.x_max - fv.x_min))
    return fv.delta > 0 and 4 * fv.delta * (1 - 1e-12) <= L * D * D and flat_for(fv.x_min, x) and flat_for(fv.x_max, x)


def critical_L(fv: FeatureVisualization, x: FloatArray) -> float:
    """L*(x) = Delta / min(||x - x_min||, ||x - x_max||)^2 (the decided cases)."""
    u = min(float(np.linalg.norm(x - fv.x_min)), float(np.linalg.norm(x - fv.x_max)))
    return math.inf if u == 0 else fv.delta / (u * u)


def _geometry(d: int) -> tuple[FloatArray, FloatArray]:
    """An interior visualization: x_min = (1/4, 1/2, ..., 1/2), x_max = (3/4, 1/2, ..., 1/2), D = 1/2."""
    xmin, xmax = np.full(d, 0.5), np.full(d, 0.5)
    xmin[0], xmax[0] = 0.25, 0.75
    return xmin, xmax


def _scaled(L: float, q: Fraction) -> float:
    """q L as a float computed from the exact rational value of L (so certificates read back q L exactly)."""
    return float(to_fraction(L) * q)


CONDITION = (
    "decided where x_min and x_max are flat for x (x_min - s (x - x_min) in the box for some s > 0, always for "
    "interior points) and L ||x_max - x_min||^2 >= 4 Delta (radial members): every member agrees at x iff "
    "L < L*(x) = Delta / min(||x - x_min||_2, ||x - x_max||_2)^2 (or x is the midpoint at L = 4 Delta/||x_max - "
    "x_min||^2: a tie); elsewhere L* is bracketed (chord bound below, radial and one-coordinate members above)"
)
SHORT = "only for small L: min(||x - x_min||, ||x - x_max||)_2 < sqrt(Delta/L) (interior x_min, x_max)"


def _bisect(ok: Callable[[float], bool], lo: float, hi: float, at_lo: bool, rel: float) -> tuple[float, float]:
    """Shrink [lo, hi] to relative width ``rel`` around the point where ``ok`` changes, given ok(lo) = ``at_lo`` and
    ok(hi) = not at_lo (the engine's bisection on its own ranges, a bug check against a closed form)."""
    while hi - lo > rel * hi:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) == at_lo else (lo, mid)
    return lo, hi


def min_or_max_threshold(fc: Smooth) -> tuple[str, dict[str, Any]]:
    """The class-level "depends" for min_or_max in d >= 2: an interior visualization and a point x off the axis with
    ||x - x_min|| = 1/8, Delta = L/100 (h = 1/10): L_min = 16 Delta, L* = 64 Delta < L. The region below L* is a
    descent-lemma claim; above it the radial member from x_min exceeds c and the member from x_max reaches f_min.
    The engine's bisection on its own ranges must agree with the closed form L* (a bug check)."""
    d, L = fc.d, fc.L
    xmin, xmax = _geometry(d)
    fv = FeatureVisualization(xmax, _scaled(L, Fraction(1, 100)), xmin, 0.0)
    x = xmin.copy()
    x[0] += 3 / 40
    x[1] += 1 / 10  # ||x - x_min|| = 1/8 (3-4-5)
    D = float(np.linalg.norm(xmax - xmin))
    L_min = 4 * fv.delta / (D * D)
    L_star = critical_L(fv, x)
    if not (decided_exactly(fv, x, L) and L_min < L_star < L):
        raise RuntimeError(f"{fc!r}: the threshold instance is not in the decided cases")

    def ok(Lp: float) -> bool:
        other = Smooth(d, Lp)
        try:
            if not other.is_consistent(fv):
                return False
        except ValueError:  # below what the visualization allows
            return False
        return other.value_range(fv, x).decision() is not None

    lo_L, hi_L = L_min * (1 + 1e-3), L
    if not ok(lo_L) or ok(hi_L):
        raise RuntimeError(f"{fc!r}: the engine's ranges do not bracket the threshold at {x.tolist()}")
    lo_L, hi_L = _bisect(ok, lo_L, hi_L, True, 1e-10)
    if not math.isclose(lo_L, L_star, rel_tol=1e-6):
        raise RuntimeError(f"{fc!r}: bisection threshold {lo_L} disagrees with the closed form {L_star}")
    below = Smooth(d, _scaled(L, Fraction(2, 5)))  # 40 Delta, between L_min = 16 Delta and L* = 64 Delta
    vr_below = below.value_range(fv, x)
    decision = vr_below.decision()
    vr = fc.value_range(fv, x)
    if decision != "min" or vr.decision() is not None or not (vr.lo < fv.midpoint < vr.hi):
        raise RuntimeError(f"{fc!r}: the threshold instance does not separate (below {decision}, above {vr!r})")
    from theory._check import _floor_digits

    detail: dict[str, Any] = {
        "type": "threshold",
        "parameter": "L",
        "L_min": L_min,
        "L_star_bisection": _floor_digits(lo_L, 7),
        "L_star_closed_form": L_star,
        "condition": CONDITION,
        "short": SHORT,
        "below": certs.region(below, fv, vr_below, "min"),
        "above": certs.counterexample(fc, "min_or_max", fv, vr),
    }
    reason = (
        f"depends on L/Delta: with Delta = {fv.delta:.4g} at x = {x.tolist()}, answered iff L < {L_star:.4g} "
        f"(smallest L allowed {L_min:.4g}, here L = {L:g}); {CONDITION}"
    )
    return reason, detail


def midpoint_threshold(eps: float) -> float:
    """Delta*/L on the midpoint family (x_min, x_max interior at distance 2u, u = 1/4, x their midpoint): the range
    at x is [f_max - P(u), f_min + P(u)], so the half-width P(u) - Delta/2 is <= eps Delta iff h/u >= 1/(2 -
    sqrt(1 - 2 eps)) (for h <= u <= 2h: Delta/2 - L (2h - u)^2/2 <= eps Delta with Delta = L h^2), i.e.
    Delta/L >= u^2 / (2 - sqrt(1 - 2 eps))^2; Delta/L <= u^2 for the visualization to exist."""
    return (1 / 16) / (2 - math.sqrt(1 - 2 * eps)) ** 2


APPROX_CONDITION = (
    "hi(x) - lo(x) <= 2 eps Delta; exact where x_min and x_max are flat for x, L ||x_max - x_min||^2 >= 4 Delta "
    "and each chord from an extremum through x continues at least 2h - u past x inside the box (when h < u < 2h; "
    "h = sqrt(Delta/L), u = ||x - x_min||_2 or ||x - x_max||_2): the range is [f_max - P(||x - x_max||), f_min + "
    "P(||x - x_min||)] (radial members, flat-rise lemma), so x is answered iff P(||x - x_min||) + P(||x - x_max||) "
    "<= (1 + 2 eps) Delta, with P(s) = L s^2/2 up to h, Delta - L (2h - s)^2/2 up to 2h, Delta beyond; elsewhere "
    "the range is bracketed (chord and LP bounds, members) and the answer may be open"
)


def approx_fixed_eps(fc: Smooth, eps: float) -> tuple[str, dict[str, Any]]:
    """eps-approximation at a fixed eps in d >= 2, on the interior geometry at the midpoint x of x_min, x_max
    (u = 1/4 from both): answered iff Delta/L >= ``midpoint_threshold(eps)``. The certificate holds an answered
    instance just above the threshold (flat-rise lemma, exact) and a counterexample just below it (radial members),
    at Delta/L within 2^-19 of it. The engine's own ranges must flip there too (bisection, a bug check)."""
    d, L = fc.d, fc.L
    xmin, xmax = _geometry(d)
    x = (xmin + xmax) / 2
    t = midpoint_threshold(eps)
    scale = 2**20
    q_yes = min(Fraction(math.floor(t * scale) + 2, scale), Fraction(1, 16))
    q_no = Fraction(math.ceil(t * scale) - 2, scale)
    fb = FeatureVisualization(xmax, _scaled(L, q_yes), xmin, 0.0)
    fa = FeatureVisualization(xmax, _scaled(L, q_no), xmin, 0.0)
    vb, va = fc.value_range(fb, x), fc.value_range(fa, x)
    if not vb.is_approximable(eps) or va.is_approximable(eps) or q_no <= 0:
        raise RuntimeError(f"{fc!r}: the fixed-eps instances do not separate ({vb!r}, {va!r})")

    def ok(q: float) -> bool:
        return fc.value_range(FeatureVisualization(xmax, L * q, xmin, 0.0), x).is_approximable(eps)

    lo_q, hi_q = _bisect(ok, float(q_no), float(q_yes), False, 1e-9)
    if not math.isclose(hi_q, t, rel_tol=1e-6):
        raise RuntimeError(f"{fc!r}: the engine's ranges flip at Delta/L = {hi_q}, the closed form says {t}")
    reason = (
        f"depends on L/Delta: at the midpoint x of x_min = {xmin.tolist()}, x_max = {xmax.tolist()} answered iff "
        f"Delta/L >= (1/16)/(2 - sqrt(1 - 2 eps))^2 = {t:.7g} (and Delta/L <= 1/16 for the visualization to exist): "
        f"yes for Delta = {fb.delta:.7g} (half-width {vb.width / 2:.4g} <= eps Delta = {eps * fb.delta:.4g}), no "
        f"for Delta = {fa.delta:.7g} (half-width {va.width / 2:.4g} > eps Delta); in general {APPROX_CONDITION}"
    )
    cert = certs.approx_condition(fc, eps, APPROX_CONDITION, (fb, vb), (fa, va))
    cert["threshold"] = {"parameter": "Delta/L", "closed_form": "(1/16)/(2 - sqrt(1 - 2 eps))^2", "value": t}
    return reason, cert


def proved_range(vr: ValueRange, fv: FeatureVisualization, L: float) -> tuple[float, float]:
    """The outer range at x: the chord bounds (``extra["outer"]``) intersected with the descent bracket."""
    olo, ohi = vr.extra.get("outer", (vr.lo, vr.hi))
    dlo, dhi = descent_bracket(L, fv, vr.x)
    return max(olo, dlo), min(ohi, dhi)


def approx_on_bracket(vr: ValueRange, olo: float, ohi: float, allowed: float) -> str:
    """The "approx" verdict on a bracket, for an allowed width (2 eps Delta, or 2 eps_abs): "yes" when the proved range
    [olo, ohi] fits, "no" when the members' range does not, "open" in between."""
    if ohi - olo <= allowed + vr.tol:
        return "yes"
    return "no" if vr.width > allowed + vr.tol else "open"


def instance_verdicts(vr: ValueRange, fv: FeatureVisualization, eps: float, L: float) -> dict[str, str]:
    """Instance answers on a bracket (inner range of members, outer range of proved bounds): "yes" when the outer
    range decides, "no" when the inner range refutes, "open" in between (min_or_max is exact in the decided cases
    of the theorem, where both give the same answer)."""
    inner = (vr.lo, vr.hi)
    olo, ohi = proved_range(vr, fv, L)
    tol, c, delta = vr.tol, fv.midpoint, fv.delta

    def side(lo: float, hi: float) -> str | None:
        if hi < c - tol:
            return "min"
        if lo > c + tol:
            return "max"
        if abs(hi - c) <= tol and abs(lo - c) <= tol:
            return "tie"
        return None

    out = {}
    out["exact"] = "yes" if ohi - olo <= tol else "no" if vr.width > tol else "open"
    out["approx"] = approx_on_bracket(vr, olo, ohi, 2 * eps * delta)
    outer_side, inner_side = side(olo, ohi), side(*inner)
    out["min_or_max"] = "yes" if outer_side else "no" if inner_side is None else "open"
    return out
