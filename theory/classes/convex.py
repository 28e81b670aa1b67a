"""The class ``convex``: convex functions on [0,1]^d.

Interpolation conditions (Taylor, Hendrickx, Glineur 2017). Finite data (p_i, v_i) extend to a convex function
with subgradients g_i at p_i iff v_j >= v_i + g_i . (p_j - p_i) for all i, j; the minimal extension is
max_i (v_i + g_i . (y - p_i)). The visualization adds:
  - f <= f_max on the box: every affine piece is <= f_max on [0,1]^d, i.e.
    v_i + sum_k max(g_ik (1 - p_ik), -g_ik p_ik) <= f_max (the maximum of an affine function over the box,
    taken at a vertex; this replaces the 2^d vertex constraints by d auxiliary variables per point);
  - x_min is a global minimiser: 0 is in the subdifferential plus the normal cone of the box at x_min,
    i.e. g_k = 0 where 0 < x_min_k < 1, g_k >= 0 where x_min_k = 0, g_k <= 0 where x_min_k = 1.
The value range at x is [min, max] of the value at x over this LP (solved with cvxpy), both ends attained by
the max-of-affine interpolant of the optimal solution. Convex functions whose subgradients blow up at the
boundary of the box are limits of such interpolants; they add no values at points inside the data's hull.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from theory import _convex_form as convex_form
from theory._lp import solve
from theory._range import ValueRange
from theory._setting import FloatArray, Observations
from theory._witness import MaxAffineWitness
from theory.classes._base import FunctionClass, InconsistentVisualization

#: Tolerance (relative to Delta) that float LP witnesses must meet when no exact rational witness is found.
WITNESS_TOL = 1e-7


class Convex(FunctionClass):
    """Convex functions f : [0,1]^d -> R."""

    name = "convex"
    label = "convex"

    def _lp(self, obs: Observations, x: FloatArray | None):  # type: ignore[no-untyped-def]
        import cvxpy as cp

        pts = obs.points if x is None or obs.index_of(x) is not None else np.vstack([obs.points, x[None]])
        n, d = pts.shape
        F, G, U = cp.Variable(n), cp.Variable((n, d)), cp.Variable((n, d))
        cons = [F[: obs.n] == obs.values]
        # interpolation: F_j >= F_i + G_i . (P_j - P_i)  <=>  F_j - F_i - (G P^T)_ij + (G . P)_i >= 0
        inner = cp.sum(cp.multiply(G, pts), axis=1)
        M = F[None, :] - F[:, None] - G @ pts.T + inner[:, None] @ np.ones((1, n))
        cons.append(M >= 0)
        if obs.f_max is not None:
            cons += [
                cp.multiply(G, 1 - pts) <= U,
                cp.multiply(G, -pts) <= U,
                F + cp.sum(U, axis=1) <= obs.f_max,
            ]
        for i, k in enumerate(obs.kinds):
            if k == "min":
                q = obs.points[i]
                for c in range(d):
                    if 0 < q[c] < 1:
                        cons.append(G[i, c] == 0)
                    elif q[c] == 0:
                        cons.append(G[i, c] >= 0)
                    else:
                        cons.append(G[i, c] <= 0)
        return pts, F, G, cons

    @staticmethod
    def _gradient_ok(g: list[Fraction]) -> bool:
        """Extra exact condition on a snapped subgradient (none for plain convexity)."""
        return True

    def _in_units_of_delta(self, delta: float) -> Convex:
        """The class that f/Delta belongs to when f belongs to this one (the same class: convexity is
        scale-free; ConvexLipschitz divides L by Delta)."""
        return self

    def check_consistent(self, obs: Observations) -> None:
        import cvxpy as cp

        fv = self._closed_form_fv(obs)
        if fv is not None:
            if not convex_form.consistent(*fv):
                raise InconsistentVisualization(
                    "no convex function on [0,1]^d has these observations: x_max must lie on a face of the box that "
                    "does not contain x_min (the gauge of the box about x_min must be 1 at x_max)"
                )
            return
        norm = obs.normalised()  # solve in units of Delta: the solver's tolerances are then relative to Delta
        if norm is not None:
            self._in_units_of_delta(norm[2]).check_consistent(norm[0])
            return

        _, F, G, cons = self._lp(obs, None)
        prob = cp.Problem(cp.Minimize(0), cons)
        solve(prob)
        if prob.status not in ("optimal", "optimal_inaccurate"):
            raise InconsistentVisualization(
                "no convex function on [0,1]^d has these observations: the interpolation conditions "
                "(v_j >= v_i + g_i.(p_j - p_i), f <= f_max on the box, x_min a global minimiser) are infeasible"
            )

    def _closed_form_fv(self, obs: Observations) -> tuple[FloatArray, FloatArray, float] | None:
        """(x_max, x_min, Delta) when the closed form applies: the plain convex class and a feature visualization
        (one maximiser, one minimiser); None otherwise (general observations, intersections: the LP)."""
        if type(self) is not Convex or obs.n != 2 or set(obs.kinds) != {"max", "min"}:
            return None
        i, j = obs.kinds.index("max"), obs.kinds.index("min")
        return obs.points[i], obs.points[j], float(obs.values[i] - obs.values[j])

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        fv = self._closed_form_fv(obs)
        if fv is not None and fv[2] > 0:
            fmax, fmin = float(obs.f_max), float(obs.f_min)  # type: ignore[arg-type]
            lo, hi, w_lo, w_hi = convex_form.value_range(fv[0], fmax, fv[1], fmin, x)
            method = "closed form (gauge of the box about x_min; face of x_max)"
            return ValueRange(lo, hi, True, True, w_lo, w_hi, x, obs, method, extra={"exact_witnesses": True})
        return self._value_range_lp(obs, x)

    def _value_range_lp(self, obs: Observations, x: FloatArray) -> ValueRange:
        """The range by the interpolation LP (general observations; a cross-check of the closed form)."""
        import cvxpy as cp

        norm = obs.normalised()
        if norm is not None:
            unit, shift, scale = norm
            return self._in_units_of_delta(scale)._value_range_lp(unit, x).affine_image(shift, scale, obs)

        pts, F, G, cons = self._lp(obs, x)
        ix = obs.index_of(x)
        ix = pts.shape[0] - 1 if ix is None else ix
        ends = []
        solver = ""
        for sense in (cp.Minimize, cp.Maximize):
            prob = cp.Problem(sense(F[ix]), cons)
            solver = solve(prob)
            if prob.status not in ("optimal", "optimal_inaccurate"):
                raise InconsistentVisualization(f"the convex value-range LP ended with status {prob.status}")
            vals, grads, exact = _rationalise(pts, np.asarray(F.value), np.asarray(G.value), obs, self._gradient_ok)
            ends.append((vals[ix], MaxAffineWitness(pts, vals, grads), exact))
        (lo, w_lo, ex_lo), (hi, w_hi, ex_hi) = ends
        extra: dict[str, Any] = {"exact_witnesses": ex_lo and ex_hi}
        if not extra["exact_witnesses"]:  # float witnesses: state and check the tolerance they meet
            worst = max(self._violation(w, obs) for w in (w_lo, w_hi))
            if worst > WITNESS_TOL:
                raise InconsistentVisualization(f"the LP witnesses violate the class's conditions by {worst:.3g} Delta")
            extra["witness_tolerance"] = {
                "relative_to_delta": WITNESS_TOL,
                "max_violation_relative": worst,
                "checks": "values at the observations, f_min <= f <= f_max on the box, subgradient bound (L)",
            }
        return ValueRange(
            float(lo),
            float(hi),
            True,
            True,
            w_lo,
            w_hi,
            x,
            obs,
            f"LP interpolation (cvxpy, {solver})",
            extra=extra,
        )

    def _violation(self, w: MaxAffineWitness, obs: Observations) -> float:
        """How far a (float) max-of-affine witness is from membership with these observations, relative to Delta
        (obs normalised: Delta = 1): values at the observations, its maximum over the box (per piece, at a vertex)
        against f_max, the minimum over the box of the piece through each minimiser against f_min, and the
        subgradients' extra bound (the Lipschitz constant, ``_gradient_excess``)."""
        P, F, G = w.points, w.values, w.subgradients
        at_obs = w(obs.points)
        worst = float(np.max(np.abs(at_obs - obs.values)))
        if obs.f_max is not None:
            box_max = F - np.sum(G * P, axis=1) + np.sum(np.maximum(G, 0), axis=1)
            worst = max(worst, float(np.max(box_max)) - obs.f_max)
        if obs.f_min is not None:  # w >= its piece through a minimiser, whose minimum over the box must be f_min
            box_min = F - np.sum(G * P, axis=1) + np.sum(np.minimum(G, 0), axis=1)
            rows = [i for i, k in enumerate(obs.kinds) if k == "min"]
            worst = max(worst, obs.f_min - float(np.min(box_min[rows])))
        return max(worst, self._gradient_excess(G))

    def _gradient_excess(self, G: FloatArray) -> float:
        """How far the subgradients exceed the class's bound on them (none for plain convexity)."""
        return 0.0


SNAP_TOL = 1e-6  # how far (units of Delta) snapping an LP vertex to small rationals may move it: solver accuracy


def _rationalise(
    pts: FloatArray, F: FloatArray, G: FloatArray, obs: Observations, gradient_ok: Any = None
) -> tuple[FloatArray, FloatArray, bool]:
    """Snap an LP vertex to nearby small-denominator rationals when they satisfy every constraint exactly
    (so that witnesses are exact); otherwise return the floats unchanged."""
    Fr = [Fraction(float(v)).limit_denominator(10**4) for v in F]
    Gr = [[Fraction(float(g)).limit_denominator(10**4) for g in row] for row in G]
    P = [[Fraction(float(c)) for c in row] for row in pts]
    n, d = pts.shape
    # a snap must stay within the solver's accuracy (units of Delta): a snapped vertex that is feasible but moved
    # (1.50001 -> 3/2) is a member of the class but no longer the optimum, and would narrow the range
    moved = max(
        max((abs(float(a) - float(b)) for a, b in zip(Fr, F, strict=True)), default=0.0),
        max((abs(float(a) - float(b)) for ra, rb in zip(Gr, G, strict=True) for a, b in zip(ra, rb, strict=True)),
            default=0.0),
    )  # fmt: skip
    ok = moved <= SNAP_TOL and all(Fr[i] == Fraction(float(obs.values[i])) for i in range(obs.n))
    ok = ok and all(
        Fr[j] >= Fr[i] + sum(Gr[i][k] * (P[j][k] - P[i][k]) for k in range(d)) for i in range(n) for j in range(n)
    )
    if ok and obs.f_max is not None:
        fmax = Fraction(float(obs.f_max))
        ok = all(
            Fr[i] + sum(max(Gr[i][k] * (1 - P[i][k]), -Gr[i][k] * P[i][k]) for k in range(d)) <= fmax for i in range(n)
        )
    if ok:
        for i, kind in enumerate(obs.kinds):
            if kind == "min":
                ok = ok and all(
                    (Gr[i][k] == 0) if 0 < P[i][k] < 1 else (Gr[i][k] >= 0 if P[i][k] == 0 else Gr[i][k] <= 0)
                    for k in range(d)
                )
    if ok and gradient_ok is not None:
        ok = all(gradient_ok(row) for row in Gr)
    if not ok:
        return F, G, False
    return np.array([float(v) for v in Fr]), np.array([[float(g) for g in row] for row in Gr]), True
