"""Activation regions of a small ReLU network on [0,1]^d, and the class facts that follow from their gradients.

A ReLU network is continuous and affine on each activation region (the set of inputs where a given set of hidden
neurons is active). Depth-first search fixes one neuron at a time; a partial pattern is kept only if an LP finds a
ball of radius > ``tol`` (in the infinity norm) inside the box where every fixed neuron has its sign (Chebyshev
centre: maximise t subject to z_j(y) >= t ||grad z_j||_1 for active and <= -t ||grad z_j||_1 for inactive neurons).
So every full-dimensional region with inradius > tol is found; regions thinner than that are lower-dimensional for
practical purposes and carry no gradient of their own. Gradients are then computed in exact rational arithmetic.

From the gradients g of all full-dimensional regions (f continuous and piecewise affine):
- Lipschitz constant in the p-norm on the input = max ||g||_q, q the dual exponent (exact on a convex domain);
- coordinatewise nondecreasing iff every g >= 0;
- affine iff all g are equal; constant iff all g = 0.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.optimize import linprog

from counterexamples.verify._relu import ReluNet

Vec = tuple[Fraction, ...]


class TooManyRegions(RuntimeError):
    pass


def region_gradients(net: ReluNet, max_lps: int = 20000, tol: float = 1e-9) -> set[Vec]:
    """The exact gradients of f on all its full-dimensional activation regions in [0,1]^d."""
    d = net.d
    layers = list(zip(net.weights, net.biases, strict=True))
    hidden = len(layers) - 1
    budget = [max_lps]
    out: set[Vec] = set()
    eye = [[Fraction(int(i == k)) for k in range(d)] for i in range(d)]

    def affine(W, b, A, c):  # z = W (A y + c) + b, exactly
        ZA = [tuple(sum((w * A[m][k] for m, w in enumerate(row) if w), Fraction(0)) for k in range(d)) for row in W]
        Zc = [sum((w * c[m] for m, w in enumerate(row) if w), Fraction(0)) + bb for row, bb in zip(W, b, strict=True)]
        return ZA, Zc

    def feasible(rows: list[tuple[tuple[Fraction, ...], Fraction, int]]) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            raise TooManyRegions(f"more than {max_lps} LPs")
        if not rows:
            return True
        # variables y (d), t; maximise t: sign * (a.y + c) >= t * ||a||_1  <=>  -sign a.y + t||a||_1 <= sign c
        R = [[-s * float(v) for v in a] + [float(sum(abs(v) for v in a))] for a, _, s in rows]
        q = [s * float(c) for _, c, s in rows]
        R += [[float(i == k) for k in range(d)] + [1.0] for i in range(d)]  # y_i + t <= 1
        q += [1.0] * d
        R += [[-float(i == k) for k in range(d)] + [1.0] for i in range(d)]  # -y_i + t <= 0
        q += [0.0] * d
        c = np.zeros(d + 1)
        c[-1] = -1
        res = linprog(c, A_ub=np.array(R), b_ub=np.array(q), bounds=[(None, None)] * d + [(None, 1)], method="highs")
        return res.status == 0 and -res.fun > tol

    def dfs(li: int, j: int, A, c, ZA, Zc, act: list[bool], rows) -> None:
        if li == hidden:  # output layer: gradient of the region
            W, b = layers[li]
            GA, _ = affine(W, b, A, c)
            out.add(GA[0])
            return
        if j == len(ZA):  # layer done: next layer's pre-activations
            A2 = [list(ZA[m]) if act[m] else [Fraction(0)] * d for m in range(len(ZA))]
            c2 = [Zc[m] if act[m] else Fraction(0) for m in range(len(ZA))]
            if li + 1 == hidden:
                dfs(li + 1, 0, A2, c2, [], [], [], rows)
            else:
                W, b = layers[li + 1]
                nZA, nZc = affine(W, b, A2, c2)
                dfs(li + 1, 0, A2, c2, nZA, nZc, [], rows)
            return
        a, cst = ZA[j], Zc[j]
        if not any(a):  # constant pre-activation: its sign is fixed
            dfs(li, j + 1, A, c, ZA, Zc, [*act, cst > 0], rows)
            return
        for sign in (1, -1):
            new = [*rows, (a, cst, sign)]
            if feasible(new):
                dfs(li, j + 1, A, c, ZA, Zc, [*act, sign > 0], new)

    W0, b0 = layers[0]
    ZA0, Zc0 = affine(W0, b0, eye, [Fraction(0)] * d)
    if hidden == 0:
        return {ZA0[0]}
    dfs(0, 0, eye, [Fraction(0)] * d, ZA0, Zc0, [], [])
    return out


def dual_norm(g: Vec, p: str) -> Fraction | None:
    """||g||_q for q dual to p; for p = 2 returns None (use dual_norm_sq)."""
    if p == "1":
        return max((abs(v) for v in g), default=Fraction(0))
    if p == "inf":
        return sum((abs(v) for v in g), Fraction(0))
    return None


def lipschitz_at_most(grads: set[Vec], L: Fraction, p: str) -> tuple[bool, str]:
    """Exact comparison of the largest dual norm of the gradients with L (squared for p = 2)."""
    if p == "2":
        worst = max((sum((v * v for v in g), Fraction(0)) for g in grads), default=Fraction(0))
        return worst <= L * L, f"largest squared Euclidean gradient norm {worst} vs L^2 = {L * L}"
    worst = max((dual_norm(g, p) for g in grads), default=Fraction(0))  # type: ignore[type-var]
    return worst <= L, f"largest dual-norm gradient {worst} vs L = {L}"
