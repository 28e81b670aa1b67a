"""The convex value range of a feature visualization in closed form (no LP).

Theorem. Let m = x_min, Delta = f_max - f_min > 0 and gamma the gauge of the box about m,

    gamma(y) = max_k max((y_k - m_k)/(1 - m_k) [if m_k < 1],  (m_k - y_k)/m_k [if m_k > 0])

(gamma(m) = 0, gamma <= 1 on [0,1]^d, = 1 exactly on the faces of the box that do not contain m). A convex f on
the box has this visualization iff gamma(x_max) = 1; then, with F the smallest face of the box containing x_max
(coordinates of x_max equal to 0 or 1 fixed),

    hi(x) = f_min + Delta gamma(x),     lo(x) = f_max if x in F, else f_min,

both attained. Proof. Upper: for x != m put z = m + (x - m)/gamma(x), a point of the box; x = (1 - gamma) m +
gamma z and convexity give f(x) <= (1 - gamma) f_min + gamma f_max. The member f_min + Delta gamma (a max of affine
functions) attains it, has its minimum f_min at m and maximum f_min + Delta on the box, and takes f_max at x_max iff
gamma(x_max) = 1; conversely f(x_max) <= f_min + Delta gamma(x_max) forces gamma(x_max) = 1. Lower: on F the convex f
attains its maximum over F at x_max, a relative-interior point of F, so f = f_max on F. Off F, with
S(y) = sum over the fixed coordinates k of |y_k - x_max,k| (affine on the box, >= 0, zero exactly on F), the
member f_min + Delta max(0, 1 - K S(y)) is
convex, equals f_max on F, and is f_min at m and at x once K >= 1 / min(S(m), S(x)) (S(m) > 0: m in F would give
gamma(x_max) < 1). Checked against the LP on random instances in tests/theory/test_convex_form.py.
"""

from __future__ import annotations

import math

import numpy as np

from theory._setting import FloatArray
from theory._witness import MaxAffineWitness


def gauge(m: FloatArray, Y: FloatArray) -> FloatArray:
    """gamma(y) for every row y of Y (terms with m_k = 1, resp. m_k = 0, left out)."""
    Y = np.atleast_2d(Y)
    up = np.where(m < 1, (Y - m) / np.where(m < 1, 1 - m, 1.0), -np.inf)
    down = np.where(m > 0, (m - Y) / np.where(m > 0, m, 1.0), -np.inf)
    return np.maximum(np.max(np.maximum(up, down), axis=1), 0.0)


def gauge_at(m: FloatArray, y: FloatArray) -> float:
    """gamma(y) for one point (plain floats: ~1 us at d = 8, against ~20 us for the array form)."""
    g = 0.0
    for mk, yk in zip(m.tolist(), y.tolist(), strict=True):
        if yk > mk:  # then m_k < 1
            g = max(g, (yk - mk) / (1 - mk))
        elif yk < mk:  # then m_k > 0
            g = max(g, (mk - yk) / mk)
    return g


def consistent(x_max: FloatArray, x_min: FloatArray, delta: float, tol: float = 1e-12) -> bool:
    """Is there a convex f with this visualization? iff Delta = 0 or gamma(x_max) = 1."""
    return delta == 0 or abs(gauge_at(x_min, x_max) - 1.0) <= tol


def _face(x_max: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The fixed coordinates of the smallest face containing x_max, and their signs (+1 at 1, -1 at 0)."""
    fixed = (x_max == 0) | (x_max == 1)
    return fixed, np.where(x_max == 1, 1.0, -1.0)


def value_range(
    x_max: FloatArray, f_max: float, x_min: FloatArray, f_min: float, x: FloatArray
) -> tuple[float, float, MaxAffineWitness, MaxAffineWitness]:
    """(lo, hi, witness_lo, witness_hi) for a consistent visualization with Delta > 0."""
    d, delta, m = x.shape[0], f_max - f_min, x_min
    eye = np.eye(d)
    # hi: f_min + Delta gamma(y) = max of the affine pieces through (m, f_min)
    up, down = m < 1, m > 0
    grads = np.vstack([np.zeros((1, d)), delta * eye[up] / (1 - m[up])[:, None], -delta * eye[down] / m[down][:, None]])
    w_hi = MaxAffineWitness(np.broadcast_to(m, grads.shape), np.full(grads.shape[0], f_min), grads)
    hi = min(f_max, f_min + delta * gauge_at(m, x))
    # lo: f_max on the face F of x_max, else f_min (the member f_min + Delta max(0, 1 - K S(y)),
    # S(y) = sum of |y_k - x_max,k| over F's fixed coordinates k)
    fixed, sign = _face(x_max)
    S_x, S_m = float(np.abs(x_max - x)[fixed].sum()), float(np.abs(x_max - m)[fixed].sum())  # S(y)
    on_face = S_x == 0
    K = 2.0 ** max(0, math.ceil(math.log2(1 / min(S_m, S_x if not on_face else math.inf))))  # a power of 2
    g = np.where(fixed, delta * K * sign, 0.0)
    w_lo = MaxAffineWitness(np.vstack([m, x_max]), np.array([f_min, f_max]), np.vstack([np.zeros(d), g]))
    lo = f_max if on_face else f_min
    return lo, max(hi, lo), w_lo, w_hi
