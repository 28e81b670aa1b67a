"""Classes rich enough to interpolate any finite data inside [f_min, f_max]: black box, ReLU networks,
continuous piecewise-affine functions and ERM solutions.

Theorem (value range). For observations with global max f_max and global min f_min and a query point x
that is not observed, {f(x)} = [f_min, f_max], both ends attained. Witness: the ReLU network
f_min + sum_j h_j relu(1 - K||y - c_j||_1) with a tent on every observed point and on x, heights
h_j = v_j - f_min (and t - f_min at x for the target t in {f_min, f_max}), K so large that tents do not overlap.
At an observed point the range is its value.
"""

from __future__ import annotations

import numpy as np

from theory._range import ValueRange
from theory._setting import FloatArray, Observations
from theory._witness import TentSumWitness, tent_steepness
from theory.classes._base import FunctionClass


class InterpolatingClass(FunctionClass):
    """Base of the classes whose members interpolate any finite data within [f_min, f_max]."""

    def check_consistent(self, obs: Observations) -> None:
        # Observations already reject duplicate points with two values and values outside [f_min, f_max];
        # every other finite data set is interpolated by a tent network (see the module docstring).
        return None

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        fmin, fmax = float(obs.f_min), float(obs.f_max)  # type: ignore[arg-type]
        at = obs.index_of(x)
        centres = obs.points if at is not None else np.vstack([obs.points, x[None]])
        uniq = np.unique(centres, axis=0)
        K = tent_steepness(uniq)

        def witness(target: float) -> TentSumWitness:
            heights = []
            for c in uniq:
                idx = np.flatnonzero(np.all(obs.points == c, axis=1))
                heights.append((obs.values[idx[0]] if idx.size else target) - fmin)
            return TentSumWitness(fmin, uniq, heights, K)

        if at is not None:
            v = float(obs.values[at])
            w = witness(v)
            return ValueRange(v, v, True, True, w, w, x, obs, "closed form (observed point)")
        return ValueRange(
            fmin,
            fmax,
            True,
            True,
            witness(fmin),
            witness(fmax),
            x,
            obs,
            "closed form (tent ReLU networks)",
            extra=self._extra(obs, x),
        )

    def _extra(self, obs: Observations, x: FloatArray) -> dict[str, object]:
        return {}
