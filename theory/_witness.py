"""Witnesses: explicit members of a function class, callable on points and exportable exactly.

Every witness is vectorised (``w(Y)`` for Y of shape (n, d) returns shape (n,); a single point gives a float)
and has ``to_spec()``: an exact JSON description that a reader can re-check without this package, either
``{"kind": "sympy", "expr": ..., "vars": ["x0", ...]}`` or
``{"kind": "relu_net", "layers": [{"W": [[...]], "b": [...]}, ...]}`` (ReLU between layers, none after the last).
Numbers are exact fractions of the floats the witness was built from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from theory._numbers import fraction_str, sym, to_fraction
from theory._setting import FloatArray

NormName = Literal["1", "2", "inf"]


def _batch(y: ArrayLike, d: int) -> tuple[FloatArray, bool]:
    arr = np.asarray(y, dtype=float)
    single = arr.ndim == 1
    arr = arr.reshape(1, -1) if single else arr
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ValueError(f"a witness on [0,1]^{d} takes points of shape ({d},) or (n, {d}), got {np.shape(y)}")
    return arr, single


def norm(z: FloatArray, p: NormName) -> FloatArray:
    """Row-wise p-norm of an (n, d) array, p in {"1", "2", "inf"}."""
    if p == "1":
        return np.abs(z).sum(axis=1)
    if p == "2":
        return np.sqrt((z * z).sum(axis=1))
    return np.abs(z).max(axis=1)


def _vars(d: int) -> list[str]:
    return [f"x{k}" for k in range(d)]


def _norm_expr(p_point: FloatArray, p: NormName) -> str:
    diffs = [f"(x{k} - {sym(c)})" for k, c in enumerate(p_point)]
    if p == "1":
        return " + ".join(f"Abs{t}" for t in diffs)
    if p == "2":
        return "sqrt(" + " + ".join(f"{t}**2" for t in diffs) + ")"
    return _fold("Max", [f"Abs{t}" for t in diffs])


def _fold(op: str, terms: list[str]) -> str:
    return terms[0] if len(terms) == 1 else f"{op}(" + ", ".join(terms) + ")"


class Witness(ABC):
    """A member of a function class on [0,1]^d."""

    d: int

    def __call__(self, y: ArrayLike) -> Any:
        arr, single = _batch(y, self.d)
        out = self._eval(arr)
        return float(out[0]) if single else out

    @abstractmethod
    def _eval(self, y: FloatArray) -> FloatArray: ...

    @abstractmethod
    def to_spec(self) -> dict[str, Any]: ...

    @property
    def description(self) -> str:
        spec = self.to_spec()
        return spec["expr"] if spec["kind"] == "sympy" else f"ReLU network with {len(spec['layers'])} layers"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self.d}: {self.description[:120]})"


class ConstantWitness(Witness):
    """f(y) = value."""

    def __init__(self, value: float, d: int) -> None:
        self.value, self.d = float(value), d

    def _eval(self, y: FloatArray) -> FloatArray:
        return np.full(y.shape[0], self.value)

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "sympy", "expr": fraction_str(self.value), "vars": _vars(self.d)}


class AffineWitness(Witness):
    """f(y) = w . y + b."""

    def __init__(self, w: ArrayLike, b: float) -> None:
        self.w = np.asarray(w, dtype=float).reshape(-1)
        self.b, self.d = float(b), self.w.shape[0]

    def _eval(self, y: FloatArray) -> FloatArray:
        return y @ self.w + self.b

    def to_spec(self) -> dict[str, Any]:
        terms = [f"{sym(wk)}*x{k}" for k, wk in enumerate(self.w) if wk != 0]
        return {"kind": "sympy", "expr": " + ".join([*terms, sym(self.b)]), "vars": _vars(self.d)}


class MaxAffineWitness(Witness):
    """f(y) = max_j (G_j . (y - P_j) + F_j): a convex piecewise-affine function (the minimal convex
    interpolant of values F_j and subgradients G_j at points P_j)."""

    def __init__(
        self,
        points: ArrayLike,
        values: ArrayLike,
        subgradients: ArrayLike,
        exact: tuple[list[Fraction], list[list[Fraction]]] | None = None,
    ) -> None:
        self.points = np.asarray(points, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.subgradients = np.asarray(subgradients, dtype=float)
        self.d = self.points.shape[1]
        #: exact values and subgradients (an affine image of a witness keeps them exact); None: read the floats
        self.exact = exact

    def _eval(self, y: FloatArray) -> FloatArray:
        vals = np.einsum("jk,njk->nj", self.subgradients, y[:, None, :] - self.points[None]) + self.values
        return vals.max(axis=1)

    def _exact_parts(self) -> tuple[list[Fraction], list[list[Fraction]]]:
        if self.exact is not None:
            return self.exact
        return [to_fraction(v) for v in self.values], [[to_fraction(g) for g in row] for row in self.subgradients]

    def affine_image(self, shift: float, scale: float, top: float | None = None) -> MaxAffineWitness:
        """shift + scale * f (scale > 0): values mapped, subgradients scaled, in exact arithmetic (shift read as the
        rational it stands for; with ``top``, the image of 1, the scale is exactly top - shift, so f_max is kept
        exactly at every scale of the data)."""
        a = to_fraction(shift)
        k = to_fraction(top) - a if top is not None else to_fraction(scale)
        values, grads = self._exact_parts()
        exact = ([a + k * v for v in values], [[k * g for g in row] for row in grads])
        return MaxAffineWitness(
            self.points,
            np.array([float(v) for v in exact[0]]),
            np.array([[float(g) for g in row] for row in exact[1]]).reshape(self.subgradients.shape),
            exact,
        )

    def exact_value_str(self, x: FloatArray) -> str:
        """f(x) in exact arithmetic (x read as the rationals its coordinates stand for)."""
        values, grads = self._exact_parts()
        xs = [to_fraction(float(v)) for v in np.asarray(x, dtype=float).reshape(-1)]
        pts = [[to_fraction(float(c)) for c in row] for row in self.points]
        best = max(
            v + sum((gk * (xk - pk) for gk, xk, pk in zip(g, xs, p, strict=True)), Fraction(0))
            for v, g, p in zip(values, grads, pts, strict=True)
        )
        return fraction_str(best)

    def to_spec(self) -> dict[str, Any]:
        values, grads = self._exact_parts()
        pieces = []
        for p, v, g in zip(self.points, values, grads, strict=True):
            terms = [f"{sym(gk)}*(x{k} - {sym(pk)})" for k, (gk, pk) in enumerate(zip(g, p, strict=True)) if gk]
            pieces.append(" + ".join([*terms, sym(v)]))
        return {"kind": "sympy", "expr": _fold("Max", sorted(set(pieces))), "vars": _vars(self.d)}


class ConeWitness(Witness):
    """McShane-Whitney extension with constant ``L`` in the p-norm, clipped:

    upper:  f(y) = min(cap, min_i (v_i + L ||y - p_i||_p))
    lower:  f(y) = max(cap, max_i (v_i - L ||y - p_i||_p))

    Both are L-Lipschitz and equal v_i at p_i whenever the data are L-Lipschitz-consistent."""

    def __init__(
        self,
        side: Literal["upper", "lower"],
        points: ArrayLike,
        values: ArrayLike,
        L: float,
        p: NormName,
        cap: float,
    ) -> None:
        self.side, self.L, self.p, self.cap = side, float(L), p, float(cap)
        self.points = np.asarray(points, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.d = self.points.shape[1]

    def _eval(self, y: FloatArray) -> FloatArray:
        dist = np.stack([norm(y - pt[None], self.p) for pt in self.points], axis=1)
        if self.side == "upper":
            return np.minimum(self.cap, (self.values[None] + self.L * dist).min(axis=1))
        return np.maximum(self.cap, (self.values[None] - self.L * dist).max(axis=1))

    def exact_value(self, x: FloatArray) -> str:
        """The value at a rational point in closed form (sympy string), e.g. ``sqrt(2)/4``. Only the terms
        within 1e-6 (relative) of the active one in floating point enter sympy's Min/Max, which then decides
        exactly; the result is cached per point."""
        return self.exact_value_and_float(x)[0]

    def exact_value_and_float(self, x: FloatArray) -> tuple[str, float]:
        """The closed form and its numerical value (evaluated by sympy from the expression, not from floats)."""
        cache: dict[bytes, tuple[str, float]] = self.__dict__.setdefault("_exact_cache", {})
        key = np.asarray(x, dtype=float).tobytes()
        if key not in cache:
            cache[key] = self._exact_value(np.asarray(x, dtype=float))
        return cache[key]

    def _exact_value(self, x: FloatArray) -> tuple[str, float]:
        import sympy

        from theory._numbers import to_fraction

        def q(v: float) -> sympy.Rational:
            f = to_fraction(v)
            return sympy.Rational(f.numerator, f.denominator)

        def dist(p: FloatArray) -> sympy.Expr:
            diffs = [abs(q(a) - q(b)) for a, b in zip(x, p, strict=True)]
            if self.p == "1":
                return sum(diffs, sympy.Integer(0))
            if self.p == "inf":
                return max(diffs, default=sympy.Integer(0))
            return sympy.sqrt(sum((t * t for t in diffs), sympy.Integer(0)))

        sign = 1.0 if self.side == "upper" else -1.0
        approx = np.append(self.values + sign * self.L * norm(x[None, :] - self.points, self.p), self.cap)
        best = approx.min() if self.side == "upper" else approx.max()
        near = np.flatnonzero(np.abs(approx - best) <= 1e-6 * max(1.0, abs(best)))
        terms: list[sympy.Expr] = []
        for i in near:
            if i == len(self.values):
                terms.append(q(self.cap))
            else:
                v, p = self.values[i], self.points[i]
                terms.append(q(v) + q(self.L) * dist(p) if self.side == "upper" else q(v) - q(self.L) * dist(p))
        val = terms[0] if len(terms) == 1 else sympy.Min(*terms) if self.side == "upper" else sympy.Max(*terms)
        return str(val), float(val)

    def to_spec(self) -> dict[str, Any]:
        sign, op = ("+", "Min") if self.side == "upper" else ("-", "Max")
        cones = [
            f"{sym(v)} {sign} {sym(self.L)}*({_norm_expr(pt, self.p)})"
            for pt, v in zip(self.points, self.values, strict=True)
        ]
        return {"kind": "sympy", "expr": _fold(op, [sym(self.cap), *cones]), "vars": _vars(self.d)}


class MonotoneRampWitness(Witness):
    """Continuous coordinatewise nondecreasing extension with steepness K:

    upper:  f(y) = min(cap, min_i (v_i + K ||(y - p_i)_+||_inf))
    lower:  f(y) = max(cap, max_i (v_i - K ||(p_i - y)_+||_inf))

    For K large enough it takes the values v_i at p_i and, at a point x, the extreme value
    min{v_i : p_i >= x} (upper) or max{v_i : p_i <= x} (lower)."""

    def __init__(
        self, side: Literal["upper", "lower"], points: ArrayLike, values: ArrayLike, K: float, cap: float
    ) -> None:
        self.side, self.K, self.cap = side, float(K), float(cap)
        self.points = np.asarray(points, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.d = self.points.shape[1]

    def _eval(self, y: FloatArray) -> FloatArray:
        if self.side == "upper":
            gap = np.maximum(y[:, None, :] - self.points[None], 0).max(axis=2)
            return np.minimum(self.cap, (self.values[None] + self.K * gap).min(axis=1))
        gap = np.maximum(self.points[None] - y[:, None, :], 0).max(axis=2)
        return np.maximum(self.cap, (self.values[None] - self.K * gap).max(axis=1))

    def to_spec(self) -> dict[str, Any]:
        terms = []
        for pt, v in zip(self.points, self.values, strict=True):
            if self.side == "upper":
                gaps = ", ".join(f"x{k} - {sym(c)}" for k, c in enumerate(pt))
                terms.append(f"{sym(v)} + {sym(self.K)}*Max(0, {gaps})")
            else:
                gaps = ", ".join(f"{sym(c)} - x{k}" for k, c in enumerate(pt))
                terms.append(f"{sym(v)} - {sym(self.K)}*Max(0, {gaps})")
        op = "Min" if self.side == "upper" else "Max"
        return {"kind": "sympy", "expr": _fold(op, [sym(self.cap), *terms]), "vars": _vars(self.d)}


class TentSumWitness(Witness):
    """A ReLU network: f(y) = base + sum_j h_j relu(1 - K ||y - c_j||_1).

    Each tent is 1 at its centre c_j and 0 outside the l1-ball of radius 1/K; with K >= 2 / (smallest l1
    distance between centres) the tents do not overlap, so f(c_j) = base + h_j and
    base + min(0, min h) <= f <= base + max(0, max h). Hidden layers: 2d units per tent (|y_k - c_jk| as
    relu(y_k - c_jk) + relu(c_jk - y_k)), then one unit per tent."""

    def __init__(self, base: float, centres: ArrayLike, heights: ArrayLike, K: float) -> None:
        self.base, self.K = float(base), float(K)
        self.centres = np.asarray(centres, dtype=float)
        self.heights = np.asarray(heights, dtype=float)
        self.d = self.centres.shape[1]

    def _eval(self, y: FloatArray) -> FloatArray:
        dist = np.abs(y[:, None, :] - self.centres[None]).sum(axis=2)
        return self.base + (np.maximum(1 - self.K * dist, 0) * self.heights[None]).sum(axis=1)

    def layers(self) -> list[tuple[list[list[str]], list[str]]]:
        """Exact layers (W as rows of fraction strings, b) of the ReLU network."""
        d, n = self.d, len(self.centres)
        w1: list[list[str]] = []
        b1: list[str] = []
        for c in self.centres:
            for k in range(d):
                for s in (1, -1):
                    row = ["0"] * d
                    row[k] = str(s)
                    w1.append(row)
                    b1.append(fraction_str(-s * c[k]) if s == 1 else fraction_str(c[k]))
        w2 = [["0"] * (2 * d * n) for _ in range(n)]
        for j in range(n):
            for u in range(2 * d):
                w2[j][2 * d * j + u] = fraction_str(-self.K)
        b2 = ["1"] * n
        w3 = [[fraction_str(h) for h in self.heights]]
        b3 = [fraction_str(self.base)]
        return [(w1, b1), (w2, b2), (w3, b3)]

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "relu_net", "layers": [{"W": w, "b": b} for w, b in self.layers()]}


def tent_steepness(centres: FloatArray) -> float:
    """Smallest power of two K with K >= 2 / (smallest l1 distance between distinct centres)."""
    if len(centres) < 2:
        return 1.0
    dists = [np.abs(a - b).sum() for i, a in enumerate(centres) for b in centres[i + 1 :]]
    need = 2.0 / min(dists)
    return float(2.0 ** np.ceil(np.log2(need)))


class PositivePartConeWitness(Witness):
    """Monotone McShane extension: nondecreasing and L-Lipschitz in the p-norm,

    upper:  f(y) = min(cap, min_i (v_i + L ||(y - p_i)_+||_p))
    lower:  f(y) = max(cap, max_i (v_i - L ||(p_i - y)_+||_p))."""

    def __init__(
        self, side: Literal["upper", "lower"], points: ArrayLike, values: ArrayLike, L: float, p: NormName, cap: float
    ) -> None:
        self.side, self.L, self.p, self.cap = side, float(L), p, float(cap)
        self.points = np.asarray(points, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.d = self.points.shape[1]

    def _eval(self, y: FloatArray) -> FloatArray:
        sign = 1.0 if self.side == "upper" else -1.0
        dist = np.stack([norm(np.maximum(sign * (y - pt[None]), 0), self.p) for pt in self.points], axis=1)
        if self.side == "upper":
            return np.minimum(self.cap, (self.values[None] + self.L * dist).min(axis=1))
        return np.maximum(self.cap, (self.values[None] - self.L * dist).max(axis=1))

    def to_spec(self) -> dict[str, Any]:
        terms = []
        for pt, v in zip(self.points, self.values, strict=True):
            if self.side == "upper":
                parts = [f"Max(0, x{k} - {sym(c)})" for k, c in enumerate(pt)]
            else:
                parts = [f"Max(0, {sym(c)} - x{k})" for k, c in enumerate(pt)]
            if self.p == "1":
                nrm = " + ".join(parts)
            elif self.p == "2":
                nrm = "sqrt(" + " + ".join(f"{t}**2" for t in parts) + ")"
            else:
                nrm = _fold("Max", parts)
            terms.append(f"{sym(v)} {'+' if self.side == 'upper' else '-'} {sym(self.L)}*({nrm})")
        op = "Min" if self.side == "upper" else "Max"
        return {"kind": "sympy", "expr": _fold(op, [sym(self.cap), *terms]), "vars": _vars(self.d)}
