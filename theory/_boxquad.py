"""Exact global extrema of a quadratic f(y) = y'Ay + b'y + c over the box [0,1]^d, by enumerating faces.

Every extremum lies in the relative interior of some face (a vertex is a 0-dimensional face). On the face that
fixes the coordinates G at 0/1 and frees F, a relative-interior extremum is a stationary point of the free part:
2 A_FF y_F = -(b_F + 2 A_FG y_G). If A_FF is singular and the system is solvable, f is constant along the kernel
within the face, so the value is also taken on a lower-dimensional face; hence only nonsingular systems need
solving. 3^d faces: fine for d <= MAX_D.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from theory._setting import FloatArray

#: Largest dimension for the exact face enumeration (3^d faces).
MAX_D = 6


def check_d(d: int) -> None:
    if d > MAX_D:
        raise ValueError(
            f"d = {d} is too large for the exact quadratic extrema (3^d faces are enumerated); d must be <= {MAX_D}"
        )


def _faces(d: int) -> list[tuple[int, ...]]:
    """Each face as a tuple per coordinate: 0, 1 (fixed) or 2 (free)."""
    return list(itertools.product((0, 1, 2), repeat=d))


def candidates(A: FloatArray, b: FloatArray) -> FloatArray:
    """All face-stationary points (floats) inside the box, including the 2^d vertices: shape (n, d)."""
    d = len(b)
    check_d(d)
    out = []
    for face in _faces(d):
        F = [k for k in range(d) if face[k] == 2]
        y = np.array([float(v) if v < 2 else 0.0 for v in face])
        if F:
            G = [k for k in range(d) if face[k] != 2]
            M = 2 * A[np.ix_(F, F)]
            rhs = -(b[F] + 2 * A[np.ix_(F, G)] @ y[G])
            if abs(np.linalg.det(M)) < 1e-12 * max(1.0, np.abs(M).max() ** len(F)):
                continue
            yF = np.linalg.solve(M, rhs)
            if np.any(yF < -1e-12) or np.any(yF > 1 + 1e-12):
                continue
            y[F] = np.clip(yF, 0, 1)
        out.append(y)
    return np.array(out)


def extrema(A: FloatArray, b: FloatArray, c: float) -> tuple[FloatArray, float, FloatArray, float]:
    """(argmax, max, argmin, min) of y'Ay + b'y + c over [0,1]^d (floats)."""
    P = candidates(A, b)
    vals = np.einsum("ni,ij,nj->n", P, A, P) + P @ b + c
    i, j = int(np.argmax(vals)), int(np.argmin(vals))
    return P[i], float(vals[i]), P[j], float(vals[j])


def _solve_exact(M: list[list[Fraction]], r: list[Fraction]) -> list[Fraction] | None:
    """The unique solution of M y = r in exact arithmetic, or None if M is singular."""
    n = len(r)
    aug = [row[:] + [r[i]] for i, row in enumerate(M)]
    for col in range(n):
        piv = next((i for i in range(col, n) if aug[i][col] != 0), None)
        if piv is None:
            return None
        aug[col], aug[piv] = aug[piv], aug[col]
        for i in range(n):
            if i != col and aug[i][col] != 0:
                fac = aug[i][col] / aug[col][col]
                aug[i] = [a - fac * p for a, p in zip(aug[i], aug[col], strict=True)]
    return [aug[i][n] / aug[i][i] for i in range(n)]


def value_exact(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction], c: Fraction, y: Sequence[Fraction]) -> Fraction:
    d = len(b)
    return (
        sum((A[i][j] * y[i] * y[j] for i in range(d) for j in range(d)), Fraction(0))
        + sum((b[i] * y[i] for i in range(d)), Fraction(0))
        + c
    )


def extrema_exact(
    A: Sequence[Sequence[Fraction]], b: Sequence[Fraction], c: Fraction
) -> tuple[list[Fraction], Fraction, list[Fraction], Fraction]:
    """(argmax, max, argmin, min) over [0,1]^d in exact rational arithmetic."""
    d = len(b)
    check_d(d)
    best: list[tuple[Fraction, list[Fraction]]] = []
    for face in _faces(d):
        F = [k for k in range(d) if face[k] == 2]
        y = [Fraction(v) if v < 2 else Fraction(0) for v in face]
        if F:
            G = [k for k in range(d) if face[k] != 2]
            M = [[2 * A[i][j] for j in F] for i in F]
            rhs = [-(b[i] + 2 * sum((A[i][g] * y[g] for g in G), Fraction(0))) for i in F]
            sol = _solve_exact(M, rhs)
            if sol is None or any(v < 0 or v > 1 for v in sol):
                continue
            for k, v in zip(F, sol, strict=True):
                y[k] = v
        best.append((value_exact(A, b, c, y), y))
    hi = max(best, key=lambda p: p[0])
    lo = min(best, key=lambda p: p[0])
    return hi[1], hi[0], lo[1], lo[0]
