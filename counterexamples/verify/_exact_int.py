"""Exact arithmetic for a ReLU network with rational weights on scaled integers: evaluation and snapping.

``evaluate`` / ``_region`` / ``_snap`` in ``_relu`` use Fraction arithmetic throughout (a gcd per operation),
which costs ~10 ms per evaluation and ~0.2-0.5 s per snap at width 64. Here every layer's weights are scaled to
integers over one common denominator per layer, and vectors are integer numerators over one common denominator,
so a layer is one integer matrix-vector product (numpy object arrays of Python ints: exact, no rounding); the
results are identical (tests/verify/test_relu_bab.py).

``snap`` does what ``_relu._snap`` does (exact optimal vertex of the activation region of a float point,
found by a float LP and made exact by solving its d tight constraints in rationals; plus the point rounded to a
few precisions) and returns the best candidate by EXACT value, so the result is always an exact value attained at
an exact rational point whatever the float LP did.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Any

import numpy as np

from counterexamples.verify._relu import ReluNet, _best_candidate, _forward, _start_points, _tight_vertex

__all__ = ["ExactNet", "incumbent", "snap"]


def _as_int(values: list[Fraction], den: int) -> np.ndarray:
    return np.array([int(v * den) for v in values], dtype=object)


class ExactNet:
    """The network with each layer's weights as integers over one common denominator."""

    def __init__(self, net: ReluNet) -> None:
        self.net = net
        self.d = net.d
        self.layers: list[
            tuple[np.ndarray, np.ndarray, int]
        ] = []  # (W numerators (object array), b numerators, common denominator)
        for W, b in zip(net.weights, net.biases, strict=True):
            den = lcm(*(v.denominator for row in W for v in row), *(v.denominator for v in b))
            Wn = np.array([[int(v * den) for v in row] for row in W], dtype=object)
            self.layers.append((Wn, _as_int(b, den), den))

    def evaluate(self, y: list[Fraction]) -> Fraction:
        """f(y) exactly (equal to the repo's ``evaluate``)."""
        hd = lcm(*(v.denominator for v in y))
        h = _as_int(y, hd)
        last = len(self.layers) - 1
        for i, (Wn, bn, den) in enumerate(self.layers):
            h = Wn.dot(h) + bn * hd  # z = h_new / (den * hd)
            hd = den * hd
            if i < last:
                h = np.array([v if v > 0 else 0 for v in h], dtype=object)
        return Fraction(int(h[0]), hd)

    def region(self, y: list[Fraction]) -> tuple[list[Any], tuple[np.ndarray, Any, int]]:
        """The activation region of y exactly: rows (P, q, den) of every hidden neuron's pre-activation
        z = (P . y + q) / den with its sign at y (active: z > 0), and f = (P . y + q) / den on the region."""
        d = self.d
        hd = lcm(*(v.denominator for v in y))
        h = _as_int(y, hd)  # numerators of the current activations at y, over hd
        P = np.eye(d, dtype=int).astype(object)  # activations as affine maps of y: (P y + q) / pd
        q = np.zeros(d, dtype=object)
        pd = 1
        cons = []
        last = len(self.layers) - 1
        for i, (Wn, bn, den) in enumerate(self.layers):
            z = Wn.dot(h) + bn * hd
            hd = den * hd
            P, q, pd = Wn.dot(P), Wn.dot(q) + bn * pd, den * pd
            if i == last:
                return cons, (P[0], q[0], pd)
            act = np.array([v > 0 for v in z])
            cons.append((P, q, pd, act))
            h = np.where(act, z, 0)
            P = P * act[:, None].astype(int)
            q = q * act.astype(int)
        raise AssertionError("unreachable")


def snap(ex: ExactNet, y: np.ndarray) -> tuple[Fraction, list[Fraction]]:
    """An exact maximiser near the float point y (see the module docstring): (exact value, exact point)."""
    d = ex.d
    cands = [[Fraction(float(v)).limit_denominator(10**k) for v in np.clip(y, 0, 1)] for k in (9, 6, 3)]
    try:
        cons, (g, _, _) = ex.region(cands[0])
        # rows r . y <= s (integers): active neurons -P y <= q, inactive P y <= -q, then the box
        R = [(-P[j] if act[j] else P[j], q[j] if act[j] else -q[j]) for P, q, _, act in cons for j in range(len(q))]
        R += [(np.array([int(i == k) for k in range(d)], dtype=object), 1) for i in range(d)]
        R += [(np.array([-int(i == k) for k in range(d)], dtype=object), 0) for i in range(d)]
        scale = np.array([max(1.0, float(max(abs(v) for v in r))) for r, _ in R])
        Rf = np.array([[float(v) for v in r] for r, _ in R]) / scale[:, None]
        sf = np.array([float(s) for _, s in R]) / scale
        gf = np.array([float(v) for v in g])
        v = _tight_vertex(Rf, sf, -gf, lambda j: ([Fraction(int(t)) for t in R[j][0]], Fraction(int(R[j][1]))))
        if v is not None:
            cands.insert(0, v)
    except (ValueError, ZeroDivisionError):  # the float LP is only a guide: fall back to the rounded points
        pass
    return _best_candidate(cands, ex.evaluate, lambda a, b: a > b)


def incumbent(ex: ExactNet, samples: int = 4096, seed: int = 0) -> tuple[Fraction, list[Fraction]]:
    """As ``_relu._incumbent`` for the max (best of the same start points, snapped), with :func:`snap`."""
    Y = _start_points(ex.d, samples, seed)
    return snap(ex, Y[int(np.argmax(_forward(ex.net, Y)))])
