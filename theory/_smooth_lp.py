"""Outer bounds for L-smooth functions on [0,1]^d from finitely many points, with exact dual certificates.

Every member f (gradient L-Lipschitz on the box) satisfies, for any two points p_i, p_j of the box (the segment
between them lies in the box, and t -> f(p_i + t(p_j - p_i)) has an (L |p_j - p_i|^2)-Lipschitz derivative):

    up(i, j):    f_j - f_i - g_i.(p_j - p_i) <= L |p_j - p_i|^2 / 2,
    down(i, j):  f_i - f_j + g_i.(p_j - p_i) <= L |p_j - p_i|^2 / 2,

with f_i = f(p_i), g_i = grad f(p_i); also f_min <= f_i <= f_max, f(x_min) = f_min, f(x_max) = f_max, and the
first-order conditions of the two extrema (the gradient at x_min lies in minus the box's normal cone there: zero
in the coordinates where x_min is interior, >= 0 where x_min,k = 0, <= 0 where x_min,k = 1; the mirror at x_max).
So the largest value of a linear objective over these linear conditions bounds it over all members: an LP over
(f_i, g_i). Weak duality turns any y >= 0 (free on the equalities) with sum_r y_r a_r = c into the proof
c.z <= sum_r y_r b_r. The engine solves the LP with HiGHS, rounds the duals to rationals and repairs the small
residual exactly (g-residuals with up/down rows along d independent directions, f-residuals with the value
bounds), so the bound it reports is proved in exact arithmetic; ``counterexamples/verify/_smooth_lp.py`` rebuilds
every row from its kind and the points and checks the identity. Everything is in units of Delta (f_min = 0,
f_max = 1, L/Delta), where the problem does not depend on the scale of f.

Two uses: the largest f(x) (or the smallest) over members, an outer end of the value range; and, without the
condition f(x_max) = f_max, the largest f(x_max): below 1 it proves that no member has the visualization.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np

from theory._boxquad import _solve_exact
from theory._numbers import fraction_str, to_fraction
from theory._setting import FloatArray

Row = tuple[Any, ...]  # ("up", i, j), ("down", i, j), ("floor", i), ("ceil", i), ("eq_min",), ("eq_max",),
# ("cone_min", k), ("cone_max", k)


def grid(d: int, n: int, extra: list[FloatArray]) -> list[tuple[Fraction, ...]]:
    """The points j/(n - 1) of the grid, then the extra points (exact rationals), without repeats."""
    pts = [tuple(Fraction(v, n - 1) for v in idx) for idx in itertools.product(range(n), repeat=d)]
    seen = set(pts)
    for e in extra:
        q = tuple(to_fraction(float(v)) for v in e)
        if q not in seen:
            pts.append(q)
            seen.add(q)
    return pts


def _near(xmin: FloatArray, xmax: FloatArray, x: FloatArray) -> list[FloatArray]:
    """Points that make the bound at x tighter than the grid alone: x moved by 1/8 and 1/4 along each axis (inside
    the box) and the quarter points of the segments from x_min and x_max to x (any point of the box is allowed)."""
    out = []
    for h in (0.125, 0.25):
        for k in range(x.shape[0]):
            for s in (-h, h):
                p = x.copy()
                p[k] = min(1.0, max(0.0, p[k] + s))
                out.append(p)
    for t in (0.25, 0.5, 0.75):
        out += [xmin + t * (x - xmin), xmax + t * (x - xmax)]
    return out


def _cone_sign(c: Fraction, at_max: bool) -> int | None:
    """The row for coordinate k of an extremum: None for an equality (interior), else the sign s of s g_k <= 0."""
    if 0 < c < 1:
        return None
    s = -1 if c == 0 else 1  # minimum: g_k >= 0 at 0 (-g <= 0), g_k <= 0 at 1 (g <= 0)
    return -s if at_max else s


def row(kind: Row, pts: list[tuple[Fraction, ...]], imin: int, imax: int, L: Fraction) -> tuple[dict, Fraction]:
    """The coefficients {("f", i) or ("g", i, k): value} and the right-hand side of one row (units of Delta)."""
    name = kind[0]
    if name in ("up", "down"):
        i, j = kind[1], kind[2]
        diff = [b - a for a, b in zip(pts[i], pts[j], strict=True)]
        s = 1 if name == "up" else -1
        coef: dict[Any, Fraction] = {("f", j): Fraction(s), ("f", i): Fraction(-s)}
        for k, v in enumerate(diff):
            if v:
                coef[("g", i, k)] = -s * v
        return coef, L * sum(v * v for v in diff) / 2
    if name == "floor":
        return {("f", kind[1]): Fraction(-1)}, Fraction(0)
    if name == "ceil":
        return {("f", kind[1]): Fraction(1)}, Fraction(1)
    if name == "eq_min":
        return {("f", imin): Fraction(1)}, Fraction(0)
    if name == "eq_max":
        return {("f", imax): Fraction(1)}, Fraction(1)
    if name in ("cone_min", "cone_max"):
        at, k = (imin if name == "cone_min" else imax), kind[1]
        sign = _cone_sign(pts[at][k], name == "cone_max")
        return {("g", at, k): Fraction(1 if sign is None else sign)}, Fraction(0)
    raise ValueError(f"unknown row kind {kind!r}")


def is_equality(kind: Row, pts: list[tuple[Fraction, ...]], imin: int, imax: int) -> bool:
    if kind[0] in ("eq_min", "eq_max"):
        return True
    if kind[0] in ("cone_min", "cone_max"):
        at = imin if kind[0] == "cone_min" else imax
        return _cone_sign(pts[at][kind[1]], kind[0] == "cone_max") is None
    return False


def _single_rows(N: int, d: int, pin_max: bool) -> list[Row]:
    """Every row but the up/down pairs: value bounds, the pinned extrema, the first-order conditions."""
    rows: list[Row] = [("floor", i) for i in range(N)] + [("ceil", i) for i in range(N)]
    rows += [("eq_min",)] + ([("eq_max",)] if pin_max else [])
    rows += [("cone_min", k) for k in range(d)] + [("cone_max", k) for k in range(d)]
    return rows


#: Grid points per axis, for a bound at x (points near x are added; d = 2, 3) and for consistency (d = 2 to 5).
#: The LP has 2 N (N - 1) rows for N points; grids of step 1/6 with the points near x did best in d = 2 per second.
#: The engine asks for a bound only in the dimensions listed here (``available``).
GRID = {"range": {2: 7, 3: 4}, "consistency": {2: 9, 3: 4, 4: 3, 5: 3}}


def available(d: int, use: str) -> bool:
    """Whether the engine tries the LP in dimension d for ``use`` ("range" or "consistency")."""
    return d in GRID[use]


def bound(
    xmin: FloatArray,
    xmax: FloatArray,
    L_over_delta: Fraction | float,
    target: FloatArray | None,
    sense: int,
    n: int = 0,
    claim: dict[str, Any] | None = None,
) -> tuple[Fraction, dict[str, Any]] | None:
    """A proved bound in units of Delta (f_min = 0, f_max = 1): with ``target`` x, an upper bound on f(x)
    (``sense`` +1) or on -f(x) (``sense`` -1); with ``target`` None, an upper bound on f(x_max) without the
    condition f(x_max) = 1 (below 1: no member). ``claim`` (the visualization, L, side and x the bound is about)
    goes into the certificate, which the verifier checks against it. Returns (bound, certificate) or None if the LP
    fails."""
    lp = _LP(xmin, xmax, L_over_delta, target, sense, n)
    res, pts, imin, imax, it, L, I, J = lp.res, lp.pts, lp.imin, lp.imax, lp.it, lp.L, lp.I, lp.J
    ineq_kinds, eq_kinds = lp.ineq_kinds, lp.eq_kinds
    if res.status != 0:
        return None
    all_kinds = [(k, i, j) for i, j in zip(I.tolist(), J.tolist(), strict=True) for k in ("up", "down")]
    all_kinds += ineq_kinds
    y_ub, y_eq = -res.ineqlin.marginals, -res.eqlin.marginals
    mult: dict[Row, Fraction] = {}
    for kind, y in zip(all_kinds, y_ub, strict=True):
        if y > 1e-9:
            mult[kind] = Fraction(float(y)).limit_denominator(10**9)
    for kind, y in zip(eq_kinds, y_eq, strict=True):
        if abs(y) > 1e-9:
            mult[kind] = Fraction(float(y)).limit_denominator(10**9)
    objective = {("f", it): Fraction(sense)}
    _repair(mult, pts, imin, imax, L, objective, target is not None)
    if _residual(mult, pts, imin, imax, L, objective) or any(
        m < 0 and not is_equality(k, pts, imin, imax) for k, m in mult.items()
    ):
        return None  # no exact proof (the repair failed): no bound
    total = sum((m * row(k, pts, imin, imax, L)[1] for k, m in mult.items()), Fraction(0))
    cert = {
        "type": "smooth_lp_bound",
        "L_over_delta": fraction_str(L),
        "points": [[fraction_str(v) for v in p] for p in pts],
        "x_min": imin,
        "x_max": imax,
        "objective": {"point": it, "sign": sense, "f_max_pinned": target is not None},
        "rows": [[*k, fraction_str(m)] for k, m in mult.items()],
        "bound": fraction_str(total),
        **(claim or {}),
    }
    return total, cert


def relaxation(
    xmin: FloatArray, xmax: FloatArray, L_over_delta: Fraction | float, target: FloatArray | None, sense: int, n: int
) -> float | None:
    """The LP's optimum in floats (units of Delta), without a certificate: not a proof (a diagnostic of how a
    finer grid would move the bound); None if the LP fails."""
    lp = _LP(xmin, xmax, L_over_delta, target, sense, n)
    return float(-lp.res.fun) if lp.res.status == 0 else None


class _LP:
    """The two-point LP on the grid (``GRID`` or n points per axis) plus x_min, x_max and the target's points,
    solved by HiGHS in floats: the rows' kinds, the points and the result (``res``)."""

    def __init__(
        self, xmin: FloatArray, xmax: FloatArray, L_over_delta: Fraction | float, target: FloatArray | None,
        sense: int, n: int,
    ) -> None:  # fmt: skip
        from scipy.optimize import linprog
        from scipy.sparse import coo_matrix

        d = xmin.shape[0]
        n = n or GRID["consistency" if target is None else "range"].get(d, 3)  # 3: the coarsest grid
        pts = grid(d, n, [xmin, xmax] + ([] if target is None else [target, *_near(xmin, xmax, target)]))
        index = {p: i for i, p in enumerate(pts)}
        imin, imax = (
            index[tuple(to_fraction(float(v)) for v in xmin)],
            index[tuple(to_fraction(float(v)) for v in xmax)],
        )
        it = imax if target is None else index[tuple(to_fraction(float(v)) for v in target)]
        L = to_fraction(L_over_delta)
        N = len(pts)
        P = np.array([[float(v) for v in p] for p in pts])
        nv = N * (1 + d)
        # the up/down rows in floats, pair by pair (the exact rows are rebuilt by ``row`` for the certificate only)
        I, J = (a.ravel() for a in np.meshgrid(np.arange(N), np.arange(N), indexing="ij"))
        keep = I != J
        I, J = I[keep], J[keep]
        D = P[J] - P[I]
        rhs = float(L) * np.sum(D * D, axis=1) / 2
        data: list[float] = []
        ri: list[int] = []
        ci: list[int] = []
        b_ub: list[float] = []
        r = 0
        for i_, j_, d_, b_ in zip(I, J, D, rhs, strict=True):
            for s in (1, -1):
                ri += [r, r]
                ci += [j_, i_]
                data += [s, -s]
                for k in range(d):
                    if d_[k]:
                        ri.append(r)
                        ci.append(N + i_ * d + k)
                        data.append(-s * d_[k])
                b_ub.append(b_)
                r += 1
        eq_rows, b_eq, ineq_kinds, eq_kinds = [], [], [], []
        for kind in _single_rows(N, d, target is not None):
            coef, b = row(kind, pts, imin, imax, L)
            cols = [c[1] if c[0] == "f" else N + c[1] * d + c[2] for c in coef]
            vals = [float(v) for v in coef.values()]
            if is_equality(kind, pts, imin, imax):
                eq_rows.append((cols, vals))
                b_eq.append(float(b))
                eq_kinds.append(kind)
            else:
                ri += [r] * len(cols)
                ci += cols
                data += vals
                b_ub.append(float(b))
                ineq_kinds.append(kind)
                r += 1
        A_ub = coo_matrix((data, (ri, ci)), shape=(r, nv)).tocsr()
        A_eq = np.zeros((len(eq_rows), nv))
        for m, (cols, vals) in enumerate(eq_rows):
            A_eq[m, cols] = vals
        c = np.zeros(nv)
        c[it] = -sense  # linprog minimises
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(None, None), method="highs")
        self.res, self.pts, self.imin, self.imax, self.it, self.L = res, pts, imin, imax, it, L
        self.I, self.J, self.ineq_kinds, self.eq_kinds = I, J, ineq_kinds, eq_kinds


def claim(
    xmin: FloatArray, xmax: FloatArray, fmin: float, fmax: float, L: float, side: str, x: FloatArray | None = None
) -> dict[str, Any]:
    """What a bound is about, in the certificate's own terms (checked by the verifier)."""
    out: dict[str, Any] = {
        "fv": {
            "x_max": [fraction_str(float(v)) for v in xmax],
            "f_max": fraction_str(fmax),
            "x_min": [fraction_str(float(v)) for v in xmin],
            "f_min": fraction_str(fmin),
        },
        "L": fraction_str(L),
        "side": side,
    }
    if x is not None:
        out["x"] = [fraction_str(float(v)) for v in x]
    return out


def _residual(mult: dict[Row, Fraction], pts: list, imin: int, imax: int, L: Fraction, objective: dict) -> dict:
    acc: dict[Any, Fraction] = dict(objective)
    for k, m in mult.items():
        for var, v in row(k, pts, imin, imax, L)[0].items():
            acc[var] = acc.get(var, Fraction(0)) - m * v
    return {var: v for var, v in acc.items() if v}


def _add(mult: dict[Row, Fraction], kind: Row, amount: Fraction) -> None:
    mult[kind] = mult.get(kind, Fraction(0)) + amount


def _repair(
    mult: dict[Row, Fraction], pts: list, imin: int, imax: int, L: Fraction, objective: dict, pinned: bool
) -> None:
    """Make sum_r y_r a_r = c hold exactly: gradient residuals first (up/down rows from p_i along d independent
    directions to other points), then value residuals (floor/ceil rows; the equalities at x_min, x_max)."""
    d = len(pts[0])
    res = _residual(mult, pts, imin, imax, L, objective)
    for i in sorted({var[1] for var in res if var[0] == "g"}):
        r = [res.get(("g", i, k), Fraction(0)) for k in range(d)]
        js, dirs = _basis(pts, i)
        # r = sum_m a_m dirs_m (dirs a basis); down(i, j) adds +dir on g_i, up(i, j) adds -dir
        a = _solve_exact([[v[k] for v in dirs] for k in range(d)], r) if len(dirs) == d else None
        if a is None:
            return  # no exact repair: bound() finds the residual and gives no bound
        for j, am in zip(js, a, strict=True):
            if am > 0:
                _add(mult, ("down", i, j), am)
            elif am < 0:
                _add(mult, ("up", i, j), -am)
    res = _residual(mult, pts, imin, imax, L, objective)
    for var, v in res.items():
        i = var[1]
        if i == imin:
            _add(mult, ("eq_min",), v)
        elif i == imax and pinned:
            _add(mult, ("eq_max",), v)
        elif v > 0:
            _add(mult, ("ceil", i), v)
        else:
            _add(mult, ("floor", i), -v)
    for k in [k for k, m in mult.items() if m == 0]:
        del mult[k]


def _basis(pts: list, i: int) -> tuple[list[int], list[list[Fraction]]]:
    """d other points whose directions from p_i are linearly independent (greedy, exact)."""
    d = len(pts[0])
    js: list[int] = []
    dirs: list[list[Fraction]] = []
    for j in range(len(pts)):
        if j == i:
            continue
        v = [b - a for a, b in zip(pts[i], pts[j], strict=True)]
        if _rank(dirs + [v]) == len(dirs) + 1:
            js.append(j)
            dirs.append(v)
            if len(dirs) == d:
                break
    return js, dirs


def _rank(rows: list[list[Fraction]]) -> int:
    m = [list(r) for r in rows]
    rank, cols = 0, len(m[0]) if m else 0
    for c in range(cols):
        piv = next((r for r in range(rank, len(m)) if m[r][c] != 0), None)
        if piv is None:
            continue
        m[rank], m[piv] = m[piv], m[rank]
        for r in range(len(m)):
            if r != rank and m[r][c] != 0:
                f = m[r][c] / m[rank][c]
                m[r] = [a - f * b for a, b in zip(m[r], m[rank], strict=True)]
        rank += 1
    return rank
