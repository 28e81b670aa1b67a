"""Twisted members of the L-smooth class in d >= 2: f(y) = f_min + Delta q(y), q(y) = B(y_j) + y_i G(y_j).

B and G are C^1 piecewise quadratics on common rational knots 0 = t_0 < ... < t_N = 1 (i != j two coordinates; f
does not depend on the others). Unlike the ridge and separable members, the slope of f along y_i may change sign
with y_j: the minimum and the maximum can sit on one edge while f rises fast across it elsewhere.

Theorem (membership). The Hessian of q is zero outside the (i, j) block, where it is H = [[0, b], [b, e]] with
b = G'(y_j), e = B''(y_j) + y_i G''(y_j). Its eigenvalues are (e +- sqrt(e^2 + 4 b^2)) / 2, so

    ||H||_2 <= lam  iff  b^2 + lam |e| <= lam^2.

On a piece [t_k, t_k+1] x [0, 1] the pair (b, e) is affine in (y_i, y_j) and b^2 + lam |e| is convex in (b, e), so
the condition holds on the piece iff it holds at its four corners. q is C^1 and piecewise C^2, so grad q is
lam-Lipschitz on the (convex) box: integrate H along the segment between two points. f is L-smooth iff q is
(L / Delta)-smooth.

Extrema. q is affine in y_i, so its extrema over the box are those of B and of S = B + G over [0, 1]: per piece at
the ends or at the vertex of the quadratic, all rational. f has the visualization iff min q = q(x_min) = 0 and
max q = q(x_max) = 1.

Construction. The best member at x is a convex program in (B, G) (the corner conditions are second-order cones,
the value conditions linear): a float solve with margins (the value conditions by Bernstein coefficients, a
sufficient condition), then exact rationals: the conditions that touch (q(x_min) = 0, q(x_max) = 1, flat
derivatives there) are restored exactly by the least-norm rational correction, and every condition above is
checked exactly. A member that fails the exact check is dropped, so the search only decides how good the inner
range is, never whether it is sound.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from theory._numbers import fraction_str, to_fraction
from theory._setting import FloatArray
from theory._witness import Witness, _vars

if TYPE_CHECKING:
    import sympy

#: uniform pieces of the knots (the coordinates j of x_min, x_max and x are added)
PIECES = 24
#: slack of the float program, in units of q (values) and of lam (curvature); the exact check has none
MARGIN = 1e-5
#: a float derivative this small at a boundary extremum is taken as exactly 0
SNAP = 1e-7

Poly = tuple[Fraction, Fraction, Fraction]  # c0 + c1 t + c2 t^2


class TwistedSmoothWitness(Witness):
    """``B_k(y_j) + y_i G_k(y_j)`` on [t_k, t_k+1], polynomial coefficients in y_j (f_min and Delta included)."""

    def __init__(self, d: int, i: int, j: int, knots: list[Fraction], B: list[Poly], G: list[Poly]) -> None:
        self.d, self.i, self.j, self.knots, self.B, self.G = d, i, j, knots, B, G
        self._t = np.array([float(t) for t in knots])
        self._b = np.array([[float(c) for c in p] for p in B])
        self._g = np.array([[float(c) for c in p] for p in G])

    def _eval(self, y: FloatArray) -> FloatArray:
        t = y[:, self.j]
        k = np.clip(np.searchsorted(self._t, t, side="left") - 1, 0, len(self.B) - 1)
        pb, pg = self._b[k], self._g[k]
        return pb[:, 0] + t * (pb[:, 1] + t * pb[:, 2]) + y[:, self.i] * (pg[:, 0] + t * (pg[:, 1] + t * pg[:, 2]))

    def exact_value(self, y: list[Fraction]) -> Fraction:
        t = y[self.j]
        k = next(k for k in range(len(self.B)) if t <= self.knots[k + 1] or k == len(self.B) - 1)
        return _at(self.B[k], t) + y[self.i] * _at(self.G[k], t)

    def exact_value_str(self, x: FloatArray) -> str:
        return fraction_str(self.exact_value([to_fraction(float(v)) for v in x]))

    def sympy_expr(self) -> sympy.Expr:
        """``Piecewise(B pieces) + x_i * Piecewise(G pieces)``, conditions ``x_j <= t_k+1``."""
        import sympy

        xi, xj = sympy.Symbol(f"x{self.i}", real=True), sympy.Symbol(f"x{self.j}", real=True)

        def pw(polys: list[Poly]) -> sympy.Expr:
            args = []
            for k, p in enumerate(polys):
                val = sum((sympy.Rational(c.numerator, c.denominator) * xj**n for n, c in enumerate(p)), sympy.S.Zero)
                last = k == len(polys) - 1
                t = self.knots[k + 1]
                args.append((val, True if last else xj <= sympy.Rational(t.numerator, t.denominator)))
            return sympy.Piecewise(*args, evaluate=False)

        return sympy.Add(pw(self.B), sympy.Mul(xi, pw(self.G), evaluate=False), evaluate=False)

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "sympy", "expr": str(self.sympy_expr()), "vars": _vars(self.d)}


def _at(p: Poly, t: Fraction) -> Fraction:
    return p[0] + t * (p[1] + t * p[2])


# ---- the exact conditions ------------------------------------------------------------------------------------
def exact_check(
    knots: list[Fraction], B: list[Poly], G: list[Poly], lam: Fraction, lo: Fraction, hi: Fraction
) -> str | None:
    """Why (B, G) is not a lam-smooth twist with values in [lo, hi] on the box (None if it is): C^1 at the knots,
    the corner conditions, and the exact extremes of B and B + G per piece."""
    for k in range(1, len(B)):
        t = knots[k]
        for name, P in (("B", B), ("G", G)):
            a, b = P[k - 1], P[k]
            if _at(a, t) != _at(b, t) or a[1] + 2 * a[2] * t != b[1] + 2 * b[2] * t:
                return f"{name} is not C^1 at {t}"
    for k, (pb, pg) in enumerate(zip(B, G, strict=True)):
        for t in (knots[k], knots[k + 1]):
            slope = pg[1] + 2 * pg[2] * t
            for yi in (0, 1):
                if slope * slope + lam * abs(2 * pb[2] + yi * 2 * pg[2]) > lam * lam:
                    return f"the Hessian exceeds {lam} at y_j = {t}, y_i = {yi}"
        for p in (pb, tuple(u + v for u, v in zip(pb, pg, strict=True))):
            vals = [_at(p, knots[k]), _at(p, knots[k + 1])]  # type: ignore[arg-type]
            if p[2] != 0 and knots[k] < (s := -p[1] / (2 * p[2])) < knots[k + 1]:
                vals.append(_at(p, s))  # type: ignore[arg-type]
            if min(vals) < lo or max(vals) > hi:
                return f"a value leaves [{lo}, {hi}] on [{knots[k]}, {knots[k + 1]}]"
    return None


# ---- construction --------------------------------------------------------------------------------------------
def _knots(points: list[Fraction]) -> list[Fraction]:
    grid = [Fraction(k, PIECES) for k in range(PIECES + 1)]
    grid = [g for g in grid if all(abs(g - p) > Fraction(1, 1000 * PIECES) for p in points)]
    return sorted(set(grid) | set(points) | {Fraction(0), Fraction(1)})


def _node_maps(h: list[Fraction]) -> list[list[list[Fraction]]]:
    """For each node k: rows (over the parameters V0, V0', v_0..v_N-1 of one function) of V(t_k) and V'(t_k)."""
    n = len(h) + 2
    val, der = [Fraction(0)] * n, [Fraction(0)] * n
    val[0], der[1] = Fraction(1), Fraction(1)
    out = [[val[:], der[:]]]
    for k, hk in enumerate(h):
        val = [v + hk * dv for v, dv in zip(val, der, strict=True)]
        val[2 + k] += hk * hk / 2
        der = der[:]
        der[2 + k] += hk
        out.append([val[:], der[:]])
    return out


def twisted_member(
    xmin: FloatArray, xmax: FloatArray, x: FloatArray, L: float, fmin: float, fmax: float, sign: int, i: int, j: int
) -> tuple[float, TwistedSmoothWitness] | None:
    """The best twisted member found at x (largest f(x) if sign = 1, smallest if -1) in the coordinates (i, j):
    (its value at x, the witness), or None when the program fails or the exact check refuses its result."""
    import cvxpy as cp

    fq = [to_fraction(float(v)) for v in (fmin, fmax)]
    delta = fq[1] - fq[0]
    if delta <= 0:
        return None
    lam = to_fraction(L) / delta
    pmin, pmax, px = ([to_fraction(float(v[i])), to_fraction(float(v[j]))] for v in (xmin, xmax, x))
    knots = _knots([pmin[1], pmax[1], px[1]])
    h = [b - a for a, b in zip(knots, knots[1:], strict=False)]
    N = len(h)
    nodes = _node_maps(h)
    node = {t: k for k, t in enumerate(knots)}
    Mv = np.array([[float(c) for c in nd[0]] for nd in nodes])  # (N + 1, N + 2): V(t_k)
    Md = np.array([[float(c) for c in nd[1]] for nd in nodes])  # V'(t_k)
    pB, pG = cp.Variable(N + 2), cp.Variable(N + 2)
    lam_f = float(lam) * (1 - MARGIN)
    slope = Md @ pG
    cons = []
    for y in (0.0, 1.0):  # the corner conditions, all pieces at once
        e = pB[2:] + y * pG[2:]
        for sl in (slope[:-1], slope[1:]):
            cons += [cp.square(sl) + lam_f * e <= lam_f**2, cp.square(sl) - lam_f * e <= lam_f**2]
    # which of B (y_i = 0) and S = B + G (y_i = 1) touch 0 at x_min and 1 at x_max
    touch = {
        (fn, kind)
        for p, kind in ((pmin, "min"), (pmax, "max"))
        for fn in ("B", "S")
        if (p[0] == 0 and fn == "B") or (p[0] == 1 and fn == "S") or 0 < p[0] < 1
    }
    eqs: list[tuple[str, str, int]] = []  # (function, value or derivative, node) that must be exactly 0
    fns = {"B": pB, "S": pB + pG}  # the parameters of B and of S = B + G (both linear in pB, pG)
    for fn, kind in touch:
        p = pmin if kind == "min" else pmax
        k = node[p[1]]
        s = 1 if kind == "min" else -1
        par = fns[fn]
        cons += [s * par[2 + m] >= MARGIN * float(lam) for m in (k - 1, k) if 0 <= m < N]
        if 0 < p[1] < 1:
            cons.append(Md[k] @ par == 0)
            eqs.append((fn, "der", k))
        else:  # the derivative points into the box for a minimum, out of it for a maximum
            cons.append(s * (Md[k] @ par) * (1 if p[1] == 0 else -1) >= 0)
    if 0 < pmin[0] < 1:
        eqs.append(("G", "val", node[pmin[1]]))
    if 0 < pmax[0] < 1:
        eqs.append(("G", "val", node[pmax[1]]))
    hf = np.array([float(v) for v in h])
    for fn, par in fns.items():  # Bernstein coefficients of every piece in [margin, 1 - margin]
        val, der = Mv @ par, Md @ par
        low = np.array([0.0 if (fn, "min") in touch and pmin[1] in knots[k : k + 2] else MARGIN for k in range(N)])
        up = np.array([0.0 if (fn, "max") in touch and pmax[1] in knots[k : k + 2] else MARGIN for k in range(N)])
        for c in (val[:-1], val[:-1] + cp.multiply(hf / 2, der[:-1]), val[1:]):
            cons += [c >= low, c <= 1 - up]

    def q(pt: list[Fraction]) -> Any:
        k = node[pt[1]]
        return Mv[k] @ pB + float(pt[0]) * (Mv[k] @ pG)

    cons += [q(pmin) == 0, q(pmax) == 1]
    objective = q(px)
    prob = cp.Problem(cp.Maximize(sign * objective), cons)
    try:
        with warnings.catch_warnings():  # an inaccurate solve is dropped below, not reported
            warnings.simplefilter("ignore")
            prob.solve(solver="CLARABEL")
    except cp.error.SolverError:
        return None
    if prob.status != "optimal" or pB.value is None or pG.value is None:
        return None
    return _exact_member(
        [float(v) for v in pB.value],
        [float(v) for v in pG.value],
        knots,
        h,
        nodes,
        lam,
        fq,
        pmin,
        pmax,
        px,
        eqs,
        touch,
        (len(x), i, j),
    )


def _exact_member(
    b: list[float],
    g: list[float],
    knots: list[Fraction],
    h: list[Fraction],
    nodes: list[list[list[Fraction]]],
    lam: Fraction,
    fq: list[Fraction],
    pmin: list[Fraction],
    pmax: list[Fraction],
    px: list[Fraction],
    eqs: list[tuple[str, str, int]],
    touch: set[tuple[str, str]],
    where: tuple[int, int, int],
) -> tuple[float, TwistedSmoothWitness] | None:
    """Round the float solution to rationals, restore the touching conditions exactly, check everything."""
    n = len(h) + 2
    p = [Fraction(v) for v in b] + [Fraction(v) for v in g]

    def row(fn: str, order: int, k: int) -> list[Fraction]:
        r = nodes[k][order]
        zero = [Fraction(0)] * n
        return {"B": r + zero, "G": zero + r, "S": r + r}[fn]

    def scaled(r: list[Fraction], c: Fraction) -> list[Fraction]:
        return [c * v for v in r]

    rows: list[tuple[list[Fraction], Fraction]] = []
    for pt, target in ((pmin, Fraction(0)), (pmax, Fraction(1))):
        k = knots.index(pt[1])
        rows.append(([u + v for u, v in zip(row("B", 0, k), scaled(row("G", 0, k), pt[0]), strict=True)], target))
    for fn, what, k in eqs:
        rows.append((row(fn, 1 if what == "der" else 0, k), Fraction(0)))
    for fn, kind in sorted(touch):  # a boundary derivative within SNAP of 0 is set to 0
        pt = pmin if kind == "min" else pmax
        if pt[1] in (0, 1):
            r = row(fn, 1, knots.index(pt[1]))
            if abs(float(_dot(r, p))) < SNAP:
                rows.append((r, Fraction(0)))
    corr = _least_norm([r for r, _ in rows], [t - _dot(r, p) for r, t in rows])
    if corr is None:
        return None
    p = [a + c for a, c in zip(p, corr, strict=True)]
    polys: dict[str, list[Poly]] = {}
    for name, params in (("B", p[:n]), ("G", p[n:])):
        out = []
        for k in range(len(h)):
            v, dv = _dot(nodes[k][0], params), _dot(nodes[k][1], params)
            c2 = params[2 + k] / 2
            t0 = knots[k]  # v + dv (t - t0) + c2 (t - t0)^2 in powers of t
            out.append((v - dv * t0 + c2 * t0 * t0, dv - 2 * c2 * t0, c2))
        polys[name] = out
    if exact_check(knots, polys["B"], polys["G"], lam, Fraction(0), Fraction(1)) is not None:
        return None
    d, i, j = where
    base, delta = fq[0], fq[1] - fq[0]
    Bf = [(base + delta * c0, delta * c1, delta * c2) for c0, c1, c2 in polys["B"]]
    Gf = [(delta * c0, delta * c1, delta * c2) for c0, c1, c2 in polys["G"]]
    w = TwistedSmoothWitness(d, i, j, knots, Bf, Gf)

    def at(pt: list[Fraction]) -> Fraction:
        y = [Fraction(0)] * d
        y[i], y[j] = pt
        return w.exact_value(y)

    if at(pmin) != fq[0] or at(pmax) != fq[1]:  # the correction restores them exactly; checked all the same
        return None
    return float(at(px)), w


def _dot(a: list[Fraction], b: list[Fraction]) -> Fraction:
    return sum((u * v for u, v in zip(a, b, strict=True)), Fraction(0))


def _least_norm(A: list[list[Fraction]], r: list[Fraction]) -> list[Fraction] | None:
    """The least-norm c with A c = r, exactly (dependent rows dropped; None if the system is inconsistent)."""
    n = len(A[0]) if A else 0
    basis: list[tuple[list[Fraction], Fraction]] = []  # rows in echelon form, with their right-hand sides
    pivots: list[int] = []
    keep: list[int] = []
    for idx, (a, rhs) in enumerate(zip(A, r, strict=True)):
        a, rhs = a[:], rhs
        for (b, rb), piv in zip(basis, pivots, strict=True):
            if a[piv]:
                f = a[piv] / b[piv]
                a = [u - f * v for u, v in zip(a, b, strict=True)]
                rhs -= f * rb
        lead = next((k for k in range(n) if a[k]), None)
        if lead is None:
            if rhs != 0:
                return None
            continue
        basis.append((a, rhs))
        pivots.append(lead)
        keep.append(idx)
    if not keep:
        return [Fraction(0)] * n
    Ak = [A[k] for k in keep]
    rk = [r[k] for k in keep]
    m = len(Ak)
    G = [[_dot(Ak[a], Ak[b]) for b in range(m)] + [rk[a]] for a in range(m)]
    for c in range(m):  # Gauss-Jordan on the (positive definite) Gram matrix
        pr = next(rr for rr in range(c, m) if G[rr][c])
        G[c], G[pr] = G[pr], G[c]
        G[c] = [v / G[c][c] for v in G[c]]
        for rr in range(m):
            if rr != c and G[rr][c]:
                f = G[rr][c]
                G[rr] = [u - f * v for u, v in zip(G[rr], G[c], strict=True)]
    y = [G[a][m] for a in range(m)]
    return [_dot(y, [Ak[a][k] for a in range(m)]) for k in range(n)]
