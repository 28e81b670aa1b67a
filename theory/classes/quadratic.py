"""The class ``quadratic``: f(y) = y'Ay + b'y + c on [0,1]^d, A symmetric.

Theorem (value range as a semi-infinite LP). f(x), the observations f(p_i) = v_i and the visualization's
conditions "f(t) <= f_max and f(t) >= f_min for every t in the box" are all LINEAR in the coefficients
theta = (c, b, A). So {f(x)} = [min, max] of theta -> f_x(theta) over a convex set cut out by infinitely many
linear constraints, both ends attained (the feasible set is compact: f is bounded on the grid {0,1/2,1}^d,
which determines a quadratic).

Cutting planes solve it exactly up to a tolerance: an LP (scipy HiGHS) with the constraints at a finite set of
points t (the grid, the observations and x, plus the first-order conditions at the visualization's points);
after each solve the candidate's EXACT global max/min over the box (face enumeration, ``theory._boxquad``) gives
the violated points, which are added, until the violation is <= 1e-8 Delta (or only at points already cut, i.e.
within the LP's own tolerance). Each LP is a relaxation, so its optimum bounds the true one from outside.
Witnesses: the optimal quadratic snapped to small-denominator rationals, projected exactly onto the equality
conditions (observed values, vanishing partial derivatives at the visualization's points, and exact tangency at
other points where it touches f_max or f_min), and re-checked in exact arithmetic (global max exactly f_max,
global min exactly f_min). If the exact member is only within 1e-6 of the optimum, the end is reported as
approached (``lo_attained``/``hi_attained`` False); if no snap passes, the witness is the float solution and
``extra["exact_witnesses"]`` is False. Consistency is decided the same way (an infeasible LP proves
inconsistency; a converged one is consistent up to the 1e-8 Delta tolerance).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from scipy.optimize import linprog

from theory._boxquad import MAX_D, candidates, check_d, extrema_exact
from theory._numbers import to_fraction
from theory._quad_witness import QuadraticWitness
from theory._range import ValueRange
from theory._setting import FloatArray, Observations
from theory.classes._base import FunctionClass, InconsistentVisualization

Frac = Fraction


def _pairs(d: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(d) for j in range(i, d)]


def features(P: FloatArray) -> FloatArray:
    """phi(t) with f(t) = phi(t) . theta, theta = (c, b_0..b_{d-1}, q_ij for i <= j), q_ii = A_ii, q_ij = 2 A_ij."""
    P = np.atleast_2d(P)
    d = P.shape[1]
    quad = [P[:, i] * P[:, j] for i, j in _pairs(d)]
    return np.column_stack([np.ones(len(P)), P, *quad])


def gradient_row(p: FloatArray, k: int) -> FloatArray:
    """The row r with r . theta = df/dy_k (p)."""
    return np.array(_gradient_row([float(v) for v in p], k, 0.0, 1.0))


def _gradient_row(p: list[Any], k: int, zero: Any, one: Any) -> list[Any]:
    """df/dy_k (p) as coefficients of theta = (c, b, upper triangle of A), in the number type of zero/one."""
    d = len(p)
    row = [zero] * (1 + d + len(_pairs(d)))
    row[1 + k] = one
    for n, (i, j) in enumerate(_pairs(d)):
        if i == j == k:
            row[1 + d + n] = 2 * p[k]
        elif i == k:
            row[1 + d + n] = p[j]
        elif j == k:
            row[1 + d + n] = p[i]
    return row


def unpack(theta: list[Fraction], d: int) -> tuple[list[list[Fraction]], list[Fraction], Fraction]:
    A = [[Frac(0)] * d for _ in range(d)]
    for n, (i, j) in enumerate(_pairs(d)):
        q = theta[1 + d + n]
        if i == j:
            A[i][i] = q
        else:
            A[i][j] = A[j][i] = q / 2
    return A, list(theta[1 : 1 + d]), theta[0]


def _first_order(obs: Observations) -> tuple[list[FloatArray], list[FloatArray]]:
    """First-order conditions at the max/min points: rows that must vanish, rows that must be <= 0."""
    eq, le = [], []
    for p, kind in zip(obs.points, obs.kinds, strict=True):
        if kind == "value":
            continue
        s = 1.0 if kind == "max" else -1.0  # max: grad_k <= 0 where p_k = 0, >= 0 where p_k = 1
        for k in range(len(p)):
            r = gradient_row(p, k)
            if 0 < p[k] < 1:
                eq.append(r)
            elif p[k] == 0:
                le.append(s * r)
            else:
                le.append(-s * r)
    return eq, le


class Quadratic(FunctionClass):
    """Quadratic functions y'Ay + b'y + c on [0,1]^d (d <= 6: exact face enumeration)."""

    name = "quadratic"
    label = "quadratic"

    def __init__(self, d: int = 1) -> None:
        super().__init__(d)
        check_d(self.d)
        self._cache: dict[tuple[bytes, bytes, tuple[str, ...], bytes | None, int], tuple[FloatArray, float]] = {}

    def approx_bound(self) -> dict[str, Any] | None:
        """d = 1: every range is at most Delta/2 wide, attained (x_min = 0, x_max = 1, x = 1/2).

        Proof. With an interior extremum (f' = 0 there) and Delta > 0 the quadratic is unique: f = f_min + a(t - p)^2
        (interior minimiser p, a fixed by f(x_max) = f_max) or its mirror; two interior extrema force a constant.
        Otherwise x_min, x_max are the two ends of [0,1]; with x_min = 0, x_max = 1 (the other case is the mirror
        t -> 1 - t) every quadratic through both is f_min + Delta t + b t(t - 1), and f_min <= f <= f_max on [0,1]
        holds iff Delta + b(t - 1) >= 0 and Delta + b t >= 0 for all t, i.e. iff |b| <= Delta. So the range at t is
        f_min + Delta t +- Delta t(1 - t), of width 2 Delta t(1 - t) <= Delta/2."""
        if self.d != 1:
            return None
        return {
            "sup_width": "1/2",
            "argument": "d = 1: the members with x_min = 0, x_max = 1 are f_min + Delta t + b t(t - 1) with |b| <= "
            "Delta (width 2 Delta t(1 - t) <= Delta/2); with an interior extremum the quadratic is unique",
        }

    # ---- the cutting-plane LP -----------------------------------------------------------------------------
    def _solve(self, obs: Observations, x: FloatArray | None, sense: int) -> tuple[FloatArray, float]:
        """theta optimising sense * f(x) (sense 0: any feasible theta) over the semi-infinite LP."""
        key = (obs.points.tobytes(), obs.values.tobytes(), obs.kinds, None if x is None else x.tobytes(), sense)
        if key in self._cache:
            return self._cache[key]
        norm = obs.normalised()  # solve in units of Delta (LP and cut tolerances relative to Delta), map back
        if norm is not None:
            unit, shift, scale = norm
            th, opt = self._solve(unit, x, sense)
            th = scale * th
            th[0] += shift  # theta[0] is the constant term c
            out = (th, shift + scale * opt if x is not None else 0.0)
            self._cache[key] = out
            return out
        d = self.d
        fmax, fmin = float(obs.f_max), float(obs.f_min)  # type: ignore[arg-type]
        grid = np.array(list(np.ndindex(*(3,) * d)), dtype=float) / 2
        T = [grid, obs.points] + ([] if x is None else [x[None]])
        pts = np.vstack(T)
        eq, le = _first_order(obs)
        tol = 1e-8 * max(1.0, fmax - fmin)
        opts = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
        cost = np.zeros(features(obs.points).shape[1]) if x is None else -sense * features(x)[0]
        A_eq = np.vstack([features(obs.points), *(r[None] for r in eq)])
        b_eq = np.concatenate([obs.values, np.zeros(len(eq))])
        for _ in range(400):
            Phi = features(pts)
            A_ub = np.vstack([Phi, -Phi, *(r[None] for r in le)])
            b_ub = np.concatenate([np.full(len(pts), fmax), np.full(len(pts), -fmin), np.zeros(len(le))])
            res = linprog(
                cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(None, None), method="highs", options=opts
            )
            if res.status == 2:
                raise InconsistentVisualization(
                    f"no quadratic function on [0,1]^{d} has these observations (f_max = {fmax:g}, f_min = {fmin:g}): "
                    "the LP over the coefficients with f_min <= f <= f_max on a finite set of points is infeasible"
                )
            if res.status != 0:
                raise RuntimeError(f"the quadratic LP failed: {res.message}")
            theta = res.x
            A, b, c = _floats(theta, d)
            C = candidates(A, b)
            vals = np.einsum("ni,ij,nj->n", C, A, C) + C @ b + c
            bad = C[(vals > fmax + tol) | (vals < fmin - tol)]
            # points already cut are violated only within the LP's own tolerance: converged
            bad = bad[np.min(np.abs(bad[:, None, :] - pts[None]).max(axis=2), axis=1) > 1e-12] if len(bad) else bad
            if not len(bad):
                out = (theta, float(features(x)[0] @ theta) if x is not None else 0.0)
                self._cache[key] = out
                return out
            pts = np.vstack([pts, bad])
        raise RuntimeError("the quadratic cutting-plane LP did not converge in 400 rounds")

    def check_consistent(self, obs: Observations) -> None:
        self._solve(obs, None, 0)

    # ---- exact witnesses -----------------------------------------------------------------------------------
    def _exact(
        self, theta: FloatArray, obs: Observations, x: FloatArray | None = None, opt: float = 0.0, close: float = 1e-9
    ) -> list[Fraction] | None:
        """Snap theta to rationals, restore the equality conditions exactly, and check the visualization
        exactly (and, with x, that the value at x is within ``close`` of the LP optimum); None if no snap passes.

        First the plain snaps; then, for optima that touch f_max or f_min at other points p of the box (face-
        stationary points, typically irrational), p is rounded to a rational p~ and "f(p~) = f_max (f_min), the
        face-gradient vanishes at p~" join the equalities, which turns the tangency into an exact one."""
        d = self.d
        fmax, fmin = to_fraction(float(obs.f_max)), to_fraction(float(obs.f_min))  # type: ignore[arg-type]
        rows, rhs = _equalities(theta, obs)
        attempts: list[tuple[int, list[list[Fraction]], list[Fraction]]] = [
            (den, rows, rhs) for den in (10, 100, 1000, 10**4, 10**6, 10**8)
        ]
        for pden in (10**3, 10**4, 10**6):
            extra_r, extra_b = _touching(theta, obs, pden, x)
            if extra_r:
                r2, b2 = _independent(rows + extra_r, rhs + extra_b)
                attempts += [(den, r2, b2) for den in (10**4, 10**6, 10**8)]
        for den, rr, bb in attempts:
            snapped = [Fraction(float(t)).limit_denominator(den) for t in theta]
            th = _project(snapped, rr, bb)
            if th is None:
                continue
            A, b, c = unpack(th, d)
            _, hi, _, lo = extrema_exact(A, b, c)
            if (
                hi == fmax
                and lo == fmin
                and (x is None or abs(float(QuadraticWitness(A, b, c).exact_at(x)) - opt) <= close)
            ):
                return th
        return None

    def _witness(
        self, obs: Observations, x: FloatArray | None, sense: int
    ) -> tuple[QuadraticWitness, Fraction | None, float, bool]:
        """(witness, its exact value at x, the LP optimum, exact?). The witness attains the optimum (within 1e-9)
        or, failing that, approaches it (an exact member within 1e-6); else it is the float LP solution."""
        theta, opt = self._solve(obs, x, sense)
        span = _span(obs)
        th = self._exact(theta, obs, x, opt, close=1e-9 * span) or self._exact(theta, obs, x, opt, close=1e-6 * span)
        if th is None:
            A, b, c = unpack([Fraction(float(t)) for t in theta], self.d)
            return QuadraticWitness(A, b, c), None, opt, False
        A, b, c = unpack(th, self.d)
        w = QuadraticWitness(A, b, c)
        return w, (w.exact_at(x) if x is not None else None), opt, True

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        w_lo, v_lo, opt_lo, ex_lo = self._witness(obs, x, -1)
        w_hi, v_hi, opt_hi, ex_hi = self._witness(obs, x, 1)
        tol = 1e-7 * obs.scale
        at_lo = v_lo is not None and abs(float(v_lo) - opt_lo) <= tol
        at_hi = v_hi is not None and abs(float(v_hi) - opt_hi) <= tol
        lo = float(v_lo) if at_lo else opt_lo  # type: ignore[arg-type]
        hi = float(v_hi) if at_hi else opt_hi  # type: ignore[arg-type]
        return ValueRange(
            lo,
            hi,
            at_lo,
            at_hi,
            w_lo,
            w_hi,
            x,
            obs,
            "semi-infinite LP by cutting planes (scipy HiGHS; exact face enumeration)",
            extra={"exact_witnesses": ex_lo and ex_hi},
        )


def _span(obs: Observations) -> float:
    """The unit of the exactness tolerances: the spread of the observed values (1 if they are all equal)."""
    return float(np.ptp(obs.values)) or 1.0


def _floats(theta: FloatArray, d: int) -> tuple[FloatArray, FloatArray, float]:
    A = np.zeros((d, d))
    for n, (i, j) in enumerate(_pairs(d)):
        q = theta[1 + d + n]
        if i == j:
            A[i, i] = q
        else:
            A[i, j] = A[j, i] = q / 2
    return A, theta[1 : 1 + d], float(theta[0])


def _equalities(theta: FloatArray, obs: Observations) -> tuple[list[list[Fraction]], list[Fraction]]:
    """Exact equality conditions a witness must meet: the observed values, vanishing partial derivatives in the
    free coordinates of the max/min points, and the one-sided conditions that are active (|df/dy_k| < 1e-6) in
    theta at the vertex coordinates."""
    rows = [_exact_features([to_fraction(float(c)) for c in p]) for p in obs.points]
    rhs = [to_fraction(float(v)) for v in obs.values]
    for p, kind in zip(obs.points, obs.kinds, strict=True):
        if kind == "value":
            continue
        pq = [to_fraction(float(c)) for c in p]
        for k in range(len(p)):
            if 0 < p[k] < 1 or abs(gradient_row(p, k) @ theta) < 1e-6 * _span(obs):
                rows.append(_exact_gradient_row(pq, k))
                rhs.append(Frac(0))
    return _independent(rows, rhs)


def _exact_features(p: list[Fraction]) -> list[Fraction]:
    return [Frac(1), *p, *(p[i] * p[j] for i, j in _pairs(len(p)))]


def _exact_gradient_row(p: list[Fraction], k: int) -> list[Fraction]:
    return _gradient_row(p, k, Frac(0), Frac(1))


def _touching(
    theta: FloatArray, obs: Observations, pden: int, x: FloatArray | None
) -> tuple[list[list[Fraction]], list[Fraction]]:
    """Equalities that make theta's near-touching points (|f - f_max| or |f - f_min| < 1e-6 Delta at a face-
    stationary point or at the query point x, not observed) exact touching points, after rounding them to
    denominator pden (x is kept exact). With a singular Hessian the touching set is a segment through x: the
    vanishing gradients at its points make that exact too."""
    d = obs.d
    A, b, c = _floats(theta, d)
    C = candidates(A, b) if x is None else np.vstack([x[None], candidates(A, b)])
    vals = np.einsum("ni,ij,nj->n", C, A, C) + C @ b + c
    fmax, fmin = float(obs.f_max), float(obs.f_min)  # type: ignore[arg-type]
    tol = 1e-6 * _span(obs)
    rows: list[list[Fraction]] = []
    rhs: list[Fraction] = []
    for p, v in zip(C, vals, strict=True):
        if np.min(np.abs(obs.points - p).max(axis=1)) < 1e-9:
            continue
        for target in (fmax, fmin):
            if abs(v - target) < tol:
                exact_x = x is not None and np.array_equal(p, x)
                pq = [to_fraction(float(u)) if exact_x else Fraction(float(u)).limit_denominator(pden) for u in p]
                rows.append(_exact_features(pq))
                rhs.append(to_fraction(target))
                for k in range(d):
                    if 0 < pq[k] < 1:
                        rows.append(_exact_gradient_row(pq, k))
                        rhs.append(Frac(0))
    return rows, rhs


def _has_fv(th: list[Fraction], obs: Observations, d: int) -> bool:
    A, b, c = unpack(th, d)
    _, hi, _, lo = extrema_exact(A, b, c)
    return hi == to_fraction(float(obs.f_max)) and lo == to_fraction(float(obs.f_min))  # type: ignore[arg-type]


def _independent(rows: list[list[Fraction]], rhs: list[Fraction]) -> tuple[list[list[Fraction]], list[Fraction]]:
    """A maximal linearly independent subset of the rows (exact elimination)."""
    basis: list[list[Fraction]] = []
    keep_r: list[list[Fraction]] = []
    keep_b: list[Fraction] = []
    for r, v in zip(rows, rhs, strict=True):
        red = r[:]
        for bvec in basis:
            piv = next(i for i, a in enumerate(bvec) if a != 0)
            if red[piv] != 0:
                f = red[piv] / bvec[piv]
                red = [a - f * bb for a, bb in zip(red, bvec, strict=True)]
        if any(a != 0 for a in red):
            basis.append(red)
            keep_r.append(r)
            keep_b.append(v)
    return keep_r, keep_b


def _project(th: list[Fraction], rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """The closest point (Euclidean) to th on {E theta = e}, exactly: theta + E'y with (E E') y = e - E theta."""
    from theory._boxquad import _solve_exact

    if not rows:
        return th
    res = [v - sum((a * t for a, t in zip(r, th, strict=True)), Frac(0)) for r, v in zip(rows, rhs, strict=True)]
    G = [[sum((a * b for a, b in zip(r1, r2, strict=True)), Frac(0)) for r2 in rows] for r1 in rows]
    y = _solve_exact(G, res)
    if y is None:
        return None
    return [t + sum((rows[i][k] * y[i] for i in range(len(rows))), Frac(0)) for k, t in enumerate(th)]


__all__ = ["MAX_D", "Quadratic", "features"]
