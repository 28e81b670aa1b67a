"""The class ``lipschitz``: L-Lipschitz functions for a known L in the p-norm, p in {1, 2, inf}.

Theorem (value range; McShane-Whitney). Data (p_i, v_i) with global max f_max and global min f_min are
interpolated by an L-Lipschitz function iff |v_i - v_j| <= L ||p_i - p_j|| for all i, j. Then

    f(x) in [ max(f_min, max_i v_i - L||x - p_i||),  min(f_max, min_i v_i + L||x - p_i||) ],

both ends attained by the clipped extensions min(f_max, min_i v_i + L||. - p_i||) and its mirror.
For a visualization: [max(f_min, f_max - L||x - x_max||), min(f_max, f_min + L||x - x_min||)], consistent iff
Delta <= L ||x_max - x_min||.

Corollary ("closer to min or max"). With c = (f_max + f_min)/2, every member has f(x) < c iff
||x - x_min|| < Delta / (2L), and f(x) > c iff ||x - x_max|| < Delta / (2L): the certified region is the union of
the two open balls of radius Delta/(2L). At a fixed visualization and x the answer is certified iff
L < L*(x) = Delta / (2 min(||x - x_min||, ||x - x_max||)).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from theory._range import ValueRange
from theory._setting import MAX_MAGNITUDE, TOL, FeatureVisualization, FloatArray, Observations
from theory._triangle import WidestTriangle, widest_triangle
from theory._witness import ConeWitness, NormName, norm
from theory.classes._base import FunctionClass, InconsistentVisualization


def parse_norm(p: Any) -> NormName:
    """Accept 1, 2, inf (as numbers or strings) and return "1", "2" or "inf"."""
    text = str(p).strip().lower()
    if text in ("1", "1.0"):
        return "1"
    if text in ("2", "2.0"):
        return "2"
    if text in ("inf", "infinity", "np.inf", "math.inf"):
        return "inf"
    raise ValueError(f"norm = {p!r} is not allowed; the norm must be 1, 2 or inf")


def check_L(L: Any) -> float:
    try:
        val = float(L)
    except (TypeError, ValueError):
        raise ValueError(f"L = {L!r} is not a number; the Lipschitz constant must be a finite number > 0") from None
    if isinstance(L, bool) or not math.isfinite(val) or val <= 0 or val > MAX_MAGNITUDE:
        raise ValueError(
            f"L = {L!r} is not allowed; the Lipschitz constant must be a finite number in (0, {MAX_MAGNITUDE:g}]"
        )
    return val


class Lipschitz(FunctionClass):
    """f : [0,1]^d -> R with |f(y) - f(z)| <= L ||y - z||_p for all y, z (L known)."""

    name = "lipschitz"
    label = "L-Lipschitz (known L)"
    param_names = ("L", "norm")

    def __init__(self, d: int = 1, L: float = 1.0, norm: Any = 2) -> None:
        super().__init__(d)
        self.L = check_L(L)
        self.norm: NormName = parse_norm(norm)

    @property
    def params(self) -> dict[str, Any]:
        return {"d": self.d, "L": self.L, "norm": self.norm}

    def dist(self, a: FloatArray, b: FloatArray) -> float:
        return float(norm((np.asarray(a) - np.asarray(b))[None, :], self.norm)[0])

    def with_L(self, L: float) -> Lipschitz:
        return Lipschitz(self.d, L, self.norm)

    def check_consistent(self, obs: Observations) -> None:
        tol = TOL * obs.scale
        diff = obs.points[:, None, :] - obs.points[None, :, :]
        dist = norm(diff.reshape(-1, self.d), self.norm).reshape(obs.n, obs.n)
        gap = np.abs(obs.values[:, None] - obs.values[None, :])
        bad = np.argwhere(gap > self.L * dist + tol)
        if bad.size:
            i, j = bad[0]
            raise InconsistentVisualization(
                f"no {self.L:g}-Lipschitz function (norm {self.norm}) has f({obs.points[i].tolist()}) = "
                f"{obs.values[i]:g} and f({obs.points[j].tolist()}) = {obs.values[j]:g}: the values differ by "
                f"{gap[i, j]:g} > L * ||difference|| = {self.L * dist[i, j]:g}"
            )

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        return self._value_ranges(obs, x[None, :])[0]

    def _value_ranges(self, obs: Observations, X: FloatArray) -> list[ValueRange]:
        """lo(x) = max(f_min, max_i v_i - L||x - p_i||), hi(x) = min(f_max, min_i v_i + L||x - p_i||), for every
        row x of X at once; the two McShane-Whitney witnesses do not depend on x."""
        fmin, fmax = float(obs.f_min), float(obs.f_max)  # type: ignore[arg-type]
        n, d = X.shape[0], self.d
        dists = norm((X[:, None, :] - obs.points[None, :, :]).reshape(-1, d), self.norm).reshape(n, obs.n)
        lo = np.maximum(fmin, np.max(obs.values[None, :] - self.L * dists, axis=1))
        hi = np.minimum(fmax, np.min(obs.values[None, :] + self.L * dists, axis=1))
        crossed = lo > hi  # a forced value (lo = hi in exact arithmetic) that rounding split: take the midpoint
        lo[crossed] = hi[crossed] = (lo[crossed] + hi[crossed]) / 2
        w_hi = ConeWitness("upper", obs.points, obs.values, self.L, self.norm, cap=fmax)
        w_lo = ConeWitness("lower", obs.points, obs.values, self.L, self.norm, cap=fmin)
        method = "closed form (McShane-Whitney extension)"
        return [
            ValueRange(float(a), float(b), True, True, w_lo, w_hi, x, obs, method)
            for a, b, x in zip(lo, hi, X, strict=True)
        ]

    # ---- the exact answered sets ------------------------------------------------------------------------
    def width(self, fv: FeatureVisualization, x: FloatArray) -> float:
        """hi(x) - lo(x) = min(Delta, L r_min, L r_max, L (r_min + r_max) - Delta), r_min = ||x - x_min||,
        r_max = ||x - x_max||: hi - f_min = min(Delta, L r_min) and f_max - lo = min(Delta, L r_max), so the
        width min(Delta, L r_min) + min(Delta, L r_max) - Delta is the smallest of the four sums."""
        r_min, r_max, D = self.dist(x, fv.x_min), self.dist(x, fv.x_max), fv.delta
        return max(0.0, min(D, self.L * r_min, self.L * r_max, self.L * (r_min + r_max) - D))

    def approximable(self, fv: FeatureVisualization, x: FloatArray, eps: float) -> bool:
        """x is answered within eps Delta iff width(x) <= 2 eps Delta (tolerance relative to Delta)."""
        return self.width(fv, x) <= 2 * eps * fv.delta * (1 + 1e-9)

    def decided(self, fv: FeatureVisualization, x: FloatArray) -> bool:
        """ "Closer to min or max" is answered at x iff Delta = 0, or L min(r_min, r_max) < Delta/2, or (the tie)
        L r_min = L r_max = Delta/2, which needs L = L_min = Delta/||x_max - x_min|| and x a metric midpoint of
        x_min and x_max (r_min + r_max = ||x_max - x_min||). Comparisons relative to Delta (1e-9)."""
        D = fv.delta
        if D == 0:
            return True
        a, b, tol = self.L * self.dist(x, fv.x_min), self.L * self.dist(x, fv.x_max), 1e-9 * D
        return a < D / 2 - tol or b < D / 2 - tol or (abs(a - D / 2) <= tol and abs(b - D / 2) <= tol)

    def approx_condition(self) -> str:
        p = self.norm
        return (
            f"min(Delta, L r_min, L r_max, L (r_min + r_max) - Delta) <= 2 eps Delta, r_min = ||x - x_min||_{p}, "
            f"r_max = ||x - x_max||_{p}"
        )

    def widest_triangle(self) -> WidestTriangle:
        """T = the largest value of min(|x - a|, |x - b|, |a - b|) over points of the box (exact or bracketed),
        with a triangle attaining its lower end: every value range is at most L T wide (theory/_triangle.py)."""
        return widest_triangle(self.d, self.norm)

    # ---- the parameter dependence of "closer to min or max" ---------------------------------------------
    def certified_radius(self, fv: FeatureVisualization) -> float:
        """Radius Delta / (2L) of the balls around x_max and x_min where the answer is certified."""
        return fv.delta / (2 * self.L)

    def critical_L(self, fv: FeatureVisualization, x: FloatArray) -> float:
        """L*(x) = Delta / (2 min(||x - x_min||, ||x - x_max||)): the answer at x is certified iff L < L*."""
        r = min(self.dist(x, fv.x_min), self.dist(x, fv.x_max))
        return math.inf if r == 0 else fv.delta / (2 * r)

    def region_condition(self) -> str:
        p = self.norm
        return (
            f"every member agrees at x iff ||x - x_min||_{p} < Delta/(2L) ('min') or ||x - x_max||_{p} < Delta/(2L) "
            "('max'), i.e. iff L < L*(x) = Delta / (2 min(||x - x_min||, ||x - x_max||)): certified only in two balls "
            "around the visualization's points, which shrink as L/Delta grows; at L = L*(x) only the tie "
            "||x - x_min|| = ||x - x_max|| = Delta/(2L) is answered (f(x) = c; it needs L = Delta/||x_max - x_min||), "
            "and Delta = 0 is always answered"
        )

    def region_short(self) -> str:
        return f"only for small L: min(||x - x_max||, ||x - x_min||)_{self.norm} < Delta/(2L), or a tie"

    def smallest_L(self, fv: FeatureVisualization) -> float:
        """The smallest Lipschitz constant the visualization allows: Delta / ||x_max - x_min||."""
        D = self.dist(fv.x_max, fv.x_min)
        return 0.0 if D == 0 else fv.delta / D

    def probe_visualizations(self) -> Iterator[FeatureVisualization]:
        """Pairs of probe points with Delta ~ L ||x_max - x_min|| * s for s in {1, 1/2, 1/8}: from (nearly) the
        tightest visualization the class allows to one where L is large relative to Delta. Delta is rounded
        down to a multiple of L/1024 so that the visualization is consistent in exact arithmetic too."""
        pts = self.probe_points()[:5]  # vertices 0 and 1, e_1, 1 - e_1, the centre
        for a, b in itertools.permutations(pts, 2):
            D = self.dist(a, b)
            for s in (1.0, 0.5, 0.125):
                yield FeatureVisualization(a, self.L * math.floor(D * s * 1024) / 1024, b, 0.0)
