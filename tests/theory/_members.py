"""Independent membership checks and random members for the theory tests (no engine code used)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

DUAL = {"1": np.inf, "2": 2, "inf": 1}
PNORM = {"1": 1, "2": 2, "inf": np.inf}


def grid(d: int, n: int) -> np.ndarray:
    axes = [np.linspace(0, 1, n)] * d
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)


def samples(d: int, rng: np.random.Generator, n: int = 400) -> np.ndarray:
    return np.vstack([rng.random((n, d)), grid(d, 9 if d <= 2 else 4)])


def lipschitz_ratio(f, d: int, norm: str, rng: np.random.Generator, n: int = 2000) -> float:
    a, b = rng.random((n, d)), rng.random((n, d))
    b[: n // 2] = a[: n // 2] + 1e-3 * rng.standard_normal((n // 2, d))
    b = np.clip(b, 0, 1)
    dist = np.linalg.norm(a - b, ord=PNORM[norm], axis=1)
    keep = dist > 1e-12
    return float(np.max(np.abs(f(a[keep]) - f(b[keep])) / dist[keep]))


def convexity_gap(f, d: int, rng: np.random.Generator, n: int = 2000) -> float:
    """max over random segments of f(t a + (1-t) b) - (t f(a) + (1-t) f(b)); <= 0 for convex f."""
    a, b, t = rng.random((n, d)), rng.random((n, d)), rng.random((n, 1))
    return float(np.max(f(t * a + (1 - t) * b) - (t[:, 0] * f(a) + (1 - t[:, 0]) * f(b))))


def monotonicity_gap(f, d: int, rng: np.random.Generator, n: int = 2000) -> float:
    """max over random ordered pairs a <= b of f(a) - f(b); <= 0 for nondecreasing f."""
    a = rng.random((n, d))
    b = a + rng.random((n, d)) * (1 - a)
    return float(np.max(f(a) - f(b)))


def relu_net_eval(spec: dict, Y: np.ndarray) -> np.ndarray:
    h = Y.T
    layers = spec["layers"]
    for i, layer in enumerate(layers):
        W = np.array([[float(eval(str(v))) for v in row] for row in layer["W"]])  # noqa: S307 fractions "p/q"
        b = np.array([float(eval(str(v))) for v in layer["b"]])  # noqa: S307
        h = W @ h + b[:, None]
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h[0]


class PiecewiseAffine:
    """f(y) = max_j (A_j . y + c_j) (sign=+1, convex) or min_j (...) (sign=-1, concave)."""

    def __init__(self, A: np.ndarray, c: np.ndarray, sign: int) -> None:
        self.A, self.c, self.sign = A, c, sign

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        Y = np.atleast_2d(Y)
        v = Y @ self.A.T + self.c
        return v.max(axis=1) if self.sign > 0 else v.min(axis=1)

    def lipschitz(self, norm: str) -> float:
        return float(max(np.linalg.norm(a, ord=DUAL[norm]) for a in self.A))

    def extremum(self, kind: str) -> tuple[np.ndarray, float]:
        """Exact (to LP precision) argmax/argmin over the box: vertices where the function is convex-up
        for the max (sign=+1) or for the min (sign=-1); an LP in epigraph form otherwise."""
        d = self.A.shape[1]
        if (kind == "max") == (self.sign > 0):
            verts = np.array(list(itertools.product([0.0, 1.0], repeat=d)))
            vals = self(verts)
            i = int(np.argmax(vals) if kind == "max" else np.argmin(vals))
            return verts[i], float(vals[i])
        # max of a concave min-of-affine (or min of a convex max-of-affine): LP over (y, t)
        s = 1.0 if kind == "max" else -1.0
        cost = np.zeros(d + 1)
        cost[-1] = -s  # maximise s*t
        A_ub = np.hstack([-s * self.A, s * np.ones((len(self.A), 1))])  # s*t <= s*(A y + c)
        b_ub = s * self.c
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=[(0, 1)] * d + [(None, None)], method="highs")
        y = np.clip(res.x[:d], 0, 1)
        return y, float(self(y[None])[0])


def random_pa(d: int, rng: np.random.Generator, sign: int, nonneg: bool = False, k: int = 3) -> PiecewiseAffine:
    A = rng.standard_normal((k, d))
    if nonneg:
        A = np.abs(A)
    return PiecewiseAffine(A, rng.standard_normal(k), sign)
