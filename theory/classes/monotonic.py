"""The class ``monotonic``: coordinatewise nondecreasing functions on [0,1]^d.

Theorem (value range). Data (p_i, v_i) are interpolated by a nondecreasing function iff p_i <= p_j
(coordinatewise) implies v_i <= v_j. Then

    f(x) in [ max({f_min} u {v_i : p_i <= x}),  min({f_max} u {v_i : p_i >= x}) ],

both ends attained by continuous piecewise-affine ramps (``MonotoneRampWitness``). For the visualization every
monotone function can have (x_min = 0, x_max = 1), the range at any interior x is all of [f_min, f_max].
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from theory._range import ValueRange
from theory._setting import TOL, FloatArray, Observations
from theory._witness import MonotoneRampWitness
from theory.classes._base import FunctionClass, InconsistentVisualization


def _steepness(ratios: list[float]) -> float:
    need = max([1.0, *ratios])
    return float(2.0 ** math.ceil(math.log2(need)))


class Monotonic(FunctionClass):
    """f : [0,1]^d -> R with y <= z coordinatewise implying f(y) <= f(z)."""

    name = "monotonic"
    label = "monotonic"

    def check_consistent(self, obs: Observations) -> None:
        tol = TOL * obs.scale
        for i, j in itertools.permutations(range(obs.n), 2):
            if np.all(obs.points[i] <= obs.points[j]) and obs.values[i] > obs.values[j] + tol:
                raise InconsistentVisualization(
                    f"no nondecreasing function has f({obs.points[i].tolist()}) = {obs.values[i]:g} > "
                    f"f({obs.points[j].tolist()}) = {obs.values[j]:g} although the first point is <= the second "
                    "in every coordinate"
                )

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        fmin, fmax = float(obs.f_min), float(obs.f_max)  # type: ignore[arg-type]
        below = [v for p, v in zip(obs.points, obs.values, strict=True) if np.all(p <= x)]
        above = [v for p, v in zip(obs.points, obs.values, strict=True) if np.all(p >= x)]
        lo, hi = max([fmin, *below]), min([fmax, *above])
        pts, vals = obs.points, obs.values
        # Steepness so large that points not below (above) x or p_j cannot pull the ramp past the target.
        up_gap = lambda p, q: float(np.max(np.maximum(q - p, 0)))  # noqa: E731  ||(q - p)_+||_inf
        r_lo = [
            (v - t) / up_gap(q, p)
            for p, v in zip(pts, vals, strict=True)
            for q, t in [(x, lo), *zip(pts, vals, strict=True)]
            if up_gap(q, p) > 0 and v > t
        ]
        r_hi = [
            (t - v) / up_gap(p, q)
            for p, v in zip(pts, vals, strict=True)
            for q, t in [(x, hi), *zip(pts, vals, strict=True)]
            if up_gap(p, q) > 0 and t > v
        ]
        w_lo = MonotoneRampWitness("lower", pts, vals, _steepness(r_lo), cap=fmin)
        w_hi = MonotoneRampWitness("upper", pts, vals, _steepness(r_hi), cap=fmax)
        return ValueRange(lo, hi, True, True, w_lo, w_hi, x, obs, "closed form (order interpolation)")
