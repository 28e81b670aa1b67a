"""ReLU networks as continuous piecewise-affine functions given by their pieces.

``pieces_of(spec)`` turns an exact ``relu_net`` spec into
``{"kind": "pwa_pieces", "d": d, "pieces": [{"A", "c", "w", "b"}, ...]}``: piece k is the polytope
{y in [0,1]^d : A y <= c} on which f(y) = w . y + b. There is one piece per full-dimensional activation region
(the closure of the set of inputs where a given set of hidden neurons is active). All numbers are exact fraction
strings; floating-point LPs only decide which sign patterns have a full-dimensional region (an inscribed ball of
radius > ``tol``) and which constraints are strictly redundant, never a number that is written out. In d = 1,
``pieces_of(spec, form="1d")`` gives ``{"kind": "pwa_1d", "breakpoints": [...], "values": [...]}`` (f continuous
and linear between consecutive breakpoints, which run from 0 to 1).

``evaluate_pieces`` evaluates either form without torch (exactly for exact inputs), ``pieces_to_sympy`` gives a
sympy ``Piecewise`` in x0..x{d-1}. The checks that the pieces cover the box, fit together and equal the network
live in ``counterexamples.verify.verify_pieces``; this module does not import the verifiers.
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from scipy.optimize import linprog

Vec = tuple[Fraction, ...]
Row = tuple[Vec, Fraction]  # a . y <= c


class TooManyPieces(RuntimeError):
    """The activation-region enumeration needed more LPs than allowed."""


def _exact(v: Any) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, (int, str, Fraction)):
        raise ValueError(f"{v!r} is not an exact number (expected an int or a string such as '1/3')")
    return Fraction(v)


def _parse_net(spec: dict[str, Any]) -> tuple[list[list[Vec]], list[Vec]]:
    if spec.get("kind") != "relu_net" or not spec.get("layers"):
        raise ValueError("pieces_of needs a relu_net spec with a non-empty list of layers")
    Ws = [[tuple(_exact(v) for v in row) for row in layer["W"]] for layer in spec["layers"]]
    bs = [tuple(_exact(v) for v in layer["b"]) for layer in spec["layers"]]
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        if len(W) != len(b) or len({len(r) for r in W}) != 1:
            raise ValueError(f"layer {i}: W must be rectangular with as many rows as b has entries")
        if i and len(W[0]) != len(Ws[i - 1]):
            raise ValueError(f"layer {i} takes {len(W[0])} inputs but layer {i - 1} has {len(Ws[i - 1])} outputs")
    if len(Ws[-1]) != 1:
        raise ValueError("the network must have one output")
    return Ws, bs


def _affine(W: list[Vec], b: Vec, A: list[Vec], c: list[Fraction], d: int) -> tuple[list[Vec], list[Fraction]]:
    """z = W (A y + c) + b as (rows of coefficients, constants), exactly."""
    ZA = [tuple(sum((w * A[m][k] for m, w in enumerate(row) if w), Fraction(0)) for k in range(d)) for row in W]
    Zc = [sum((w * c[m] for m, w in enumerate(row) if w), Fraction(0)) + bb for row, bb in zip(W, b, strict=True)]
    return ZA, Zc


def _normalise(a: Vec, c: Fraction) -> Row:
    """a . y <= c scaled so that the largest |a_k| is 1 (so duplicates compare equal)."""
    s = max(abs(v) for v in a)
    return tuple(v / s for v in a), c / s


def _box_max(a: Vec) -> Fraction:
    return sum((v for v in a if v > 0), Fraction(0))


class _LP:
    """Float LPs over [0,1]^d that only guide the enumeration."""

    def __init__(self, d: int, max_lps: int) -> None:
        self.d, self.budget, self.max_lps = d, max_lps, max_lps

    def _spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise TooManyPieces(f"more than {self.max_lps} LPs")

    def chebyshev(self, rows: list[Row]) -> tuple[float, np.ndarray | None]:
        """Largest r with an infinity-norm ball of radius r inside {A y <= c} ∩ box, and its centre."""
        self._spend()
        d = self.d
        R = [[float(v) for v in a] + [float(sum(abs(v) for v in a))] for a, _ in rows]
        q = [float(c) for _, c in rows]
        R += [[float(i == k) for k in range(d)] + [1.0] for i in range(d)]
        q += [1.0] * d
        R += [[-float(i == k) for k in range(d)] + [1.0] for i in range(d)]
        q += [0.0] * d
        obj = np.zeros(d + 1)
        obj[-1] = -1
        res = linprog(obj, A_ub=np.array(R), b_ub=np.array(q), bounds=[(None, None)] * d + [(None, 1)], method="highs")
        if res.status != 0:
            return -1.0, None
        return float(-res.fun), res.x[:d]

    def maximum(self, a: Vec, rows: list[Row]) -> float | None:
        self._spend()
        d = self.d
        res = linprog(
            -np.array([float(v) for v in a]),
            A_ub=np.array([[float(v) for v in r] for r, _ in rows]) if rows else None,
            b_ub=np.array([float(c) for _, c in rows]) if rows else None,
            bounds=[(0, 1)] * d,
            method="highs",
        )
        return float(-res.fun) if res.status == 0 else None


def _prune(rows: list[Row], lp: _LP | None) -> list[Row]:
    """Drop duplicate constraints and those the box implies (exactly); with ``lp``, also those the others imply
    with a margin (strictly redundant: removing them leaves the same polytope)."""
    out: list[Row] = []
    seen: dict[Vec, Fraction] = {}
    for a, c in rows:
        if not any(a):
            continue
        a, c = _normalise(a, c)
        if _box_max(a) <= c:
            continue
        if a in seen:  # parallel, same direction: keep the tighter one
            if c < seen[a]:
                seen[a] = c
            continue
        seen[a] = c
    out = list(seen.items())
    if lp is None:
        return out
    i = 0
    while i < len(out):
        a, c = out[i]
        others = out[:i] + out[i + 1 :]
        m = lp.maximum(a, others)
        if m is not None and m < float(c) - 1e-6 * (1 + abs(float(c))):
            out = others
        else:
            i += 1
    return out


def _regions(spec: dict[str, Any], max_lps: int, tol: float, prune: bool) -> tuple[int, list[dict[str, Any]]]:
    Ws, bs = _parse_net(spec)
    d = len(Ws[0][0])
    hidden = len(Ws) - 1
    lp = _LP(d, max_lps)
    eye: list[Vec] = [tuple(Fraction(int(i == k)) for k in range(d)) for i in range(d)]
    zero = [Fraction(0)] * d
    pieces: list[dict[str, Any]] = []

    def leaf(A: list[Vec], c: list[Fraction], rows: list[Row]) -> None:
        GA, Gc = _affine(Ws[-1], bs[-1], A, c, d)
        kept = _prune(rows, lp if prune else None)
        pieces.append({"A": [list(a) for a, _ in kept], "c": [v for _, v in kept], "w": list(GA[0]), "b": Gc[0]})

    def dfs(li: int, j: int, A, c, ZA, Zc, act: list[bool], rows: list[Row], centre, radius) -> None:
        if j == len(ZA):  # layer done
            A2 = [ZA[m] if act[m] else tuple(zero) for m in range(len(ZA))]
            c2 = [Zc[m] if act[m] else Fraction(0) for m in range(len(ZA))]
            if li + 1 == hidden:
                leaf(A2, c2, rows)
                return
            nZA, nZc = _affine(Ws[li + 1], bs[li + 1], A2, c2, d)
            dfs(li + 1, 0, A2, c2, nZA, nZc, [], rows, centre, radius)
            return
        a, cst = ZA[j], Zc[j]
        if not any(a):  # constant pre-activation: its sign is fixed
            dfs(li, j + 1, A, c, ZA, Zc, [*act, cst > 0], rows, centre, radius)
            return
        # z = a.y + cst; active: -a.y <= cst, inactive: a.y <= -cst
        z_c = float(sum(float(v) * t for v, t in zip(a, centre, strict=True)) + float(cst))
        margin = radius * float(sum(abs(v) for v in a))
        for active in (True, False):
            row = (tuple(-v for v in a), cst) if active else (a, -cst)
            new = [*rows, row]
            if (z_c > margin * (1 + 1e-9) and active) or (z_c < -margin * (1 + 1e-9) and not active):
                r2, c2_ = radius, centre  # the current inscribed ball lies on this side
            else:
                r2, c2_ = lp.chebyshev(new)
                if r2 <= tol or c2_ is None:
                    continue
            dfs(li, j + 1, A, c, ZA, Zc, [*act, active], new, c2_, r2)

    if hidden == 0:
        leaf(eye, zero, [])
    else:
        r0, c0 = lp.chebyshev([])
        ZA0, Zc0 = _affine(Ws[0], bs[0], eye, zero, d)
        dfs(0, 0, eye, zero, ZA0, Zc0, [], [], c0, r0)
    return d, pieces


def _fs(v: Fraction) -> str:
    return str(v)


def pieces_of(
    spec: dict[str, Any], form: str = "pieces", max_lps: int = 200_000, tol: float = 1e-9, prune: bool = True
) -> dict[str, Any]:
    """The ReLU network ``spec`` as its pieces (``form="pieces"``) or, in d = 1, as breakpoints and values
    (``form="1d"``); exact fraction strings throughout. ``prune`` drops strictly redundant constraints (float LP
    with a margin; duplicates and box-implied constraints are dropped exactly in any case). Raises
    ``TooManyPieces`` beyond ``max_lps`` LPs."""
    d, pieces = _regions(spec, max_lps, tol, prune)
    if form == "pieces":
        return {
            "kind": "pwa_pieces",
            "d": d,
            "pieces": [
                {
                    "A": [[_fs(v) for v in row] for row in p["A"]],
                    "c": [_fs(v) for v in p["c"]],
                    "w": [_fs(v) for v in p["w"]],
                    "b": _fs(p["b"]),
                }
                for p in pieces
            ],
        }
    if form != "1d":
        raise ValueError(f"form {form!r} is not one of 'pieces', '1d'")
    if d != 1:
        raise ValueError(f"the breakpoint form is for d = 1, the network has d = {d}")
    return _to_1d(pieces)


def _interval(p: dict[str, Any]) -> tuple[Fraction, Fraction]:
    lo, hi = Fraction(0), Fraction(1)
    for (a,), c in zip(p["A"], p["c"], strict=True):
        if a > 0:
            hi = min(hi, c / a)
        elif a < 0:
            lo = max(lo, c / a)
    return lo, hi


def _to_1d(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    segs = sorted((*_interval(p), p["w"][0], p["b"]) for p in pieces)
    segs = [s for s in segs if s[0] < s[1]]
    if (
        not segs
        or segs[0][0] != 0
        or segs[-1][1] != 1
        or any(s[1] != t[0] for s, t in zip(segs, segs[1:], strict=False))
    ):
        raise ValueError("the pieces do not tile [0, 1] (a region thinner than tol?)")
    bps = [segs[0][0]]
    vals = [segs[0][2] * segs[0][0] + segs[0][3]]
    slopes: list[Fraction] = []
    for _lo, hi, w, b in segs:
        if slopes and slopes[-1] == w:  # no kink at lo: merge
            bps.pop()
            vals.pop()
            slopes.pop()
        bps.append(hi)
        vals.append(w * hi + b)
        slopes.append(w)
    return {"kind": "pwa_1d", "breakpoints": [_fs(v) for v in bps], "values": [_fs(v) for v in vals]}


def _point(y: Any) -> tuple[list[Any], bool]:
    pts = list(y)
    exact = all(isinstance(v, (int, str, Fraction)) and not isinstance(v, bool) for v in pts)
    return ([Fraction(v) for v in pts] if exact else [float(v) for v in pts]), exact


def evaluate_pieces(spec: dict[str, Any], y: Any, tol: float = 1e-9) -> Any:
    """f(y) for a ``pwa_pieces`` or ``pwa_1d`` spec: a Fraction when y is exact (ints, fraction strings,
    Fractions), else a float (containment up to ``tol``). A 2-D numpy array of points gives a numpy vector."""
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return _evaluate_many(spec, y.astype(float))
    pt, exact = _point(y)
    F = Fraction if exact else float
    if exact and not all(0 <= v <= 1 for v in pt):
        raise ValueError(f"{y} is outside [0,1]^d")
    if spec["kind"] == "pwa_1d":
        bps = [F(Fraction(v)) for v in spec["breakpoints"]]
        vals = [F(Fraction(v)) for v in spec["values"]]
        if len(pt) != 1:
            raise ValueError("a pwa_1d function takes one coordinate")
        t = pt[0]
        k = min(max(bisect.bisect_right(bps, t) - 1, 0), len(bps) - 2)
        return vals[k] + (vals[k + 1] - vals[k]) * (t - bps[k]) / (bps[k + 1] - bps[k])
    if spec["kind"] != "pwa_pieces":
        raise ValueError(f"unknown kind {spec['kind']!r}; expected 'pwa_pieces' or 'pwa_1d'")
    best, best_viol = None, None
    for p in spec["pieces"]:
        viol = max(
            (
                sum((F(Fraction(a)) * v for a, v in zip(row, pt, strict=True)), F(0)) - F(Fraction(c))
                for row, c in zip(p["A"], p["c"], strict=True)
            ),
            default=F(0),
        )
        if best_viol is None or viol < best_viol:
            best, best_viol = p, viol
        if viol <= 0:
            break
    if best is None or best_viol > (0 if exact else tol):
        raise ValueError(f"no piece contains {y}")
    return sum((F(Fraction(a)) * v for a, v in zip(best["w"], pt, strict=True)), F(0)) + F(Fraction(best["b"]))


def _evaluate_many(spec: dict[str, Any], Y: np.ndarray) -> np.ndarray:
    if spec["kind"] == "pwa_1d":
        return np.interp(
            Y[:, 0], [float(Fraction(v)) for v in spec["breakpoints"]], [float(Fraction(v)) for v in spec["values"]]
        )
    viols, vals = [], []
    for p in spec["pieces"]:
        A = np.array([[float(Fraction(v)) for v in r] for r in p["A"]]).reshape(-1, Y.shape[1])
        c = np.array([float(Fraction(v)) for v in p["c"]])
        viols.append((Y @ A.T - c).max(axis=1) if len(c) else np.zeros(len(Y)))
        vals.append(Y @ np.array([float(Fraction(v)) for v in p["w"]]) + float(Fraction(p["b"])))
    k = np.argmin(np.array(viols), axis=0)
    return np.array(vals)[k, np.arange(len(Y))]


def pieces_to_sympy(spec: dict[str, Any]) -> sympy.Piecewise:
    """The function as a sympy ``Piecewise`` in real symbols x0..x{d-1}, exact rationals; nan outside the
    pieces (and outside [0,1]^d)."""

    def q(v: Any) -> sympy.Rational:
        f = Fraction(v)
        return sympy.Rational(f.numerator, f.denominator)

    if spec["kind"] == "pwa_1d":
        x = sympy.Symbol("x0", real=True)
        t, v = [q(s) for s in spec["breakpoints"]], [q(s) for s in spec["values"]]
        branches = [
            (v[k] + (v[k + 1] - v[k]) / (t[k + 1] - t[k]) * (x - t[k]), sympy.And(x >= t[k], x <= t[k + 1]))
            for k in range(len(t) - 1)
        ]
        return sympy.Piecewise(*branches, (sympy.nan, True), evaluate=False)
    d = int(spec["d"])
    xs = [sympy.Symbol(f"x{k}", real=True) for k in range(d)]
    box = [c for x in xs for c in (x >= 0, x <= 1)]
    branches = []
    for p in spec["pieces"]:
        cond = sympy.And(
            *box,
            *(
                sum((q(a) * x for a, x in zip(row, xs, strict=True)), sympy.Integer(0)) <= q(c)
                for row, c in zip(p["A"], p["c"], strict=True)
            ),
        )
        branches.append((sum((q(a) * x for a, x in zip(p["w"], xs, strict=True)), sympy.Integer(0)) + q(p["b"]), cond))
    return sympy.Piecewise(*branches, (sympy.nan, True), evaluate=False)
