"""The class ``affine``: f(y) = w . y + b on [0,1]^d.

Theorem (value range for a visualization). A global maximiser of w.y + b over the box has
x_max_k = 1 where w_k > 0 and x_max_k = 0 where w_k < 0 (and any x_max_k where w_k = 0); symmetrically for x_min.
So w_k = 0 unless k is in S = {k : {x_max_k, x_min_k} = {0, 1}}, and with s_k(x) = |x_k - x_min_k|,

    f(x) = f_min + sum_{k in S} a_k s_k(x),   a_k = |w_k| >= 0,   sum_k a_k = Delta.

Hence f(x) ranges over [f_min + Delta min_{k in S} s_k(x), f_min + Delta max_{k in S} s_k(x)] (all weight on one
coordinate attains each end); the visualization is consistent iff S is non-empty or Delta = 0. In d = 1 the
range is a single point: the decoder f(x) = f_min + (f_max - f_min) |x - x_min| recovers f exactly.
More general observations are handled by a linear programme in (w, b).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory._lp import solve
from theory._range import ValueRange
from theory._setting import TOL, FloatArray, Observations
from theory._witness import AffineWitness
from theory.classes._base import FunctionClass, InconsistentVisualization


class Affine(FunctionClass):
    """Affine functions f(y) = w . y + b on [0,1]^d."""

    name = "affine"
    label = "affine"

    @staticmethod
    def _is_visualization(obs: Observations) -> bool:
        return obs.n == 2 and sorted(obs.kinds) == ["max", "min"]

    def _split(self, obs: Observations) -> tuple[FloatArray, FloatArray, float, float, list[int]]:
        i_max, i_min = obs.kinds.index("max"), obs.kinds.index("min")
        xmax, xmin = obs.points[i_max], obs.points[i_min]
        S = [k for k in range(self.d) if {xmax[k], xmin[k]} == {0.0, 1.0}]
        return xmax, xmin, float(obs.values[i_max]), float(obs.values[i_min]), S

    def check_consistent(self, obs: Observations) -> None:
        if self._is_visualization(obs):
            xmax, xmin, fmax, fmin, S = self._split(obs)
            if not S and fmax - fmin > TOL * obs.scale:
                raise InconsistentVisualization(
                    f"no affine function on [0,1]^{self.d} has its maximum at {xmax.tolist()} and its minimum at "
                    f"{xmin.tolist()} with f_max > f_min: a non-constant affine function is extremal at opposite "
                    "vertices in the coordinates it depends on"
                )
            return
        import cvxpy as cp

        w, b, cons = self._lp(obs)
        prob = cp.Problem(cp.Minimize(0), cons)
        solve(prob)
        if prob.status not in ("optimal", "optimal_inaccurate"):
            raise InconsistentVisualization("no affine function on [0,1]^d has these observations (LP infeasible)")

    def _lp(self, obs: Observations):  # type: ignore[no-untyped-def]
        import cvxpy as cp

        w, b = cp.Variable(self.d), cp.Variable()
        up, low = cp.Variable(self.d), cp.Variable(self.d)
        cons = [obs.points @ w + b == obs.values, up >= w, up >= 0, low <= w, low <= 0]
        if obs.f_max is not None:
            cons.append(cp.sum(up) + b <= obs.f_max)  # max over the box of w.y + b
        if obs.f_min is not None:
            cons.append(cp.sum(low) + b >= obs.f_min)  # min over the box
        return w, b, cons

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        if self._is_visualization(obs):
            xmax, xmin, fmax, fmin, S = self._split(obs)
            delta = fmax - fmin
            if not S:
                w = AffineWitness(np.zeros(self.d), fmin)
                return ValueRange(fmin, fmin, True, True, w, w, x, obs, "closed form (affine, constant)")
            s = {k: abs(x[k] - xmin[k]) for k in S}
            k_lo, k_hi = min(S, key=lambda k: s[k]), max(S, key=lambda k: s[k])

            def witness(k: int) -> AffineWitness:
                wv = np.zeros(self.d)
                wv[k] = delta * np.sign(xmax[k] - xmin[k])
                return AffineWitness(wv, fmin - float(wv @ xmin))

            return ValueRange(
                fmin + delta * s[k_lo],
                fmin + delta * s[k_hi],
                True,
                True,
                witness(k_lo),
                witness(k_hi),
                x,
                obs,
                "closed form (affine)",
            )
        import cvxpy as cp

        w, b, cons = self._lp(obs)
        ends = []
        solver = ""
        for sense in (cp.Minimize, cp.Maximize):
            prob = cp.Problem(sense(x @ w + b), cons)
            solver = solve(prob)
            if prob.status not in ("optimal", "optimal_inaccurate"):
                raise InconsistentVisualization(f"the affine value-range LP ended with status {prob.status}")
            ends.append((float(prob.value), AffineWitness(np.asarray(w.value), float(b.value))))
        (lo, w_lo), (hi, w_hi) = ends
        return ValueRange(lo, hi, True, True, w_lo, w_hi, x, obs, f"LP (cvxpy, {solver})")

    def decoder_expr(self, syms: dict[str, Any]) -> Any:
        import sympy

        if self.d != 1:
            return None
        return syms["f_min"] + (syms["f_max"] - syms["f_min"]) * sympy.Abs(syms["x0"] - syms["x_min0"])

    def decoder(self) -> dict[str, Any] | None:
        if self.d != 1:
            return None
        return {
            "expr": "f_min + (f_max - f_min)*Abs(x0 - x_min0)",
            "vars": ["x0", "x_max0", "x_min0", "f_max", "f_min"],
        }
