"""The class ``monotone_lipschitz``: coordinatewise nondecreasing and L-Lipschitz (p-norm) functions.

Theorem (interpolation and value range). Write (z)_+ for the coordinatewise positive part. Data (p_i, v_i)
extend to a nondecreasing L-Lipschitz function iff v_j - v_i <= L ||(p_j - p_i)_+|| for all i, j
(necessary: f(p_j) - f(p_i) <= f(p_j) - f(p_i ^ p_j) <= L ||p_j - p_i ^ p_j||; sufficient: the extensions below).
Then

    f(x) in [ max(f_min, max_i v_i - L ||(p_i - x)_+||),  min(f_max, min_i v_i + L ||(x - p_i)_+||) ],

both ends attained by min(f_max, min_i v_i + L||(y - p_i)_+||) and max(f_min, max_i v_i - L||(p_i - y)_+||),
which are nondecreasing and L-Lipschitz because z -> ||z_+|| is nondecreasing and 1-Lipschitz.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from theory._range import ValueRange
from theory._setting import TOL, FeatureVisualization, FloatArray, Observations
from theory._witness import NormName, PositivePartConeWitness, norm
from theory.classes._base import FunctionClass, InconsistentVisualization
from theory.classes.lipschitz import check_L, parse_norm


class MonotoneLipschitz(FunctionClass):
    """Nondecreasing (coordinatewise) and L-Lipschitz functions on [0,1]^d."""

    name = "monotone_lipschitz"
    label = "monotonic and L-Lipschitz"
    param_names = ("L", "norm")

    def __init__(self, d: int = 1, L: float = 1.0, norm: Any = 2) -> None:
        super().__init__(d)
        self.L = check_L(L)
        self.norm: NormName = parse_norm(norm)

    @property
    def params(self) -> dict[str, Any]:
        return {"d": self.d, "L": self.L, "norm": self.norm}

    def _pos(self, z: FloatArray) -> FloatArray:
        return norm(np.maximum(np.atleast_2d(z), 0), self.norm)

    def with_L(self, L: float) -> MonotoneLipschitz:
        return MonotoneLipschitz(self.d, L, self.norm)

    def smallest_L(self, fv: FeatureVisualization) -> float:
        """Delta / ||(x_max - x_min)_+||: the smallest L the visualization allows."""
        D = float(self._pos(fv.x_max - fv.x_min)[0])
        return 0.0 if D == 0 else fv.delta / D

    def critical_L(self, fv: FeatureVisualization, x: FloatArray) -> float:
        """L*(x) = Delta / (2 min(||(x - x_min)_+||, ||(x_max - x)_+||))."""
        r = min(float(self._pos(x - fv.x_min)[0]), float(self._pos(fv.x_max - x)[0]))
        return math.inf if r == 0 else fv.delta / (2 * r)

    def region_condition(self) -> str:
        p = self.norm
        return (
            f"every member agrees at x iff ||(x - x_min)_+||_{p} < Delta/(2L) ('min') or ||(x_max - x)_+||_{p} < "
            "Delta/(2L) ('max'), i.e. iff L < L*(x); at L = L*(x) only the tie ||(x - x_min)_+|| = "
            "||(x_max - x)_+|| = Delta/(2L) is answered (f(x) = c), and Delta = 0 is always answered"
        )

    def approx_condition(self) -> str:
        p = self.norm
        return (
            f"min(Delta, L a, L b, L (a + b) - Delta) <= 2 eps Delta, a = ||(x - x_min)_+||_{p}, "
            f"b = ||(x_max - x)_+||_{p}"
        )

    def region_short(self) -> str:
        return f"only for small L: min(||(x - x_min)_+||, ||(x_max - x)_+||)_{self.norm} < Delta/(2L), or a tie"

    def check_consistent(self, obs: Observations) -> None:
        tol = TOL * obs.scale
        for i, j in itertools.permutations(range(obs.n), 2):
            room = self.L * float(self._pos(obs.points[j] - obs.points[i])[0])
            if obs.values[j] - obs.values[i] > room + tol:
                raise InconsistentVisualization(
                    f"no nondecreasing {self.L:g}-Lipschitz function (norm {self.norm}) rises from "
                    f"{obs.values[i]:g} at {obs.points[i].tolist()} to {obs.values[j]:g} at {obs.points[j].tolist()}: "
                    f"the rise exceeds L ||(p_j - p_i)_+|| = {room:g}"
                )

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        fmin, fmax = float(obs.f_min), float(obs.f_max)  # type: ignore[arg-type]
        lo = max(fmin, float(np.max(obs.values - self.L * self._pos(obs.points - x[None]))))
        hi = min(fmax, float(np.min(obs.values + self.L * self._pos(x[None] - obs.points))))
        w_lo = PositivePartConeWitness("lower", obs.points, obs.values, self.L, self.norm, cap=fmin)
        w_hi = PositivePartConeWitness("upper", obs.points, obs.values, self.L, self.norm, cap=fmax)
        return ValueRange(lo, hi, True, True, w_lo, w_hi, x, obs, "closed form (monotone McShane extension)")

    def probe_visualizations(self) -> Iterator[FeatureVisualization]:
        """x_max = 1, x_min = 0 (every monotone function has them) and Delta from tight to loose."""
        one, zero = np.ones(self.d), np.zeros(self.d)
        D = float(self._pos(one)[0])
        for s in (1.0, 0.5, 0.125):
            yield FeatureVisualization(one, self.L * np.floor(D * s * 1024) / 1024, zero, 0.0)
