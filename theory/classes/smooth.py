"""The class ``smooth``: L-smooth functions on [0,1]^d, i.e. differentiable with L-Lipschitz gradient
(Euclidean norm), for a known L > 0.

Theorem (d = 1, exact). Shift so that f_min = 0. The first-order conditions at x_min and x_max (f' = 0 at an
interior extremum, one-sided at 0 and 1) follow from 0 <= f <= Delta, and at an interior extremum they decouple
the domain. With P the fastest rise from a minimum (``theory._smooth1d``: bang-bang in f'', with room T to the end
of the domain on the side of x and zero initial slope iff the anchor is interior),

    f(x) in [ f_max - P_{x_max}(|x - x_max|),  f_min + P_{x_min}(|x - x_min|) ],

both ends attained by the C^1 piecewise quadratics f_min + P_{x_min}(|y - x_min|) and f_max - P_{x_max}(|y - x_max|)
(the rise on both sides of an interior anchor). The visualization is consistent iff P_{x_min} reaches Delta at
x_max: L D^2 >= 4 Delta if both points are interior, >= 2 Delta if one is at 0 or 1, always if both are
(D = |x_max - x_min|).

d >= 2 (a bracket, not exact). Outer range: the restriction of f to the chord through x_min and x is a 1-D
L-smooth function with its minimum f_min at x_min, so f(x) <= f_min + P(|x - x_min|) with the chord's geometry
(flat iff x_min is interior to the chord; otherwise the initial slope is capped by v0(1) ||e_B||, ``_chord_rise``);
likewise below from x_max. Inner range: members phi(y_k) of one coordinate, with phi the 1-D witnesses for the
visualization's k-th coordinates (when those are consistent). Ridge members phi(t(y)) of one linear form
(``theory._smooth_ridge``) attain the chord bound at extrema on the boundary that are not flat for x, under the
condition stated there. Separable members f_min + sum_k P_k(y_k) (``theory._smooth_separable``) split Delta
between the coordinates; they exist iff sum_k c_k >= Delta, which also shows consistency. Twisted members
f_min + Delta (B(y_j) + y_i G(y_j)) (``theory._smooth_twist``, d <= 3) let the slope along y_i change sign with
y_j; they are searched by a convex program only on a side the chord bound leaves open. ``value_range``
returns the inner range (attained by its witnesses) and reports the outer one in
``extra["outer"]``, with ``extra["exact_range"]`` True iff they coincide; the bisection threshold analysis in
L needs exact ranges and is done in d = 1 only (``with_L`` exists for d = 1 only). In d >= 2 "closer to min or
max" is decided exactly where both extrema are flat for x (``theory._smooth_region``: descent lemma, radial
members).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from theory._numbers import exact_simplified, to_fraction
from theory._quad_witness import PiecewiseQuadraticWitness
from theory._range import ValueRange
from theory._setting import MAX_MAGNITUDE, TOL, FeatureVisualization, FloatArray, Observations
from theory._smooth1d import capped_rise, critical_L, ends_factor, free_slope, rise
from theory._smooth_lp import available as lp_available
from theory._smooth_separable import separable_exists, separable_member
from theory._witness import Witness
from theory.classes._base import FunctionClass, InconsistentVisualization

Number = float | Fraction  # a float, or an exact rational read by ``to_fraction`` as it is


class UndecidedConsistency(ValueError):
    """d >= 2: the necessary conditions hold but no witness of one coordinate has the visualization."""


def check_L(L: Any) -> float:
    try:
        val = float(L)
    except (TypeError, ValueError):
        raise ValueError(f"L = {L!r} is not a number; the smoothness constant must be a finite number > 0") from None
    if isinstance(L, bool) or not math.isfinite(val) or val <= 0 or val > MAX_MAGNITUDE:
        raise ValueError(
            f"L = {L!r} is not allowed; the smoothness constant must be a finite number in (0, {MAX_MAGNITUDE:g}]"
        )
    return val


def _interior(p: float) -> bool:
    """0 < p < 1 as a Python bool (numpy's bools add as logical or: True + True would count one interior point)."""
    return bool(0 < p < 1)


def consistent_1d(xmax: float, xmin: float, delta: float, L: float) -> bool:
    if delta == 0:
        return True
    if xmax == xmin:
        return False
    need = ends_factor(xmax, xmin) * delta
    return L * (xmax - xmin) ** 2 >= need * (1 - 1e-12)


def _rise_1d(anchor: float, t: float, L: float, D: float) -> float:
    """P_anchor(|t - anchor|) on [0, 1]."""
    if t == anchor:
        return 0.0
    T = 1 - anchor if t > anchor else anchor
    return rise(abs(t - anchor), T, _interior(anchor), L, D)


class SmoothWitness(PiecewiseQuadraticWitness):
    """base + sign * P_anchor(|y_k - anchor|) on [0,1]^d: the fastest rise on both sides of the anchor. Float
    pieces for vectorised evaluation; exact sympy pieces (for export) built on demand."""

    def __init__(self, d: int, coord: int, anchor: Number, L: Number, D: Number, base: Number, sign: int) -> None:
        """Numbers are floats, or Fractions where the exact pieces must use exact values (ridge members)."""
        self.d, self.coord = d, coord
        self.anchor, self.L, self.D, self.base, self.sign = anchor, L, D, base, sign
        self._num = np.array(_global_pieces(anchor, L, D, base, sign, exact=False), dtype=float)
        self._exact_pieces: list[Any] | None = None

    @property
    def pieces(self) -> list[Any]:  # type: ignore[override]
        if self._exact_pieces is None:
            self._exact_pieces = _global_pieces(self.anchor, self.L, self.D, self.base, self.sign, exact=True)
        return self._exact_pieces

    def _eval(self, y: FloatArray) -> FloatArray:
        t = y[:, self.coord]
        idx = np.clip(np.searchsorted(self._num[:, 0], t, side="right") - 1, 0, len(self._num) - 1)
        s, v, g, k = self._num[idx].T
        return v + g * (t - s) + k / 2 * (t - s) ** 2


def _global_pieces(anchor: Number, L: Number, D: Number, base: Number, sign: int, exact: bool = True) -> list[Any]:
    """Pieces (start, value, slope, curvature) in the global coordinate t in [0, 1]: exact sympy numbers, or
    floats (``exact=False``)."""
    from theory._smooth1d import rise_pieces

    q: Callable[[Number], Any]
    sqrt: Callable[[Any], Any]
    if exact:
        import sympy

        q, sqrt = (lambda v: sympy.Rational(to_fraction(v))), sympy.sqrt
    else:
        q, sqrt = float, math.sqrt
    a, Lq, Dq, bq = q(anchor), q(L), q(D), q(base)
    out: list[Any] = []
    if anchor > 0:  # left side: t = a - s, s from a down to 0, reversed into increasing t
        left = rise_pieces(a, anchor < 1, Lq, Dq, sqrt)
        ends = [p[0] for p in left[1:]] + [a]
        for (s0, v, g, k), s1 in reversed(list(zip(left, ends, strict=True))):
            val = v + g * (s1 - s0) + k / 2 * (s1 - s0) ** 2  # value at the far end s1 (= t = a - s1)
            slope = g + k * (s1 - s0)  # dP/ds at s1; dt = -ds
            out.append((a - s1, bq + sign * val, -sign * slope, sign * k))
    if anchor < 1:
        for s0, v, g, k in rise_pieces(1 - a, anchor > 0, Lq, Dq, sqrt):
            out.append((a + s0, bq + sign * v, sign * g, sign * k))
    if not exact:
        return [p for i, p in enumerate(out) if i + 1 == len(out) or out[i + 1][0] > p[0]]
    import sympy

    merged: list[Any] = []
    for p in out:
        if merged and sympy.simplify(merged[-1][0] - p[0]) == 0:
            merged[-1] = p
        else:
            merged.append(tuple(exact_simplified(c, guess=False) for c in p))  # no float guess: pslq is slow
    return merged


class RadialSmoothWitness(Witness):
    """base + sign * P(||y - centre||_2), P the fastest L-smooth rise from a flat start (L s^2/2 up to h =
    sqrt(Delta/L), then Delta - L(2h - s)^2/2 up to 2h, then Delta). L-smooth in every d: the Hessian of a radial
    function has the eigenvalues P''(s) in [-L, L] and P'(s)/s in [0, L]."""

    def __init__(self, centre: FloatArray, L: float, D: float, base: float, sign: int) -> None:
        self.centre, self.L, self.D, self.base, self.sign = np.asarray(centre, float), L, D, base, sign
        self.h = math.sqrt(D / L)
        self.d = self.centre.shape[0]

    def value(self, s: float) -> float:
        return self.base + self.sign * rise(s, max(s, 2 * self.h) + 1.0, True, self.L, self.D)

    def _eval(self, y: FloatArray) -> FloatArray:
        rho = np.linalg.norm(np.atleast_2d(y) - self.centre, axis=1)
        h, L, D = self.h, self.L, self.D
        P = np.where(
            rho <= h, L * rho**2 / 2, np.where(rho <= 2 * h, D - L * (2 * h - np.minimum(rho, 2 * h)) ** 2 / 2, D)
        )
        return self.base + self.sign * P

    def to_spec(self) -> dict[str, Any]:
        import sympy

        xs = [sympy.Symbol(f"x{k}", real=True) for k in range(self.d)]
        rat = [sympy.Rational(str(to_fraction(float(c)))) for c in self.centre]
        L, D = sympy.Rational(str(to_fraction(self.L))), sympy.Rational(str(to_fraction(self.D)))
        base = sympy.Rational(str(to_fraction(self.base)))
        rho = sympy.sqrt(sum((x - c) ** 2 for x, c in zip(xs, rat, strict=True)))
        h = sympy.sqrt(D / L)
        P = sympy.Piecewise((L * rho**2 / 2, rho <= h), (D - L * (2 * h - rho) ** 2 / 2, rho <= 2 * h), (D, True))
        return {"kind": "sympy", "expr": str(base + self.sign * P), "vars": [str(x) for x in xs], "radial": True}


class Smooth(FunctionClass):
    """f : [0,1]^d -> R differentiable with ||grad f(y) - grad f(z)||_2 <= L ||y - z||_2."""

    name = "smooth"
    label = "L-smooth"
    param_names = ("L",)

    def __init__(self, d: int = 1, L: float = 1.0) -> None:
        super().__init__(d)
        self.L = check_L(L)

    @property
    def params(self) -> dict[str, Any]:
        return {"d": self.d, "L": self.L}

    # ---- the parameter analysis (d = 1, where ranges are exact) ------------------------------------------
    @property
    def with_L(self) -> Callable[[float], Smooth]:
        if self.d != 1:
            raise AttributeError("with_L: the threshold analysis needs exact ranges, which are known for d = 1")
        return lambda L: Smooth(self.d, L)

    def smallest_L(self, fv: FeatureVisualization) -> float:
        """The smallest L the visualization allows (d = 1): k Delta / D^2 with k = 4, 2, 0 for two, one, no
        interior points."""
        D = float(abs(fv.x_max[0] - fv.x_min[0]))
        if fv.delta == 0 or D == 0:
            return 0.0
        return ends_factor(float(fv.x_max[0]), float(fv.x_min[0])) * fv.delta / D**2

    def critical_L(self, fv: FeatureVisualization, x: FloatArray) -> float:
        """L*(x) = max over the two anchors of the L at which P(|x - anchor|) = Delta/2 (``_smooth1d``)."""
        out = 0.0
        for anchor in (float(fv.x_min[0]), float(fv.x_max[0])):
            t = float(x[0])
            T = 1 - anchor if t > anchor else anchor
            out = max(out, critical_L(abs(t - anchor), T, _interior(anchor), fv.delta))
        return out

    def region_condition(self) -> str:
        return (
            "every member agrees at x iff P(|x - x_min|) < Delta/2 ('min') or P(|x - x_max|) < Delta/2 ('max'), "
            "P the fastest L-smooth rise from the anchor; i.e. iff L < L*(x): Delta/u^2 from an interior anchor, "
            "Delta (3 - 2 sqrt 2)/u^2 or Delta (1 - 2r)/(T^2 r (1 - r)) (r = u/T) from an end point; at "
            "L = L*(x) only the tie P(|x - x_min|) = P(|x - x_max|) = Delta/2 is answered (f(x) = c), and Delta = 0 "
            "is always answered"
        )

    def ranges_exact(self) -> bool:
        return self.d == 1

    def approx_condition(self) -> str:
        return (
            "min(Delta, P_min(|x - x_min|)) + min(Delta, P_max(|x - x_max|)) - Delta <= 2 eps Delta, P the fastest "
            "L-smooth rise from each anchor (closed form, d = 1)"
        )

    def region_short(self) -> str:
        return "only for small L: L < L*(x) or a tie, e.g. Delta/|x - x_min|^2 near an interior minimiser"

    # ---- consistency and ranges ----------------------------------------------------------------------------
    def _fv(self, obs: Observations) -> tuple[FloatArray, float, FloatArray, float]:
        if obs.n != 2 or sorted(obs.kinds) != ["max", "min"]:
            raise ValueError(
                "the L-smooth class takes a feature visualization (one global maximiser, one global minimiser); "
                f"got {obs.n} observations of kinds {list(obs.kinds)}"
            )
        i, j = obs.kinds.index("max"), obs.kinds.index("min")
        return obs.points[i], float(obs.values[i]), obs.points[j], float(obs.values[j])

    def _radial(self, xmax: FloatArray, xmin: FloatArray, delta: float) -> bool:
        """d >= 2: the radial members f_max - P(||y - x_max||) and f_min + P(||y - x_min||) have the visualization
        iff ||x_max - x_min||_2 >= 2 sqrt(Delta/L) (P reaches Delta at 2 sqrt(Delta/L))."""
        return self.d >= 2 and delta > 0 and float(np.linalg.norm(xmax - xmin)) >= 2 * math.sqrt(delta / self.L)

    def _axes(self, obs: Observations) -> list[int]:
        xmax, fmax, xmin, fmin = self._fv(obs)
        return [k for k in range(self.d) if consistent_1d(float(xmax[k]), float(xmin[k]), fmax - fmin, self.L)]

    def check_consistent(self, obs: Observations) -> None:
        xmax, fmax, xmin, fmin = self._fv(obs)
        delta = fmax - fmin
        if delta <= TOL * obs.scale or self._axes(obs):
            return
        if self.d == 1:
            raise InconsistentVisualization(
                f"no {self.L:g}-smooth function on [0,1] has f_max = {fmax:g} at {xmax[0]:g} and f_min = {fmin:g} at "
                f"{xmin[0]:g}: that needs L |x_max - x_min|^2 >= {ends_factor(float(xmax[0]), float(xmin[0]))} Delta"
            )
        # necessary: along the chord from x_min through x_max (and back), the fastest rise must reach Delta
        for a, b, what in ((xmin, xmax, "rises from"), (xmax, xmin, "falls from")):
            top = _chord_rise(a, b, self.L, delta)
            if top < delta * (1 - 1e-12):
                raise InconsistentVisualization(
                    f"no {self.L:g}-smooth function with values in [f_min, f_max] = [{fmin:g}, {fmax:g}] {what} its "
                    f"extremum at {a.tolist()} to the other at {b.tolist()}: over the distance "
                    f"{float(np.linalg.norm(b - a)):g} it changes by at most {top:g} < Delta = {delta:g}"
                )
        if self._radial(xmax, xmin, delta) or _visualization_ridges(xmin, xmax, self.L, fmin, fmax):
            return
        if separable_exists(xmin, xmax, self.L, to_fraction(fmax) - to_fraction(fmin)):
            return
        if lp_available(self.d, "consistency"):  # the two-point conditions on a grid: an exact dual bound
            from theory._smooth_lp import bound, claim

            ratio = to_fraction(self.L) / (to_fraction(fmax) - to_fraction(fmin))
            about = claim(xmin, xmax, fmin, fmax, self.L, "consistency")
            proved = bound(xmin, xmax, ratio, None, 1, claim=about)
            if proved is not None and proved[0] < 1:
                err = InconsistentVisualization(
                    f"no {self.L:g}-smooth function on [0,1]^{self.d} has this visualization: the two-point "
                    f"conditions at {len(proved[1]['points'])} points (descent lemma both ways, first-order conditions "
                    f"at the extrema) give f(x_max) - f_min <= {float(proved[0]):.6g} Delta < Delta (exact dual "
                    "certificate, theory/_smooth_lp.py)"
                )
                err.certificate = proved[1]  # type: ignore[attr-defined]
                raise err
        raise UndecidedConsistency(
            f"d = {self.d}: the visualization passes the necessary conditions along the chord, but no member of one "
            "coordinate, radial, ridge or separable member has it; its consistency is not decided"
        )

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        xmax, fmax, xmin, fmin = self._fv(obs)
        delta, L, d = fmax - fmin, self.L, self.d
        best_lo: tuple[float, SmoothWitness] | None = None
        best_hi: tuple[float, SmoothWitness] | None = None
        axes = self._axes(obs) if delta > 0 else [0]
        for k in axes:
            w_hi = SmoothWitness(d, k, float(xmin[k]), L, delta, fmin, 1)
            w_lo = SmoothWitness(d, k, float(xmax[k]), L, delta, fmax, -1)
            hi = fmin + _rise_1d(float(xmin[k]), float(x[k]), L, delta)
            lo = fmax - _rise_1d(float(xmax[k]), float(x[k]), L, delta)
            if best_hi is None or hi > best_hi[0]:
                best_hi = (hi, w_hi)
            if best_lo is None or lo < best_lo[0]:
                best_lo = (lo, w_lo)
        if self._radial(xmax, xmin, delta):  # radial members (d >= 2)
            r_hi = RadialSmoothWitness(xmin, L, delta, fmin, 1)
            r_lo = RadialSmoothWitness(xmax, L, delta, fmax, -1)
            v_hi = r_hi.value(float(np.linalg.norm(x - xmin)))
            v_lo = r_lo.value(float(np.linalg.norm(x - xmax)))
            if best_hi is None or v_hi > best_hi[0]:
                best_hi = (v_hi, r_hi)  # type: ignore[assignment]
            if best_lo is None or v_lo < best_lo[0]:
                best_lo = (v_lo, r_lo)  # type: ignore[assignment]
        if d >= 2 and delta > 0:  # ridge members along x - x_min and x - x_max (theory._smooth_ridge)
            from theory._smooth_ridge import ridge_member

            up = ridge_member(xmin, xmax, x, L, delta, fmin, 1)
            down = ridge_member(xmax, xmin, x, L, delta, fmax, -1)
            for w in _visualization_ridges(xmin, xmax, L, fmin, fmax):  # members along x_max - x_min: both ends
                val = float(w(x))
                up = (val, w) if up is None or val > up[0] else up  # type: ignore[assignment]
                down = (val, w) if down is None or val < down[0] else down  # type: ignore[assignment]
            gain = TOL * obs.scale  # replace a member only by a strictly better one (not by rounding noise)
            separable = (
                separable_member(xmin, xmax, x, L, fmin, fmax, 1),
                separable_member(xmax, xmin, x, L, fmin, fmax, -1),
            )
            for hi_member, lo_member in ((up, down), separable):  # ridges first: they win ties
                if hi_member is not None and (best_hi is None or hi_member[0] > best_hi[0] + gain):
                    best_hi = hi_member  # type: ignore[assignment]
                if lo_member is not None and (best_lo is None or lo_member[0] < best_lo[0] - gain):
                    best_lo = lo_member  # type: ignore[assignment]
        assert best_lo is not None and best_hi is not None
        extra: dict[str, Any] = {"exact_witnesses": True}
        if d == 1:
            method = "closed form (fastest L-smooth rise)"
        else:
            outer = (fmax - _chord_rise(xmax, x, L, delta), fmin + _chord_rise(xmin, x, L, delta))
            if delta > 0 and d <= TWIST_MAX_D:  # twisted members (theory._smooth_twist), where the chords leave room
                best_lo, best_hi = _twisted(xmin, xmax, x, L, fmin, fmax, best_lo, best_hi, outer, TOL * obs.scale)
            certificates: dict[str, Any] = {}
            if delta > 0 and lp_available(d, "range"):  # the two-point LP, only on a side where the chord leaves a gap
                outer, certificates = _lp_outer(xmin, xmax, x, L, fmin, fmax, outer, (best_lo[0], best_hi[0]), obs)
            exact = abs(outer[0] - best_lo[0]) <= TOL * obs.scale and abs(outer[1] - best_hi[0]) <= TOL * obs.scale
            method = (
                "inner range of one-coordinate, radial, ridge, separable and twisted witnesses; outer range from chords"
            )
            if certificates:
                extra["outer_certificates"] = certificates
                method += ", tightened by the two-point LP (exact dual certificates)"
            method += " (equal: exact)" if exact else ""
            extra.update(outer=[outer[0], outer[1]], exact_range=exact)
        return ValueRange(best_lo[0], best_hi[0], True, True, best_lo[1], best_hi[1], x, obs, method, extra=extra)

    # ---- probes ---------------------------------------------------------------------------------------------
    def probe_visualizations(self) -> Iterator[FeatureVisualization]:
        """Pairs of probe points (vertices, centre, quarter points) with Delta = L q^2/2 and L q^2 for
        q in {1, 1/2, 1/4}: from tight (Delta near the largest the geometry allows) to loose. Delta = L q^2/2
        makes s* = q rational, so end-point witnesses have rational coefficients."""
        pts = self.probe_points()
        for a, b in itertools.permutations(pts, 2):
            for q in (1.0, 0.5, 0.25):
                for delta in (self.L * q * q / 2, self.L * q * q):
                    fv = FeatureVisualization(a, delta, b, 0.0)
                    try:
                        if self.is_consistent(fv):
                            yield fv
                    except UndecidedConsistency:
                        continue


#: twisted members are searched in every ordered pair of coordinates: d (d - 1) pairs, two convex programs each
TWIST_MAX_D = 3


def _twisted(
    xmin: FloatArray,
    xmax: FloatArray,
    x: FloatArray,
    L: float,
    fmin: float,
    fmax: float,
    best_lo: tuple[float, Any],
    best_hi: tuple[float, Any],
    outer: tuple[float, float],
    gain: float,
) -> tuple[tuple[float, Any], tuple[float, Any]]:
    """The best members so far, replaced by a twisted member f_min + Delta (B(y_j) + y_i G(y_j)) in any two
    coordinates that is strictly better (by more than ``gain``) on a side where the outer range leaves room."""
    from theory._smooth_twist import twisted_member

    pairs = [(i, j) for i in range(len(x)) for j in range(len(x)) if i != j]
    if outer[1] - best_hi[0] > gain:
        for i, j in pairs:
            m = twisted_member(xmin, xmax, x, L, fmin, fmax, 1, i, j)
            if m is not None and m[0] > best_hi[0] + gain:
                best_hi = m
    if best_lo[0] - outer[0] > gain:
        for i, j in pairs:
            m = twisted_member(xmin, xmax, x, L, fmin, fmax, -1, i, j)
            if m is not None and m[0] < best_lo[0] - gain:
                best_lo = m
    return best_lo, best_hi


def _lp_outer(
    xmin: FloatArray, xmax: FloatArray, x: FloatArray, L: float, fmin: float, fmax: float,
    outer: tuple[float, float], inner: tuple[float, float], obs: Observations,
) -> tuple[tuple[float, float], dict[str, Any]]:  # fmt: skip
    """The outer range tightened, on each side where it is wider than the members' range, by the two-point LP
    (``theory._smooth_lp.bound``; its certificates in units of Delta). A bound never cuts into the members' range
    (it cannot, being proved; a rounding difference is clipped)."""
    from theory._smooth_lp import bound, claim

    lo, hi = outer
    certificates: dict[str, Any] = {}
    delta = fmax - fmin
    L_over_delta = to_fraction(L) / (to_fraction(fmax) - to_fraction(fmin))  # the numbers as typed
    if hi - inner[1] > TOL * obs.scale:
        up = bound(xmin, xmax, L_over_delta, x, 1, claim=claim(xmin, xmax, fmin, fmax, L, "hi", x))
        if up is not None and fmin + delta * float(up[0]) < hi:
            hi, certificates["hi"] = max(inner[1], fmin + delta * float(up[0])), up[1]
    if inner[0] - lo > TOL * obs.scale:
        down = bound(xmin, xmax, L_over_delta, x, -1, claim=claim(xmin, xmax, fmin, fmax, L, "lo", x))
        if down is not None and fmin - delta * float(down[0]) > lo:
            lo, certificates["lo"] = min(inner[0], fmin - delta * float(down[0])), down[1]
    return (lo, hi), certificates


def _chord(anchor: FloatArray, x: FloatArray) -> tuple[float, float, bool]:
    """Distance u from the anchor to x, the chord length T from the anchor through x to the box boundary, and
    whether the anchor is interior to the chord."""
    v = x - anchor
    u = float(np.linalg.norm(v))
    if u == 0:
        return 0.0, 0.0, True
    e = v / u
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fwd = np.where(e > 0, (1 - anchor) / e, np.where(e < 0, -anchor / e, np.inf))
    T = float(np.min(fwd))
    flat = bool(np.all((e == 0) | ((e > 0) & (anchor > 0)) | ((e < 0) & (anchor < 1))))
    return u, max(T, u), flat


def _chord_rise(anchor: FloatArray, x: FloatArray, L: float, D: float) -> float:
    """The outer bound on |f(x) - f(anchor)|: the fastest rise along the chord from the anchor through x, with the
    initial slope capped by the gradient at the anchor. That gradient vanishes in the coordinates where the anchor
    is interior (first-order conditions), and its norm is at most v0(1) (``_smooth1d.free_slope``): along its own
    direction, inward across the boundary coordinates, the chord has room >= 1 and f stays within Delta. So the
    slope along e = (x - anchor)/u is at most v0(1) ||e_B||, e_B the part of e in the anchor's boundary
    coordinates (0 when the anchor is flat for x: the flat rise)."""
    u, T, flat = _chord(anchor, x)
    if u == 0:
        return 0.0
    on_face = (anchor == 0) | (anchor == 1)
    cap = 0.0 if flat else free_slope(1.0, L, D) * float(np.linalg.norm(np.where(on_face, x - anchor, 0.0))) / u
    return capped_rise(u, T, cap, L, D)


def _visualization_ridges(xmin: FloatArray, xmax: FloatArray, L: float, fmin: float, fmax: float) -> list[Any]:
    """Ridge members along x_max - x_min (``theory._smooth_ridge``) that have the visualization: the rise from
    x_min and the fall from x_max, each kept if it reaches the other extremum."""
    from theory._smooth_ridge import ridge_member

    out = []
    for a, b, base, sign in ((xmin, xmax, fmin, 1), (xmax, xmin, fmax, -1)):
        m = ridge_member(a, b, b, L, fmax - fmin, base, sign)
        if m is not None:
            out.append(m[1])
    return out
