"""Witnesses for the smooth classes: quadratics y'Ay + b'y + c and C^1 piecewise quadratics of one projection.

Coefficients are kept as exact Fractions when known (sympy numbers for piecewise pieces, which may involve square
roots); evaluation is vectorised over a batch of points."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from theory._numbers import exact_simplified, fraction_str, to_fraction
from theory._setting import FloatArray
from theory._witness import Witness, _vars

if TYPE_CHECKING:
    import sympy


class QuadraticWitness(Witness):
    """f(y) = y'Ay + b'y + c with A symmetric (exact rationals)."""

    def __init__(self, A: list[list[Fraction]], b: list[Fraction], c: Fraction) -> None:
        self.Aq, self.bq, self.cq = A, b, c
        self.A = np.array([[float(v) for v in row] for row in A], dtype=float).reshape(len(b), len(b))
        self.b = np.array([float(v) for v in b])
        self.c = float(c)
        self.d = len(b)

    def _eval(self, y: FloatArray) -> FloatArray:
        return np.einsum("ni,ij,nj->n", y, self.A, y) + y @ self.b + self.c

    def affine_image(self, shift: float, scale: float, top: float | None = None) -> QuadraticWitness:
        """shift + scale * f in exact arithmetic, shift read as the rational it stands for; with ``top`` (= shift +
        scale, the image of 1: f_max) the scale is taken exactly as top - shift, so f_max is kept exactly."""
        a = to_fraction(shift)
        k = to_fraction(top) - a if top is not None else to_fraction(scale)
        return QuadraticWitness([[k * v for v in row] for row in self.Aq], [k * v for v in self.bq], a + k * self.cq)

    def exact_at(self, x: FloatArray) -> Fraction:
        from theory._boxquad import value_exact

        return value_exact(self.Aq, self.bq, self.cq, [to_fraction(float(v)) for v in x])

    def exact_value_str(self, x: FloatArray) -> str:
        return fraction_str(self.exact_at(x))

    def to_spec(self) -> dict[str, Any]:
        d = self.d
        terms = []
        for i in range(d):
            for j in range(i, d):
                coef = self.Aq[i][i] if i == j else 2 * self.Aq[i][j]
                if coef:
                    terms.append(f"({coef})*x{i}**2" if i == j else f"({coef})*x{i}*x{j}")
        terms += [f"({bk})*x{k}" for k, bk in enumerate(self.bq) if bk]
        terms.append(f"({self.cq})")
        return {"kind": "sympy", "expr": " + ".join(terms), "vars": _vars(d)}


class PiecewiseQuadraticWitness(Witness):
    """f(y) = phi(y_k) with phi a C^1 piecewise quadratic on [0,1]: on [s_i, s_{i+1}]
    phi(t) = v_i + g_i (t - s_i) + k_i/2 (t - s_i)^2 (exact sympy numbers), continuous with its derivative."""

    def __init__(self, d: int, coord: int, pieces: list[tuple[sympy.Expr, sympy.Expr, sympy.Expr, sympy.Expr]]) -> None:
        """``pieces``: (start s_i, value v_i, slope g_i, curvature k_i), sorted by start; the first starts at 0."""
        self.d, self.coord, self.pieces = d, coord, pieces
        self._num = np.array([[float(p) for p in piece] for piece in pieces])

    def _eval(self, y: FloatArray) -> FloatArray:
        t = y[:, self.coord]
        idx = np.clip(np.searchsorted(self._num[:, 0], t, side="right") - 1, 0, len(self.pieces) - 1)
        s, v, g, k = self._num[idx].T
        return v + g * (t - s) + k / 2 * (t - s) ** 2

    def sympy_expr(self) -> sympy.Expr:
        import sympy

        t = sympy.Symbol(f"x{self.coord}", real=True)
        args = []
        for i, (s, v, g, k) in enumerate(self.pieces):
            expr = sympy.expand(v + g * (t - s) + k / 2 * (t - s) ** 2)
            if i + 1 < len(self.pieces):
                args.append((expr, t <= self.pieces[i + 1][0]))
            else:
                args.append((expr, True))
        return args[0][0] if len(args) == 1 else sympy.Piecewise(*args)

    def exact_value_str(self, x: FloatArray) -> str:
        import sympy

        t = sympy.Rational(to_fraction(float(x[self.coord])))
        return str(exact_simplified(self.sympy_expr().subs(sympy.Symbol(f"x{self.coord}", real=True), t)))

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "sympy", "expr": str(self.sympy_expr()), "vars": _vars(self.d)}
