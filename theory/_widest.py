"""The widest value range of the Lipschitz intersections, for eps in units of f (docs/theory.md, "Absolute eps").

W = sup over consistent visualizations and x of hi(x) - lo(x). For L-Lipschitz f, W = L T (``theory._triangle``);
the intersections are narrower. With f_min = 0:

**monotone and L-Lipschitz** (every d, every p-norm): W = L rho, rho = max over x in [0,1]^d of
min(||x||, ||1 - x||), i.e. rho = 1/2 (d = 1), d/2 (1-norm), 1 (inf-norm), sqrt(d/2) (2-norm, d even) and
sqrt((2d - 1)/4) (2-norm, d odd). Bound: f(x) - f_min <= L ||(x - x_min)_+|| <= L ||x|| and
f_max - f(x) <= L ||(x_max - x)_+|| <= L ||1 - x||, so two members differ at x by at most L min(||x||, ||1 - x||);
for the 2-norm with d = 2k + 1, S = sum x_k, Q = sum x_k (1 - x_k) give ||x||^2 = S - Q, ||1 - x||^2 = d - S - Q,
and Q >= dist(S, Z)/2 caps the smaller at k + 1/4. Attained: x_min = 0, x_max = (1, ..., 1), Delta = L rho at
x* = (1, ..., 1, [1/2,] 0, ..., 0) (e_1 for the inf-norm), where the range is all of [f_min, f_max].

**convex and L-Lipschitz**: with a a subgradient (norm <= L) of the upper member at x and h one of the lower member
at x_max, hi - lo <= min(a.(x - x_min), h.(x_max - x), h.(x_max - x_min)).
- d = 1: W = L/2 = L T (x_min = 1/2, x_max = 1, Delta = L/2, x = 0).
- d = 2, 2- and inf-norm: W = L (x_min = (1, 0), x_max = (1, 1), Delta = L, x = 0: the members L max(1 - y_1, y_2)
  and L y_2). For the 2-norm, the points y of the square with h.(x_max - y) > L lie in a corner triangle of
  diameter <= 1, which x and x_min cannot both occupy when a.(x - x_min) > L; for the inf-norm W = L T.
- d = 2, 1-norm: W = 9/8 L < L T = 4/3 L (x_min = (0, 3/4), x_max = (1, 1), Delta = 5/4 L, x = (3/4, 0)). The
  bound keeps the term the upper member loses to f <= f_max: hi(x) <= f_max - s_a(x), s_a(x) = max over the square
  of a.(y - x), so hi - lo <= min(a.(x - x_min), h.(x_max - x_min) - s_a(x), h.(x_max - x) - s_a(x)), and |h_k| <= L.
- d >= 3: inf-norm W = L T = L (the d = 2 instance padded with zeros); 1-norm, d = 3k: W = L T = 2k L (k blocks
  x_min = (0, 0, 1), x = (0, 1, 0), x_max = 1, Delta = 2k L). 2-norm, d = 3: x_min = (0, t, 0), x_max = 1, x = e_1
  give the width min(sqrt(1 + t^2), Delta) for Delta <= sqrt(1 + 1/(1 + t^2)) (a = (1, -t, 0)/sqrt(1 + t^2), h with
  h_1 = t h_2), largest at t^2 = (sqrt 5 - 1)/2 (sqrt of the golden ratio); t = 805/1024, Delta = 83363/65536 L
  give sqrt(1 + t^2) L ~ 1.272008 L, below L T = sqrt 2 L.
- Products of blocks (the 1-norm instances, the 2-norm lower ends in d >= 4): members on disjoint blocks of
  coordinates add up, f(y) = sum_j c_j f_j(y_j), convex and L-Lipschitz if c_j <= 1 (1-norm) or
  sum_j c_j^2 <= 1 (2-norm), so W is superadditive over blocks: W_{d1 + d2} >= W_{d1} + W_{d2} (1-norm) and
  W_{d1 + d2}^2 >= W_{d1}^2 + W_{d2}^2 (2-norm). The engine's ranges attain the sums at the product instances
  (tests). Above: L T in the 2-norm; in the 1-norm the bound below.
- 1-norm, every d: W = (2k + 0, 1/2, 9/8) L for d = 3k, 3k + 1, 3k + 2. Per coordinate k (units of L, a_k,
  |h_k| <= 1, w_k(y) = 1 - y_k or y_k by the sign of h_k, s_k = max(a_k (1 - x_k), -a_k x_k)) the bound's terms
  split as alpha_k = a_k (x_k - m_k), beta_k = w_k(m) - s_k, gamma_k = w_k(x) - s_k. Each is at most 1, and with
  A = alpha + beta, g = max(gamma, 0) each coordinate has a type: A <= 1, A + 6g <= 2 or 3A + 2g <= 4 (z3, three
  variables for each sign of h_k). Summed over the types (counts n_S, n_1, n_2), the smallest of sum alpha,
  sum beta, sum gamma is at most the optimum of a small integer program, 2k, 2k + 1/2, 2k + 9/8, and the blocks
  attain it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from theory._convex_boxes import stored as stored_boxes
from theory._setting import FloatArray


@dataclass(frozen=True)
class Widest:
    """W / L >= sqrt(lower_sq), attained at ``x`` with the visualization (x_min, x_max, Delta = delta_over_L L);
    W / L <= sqrt(upper_sq) where this module proves it (None: only the Lipschitz bound T is known)."""

    lower_sq: Fraction
    upper_sq: Fraction | None
    x_min: FloatArray
    x_max: FloatArray
    x: FloatArray
    delta_over_L: Fraction | None  # None: any Delta in (0, L sqrt(lower_sq)] gives the width Delta (monotone)
    expr: str

    @property
    def exact(self) -> bool:
        return self.upper_sq == self.lower_sq


def _pad(d: int, *values: float) -> FloatArray:
    return np.array([*values, *[0.0] * (d - len(values))], dtype=float)


def monotone(d: int, norm: str) -> Widest:
    """monotone and L-Lipschitz: W = L rho exactly (module docstring)."""
    k, odd = divmod(d, 2)
    half = [0.5] if odd else []
    x = np.array([1.0] * k + half + [0.0] * k)
    if d == 1:
        sq, expr = Fraction(1, 4), "1/2 (d = 1)"
    elif norm == "1":
        sq, expr = Fraction(d, 2) ** 2, f"d/2 = {Fraction(d, 2)}"
    elif norm == "inf":
        sq, expr, x = Fraction(1), "1 (inf-norm)", _pad(d, 1.0)
    elif odd:
        sq, expr = Fraction(2 * d - 1, 4), f"sqrt((2d - 1)/4) = sqrt({Fraction(2 * d - 1, 4)})"
    else:
        sq, expr = Fraction(d, 2), f"sqrt(d/2) = sqrt({Fraction(d, 2)})"
    return Widest(sq, sq, np.zeros(d), np.ones(d), x, None, f"rho = {expr}")


# Blocks of the product construction, per norm and block size: (x_min, x, Delta / L, width / L). On a block of k
# coordinates two convex L-Lipschitz members differ by ``width`` L at x (engine-checked in the tests).
_T3 = Fraction(805, 1024)  # x_min = (0, t, 0): t^2 = 0.61800... just below (sqrt 5 - 1)/2
_BLOCKS: dict[str, dict[int, tuple[tuple[float, ...], tuple[float, ...], Fraction, Fraction]]] = {
    "1": {
        1: ((0.5,), (0.0,), Fraction(1, 2), Fraction(1, 2)),
        2: ((0.0, 0.75), (0.75, 0.0), Fraction(5, 4), Fraction(9, 8)),
        3: ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), Fraction(2), Fraction(2)),
    },
    "2": {  # the width squared
        1: ((0.5,), (0.0,), Fraction(1, 2), Fraction(1, 4)),
        2: ((1.0, 0.0), (0.0, 0.0), Fraction(1), Fraction(1)),
        3: ((0.0, float(_T3), 0.0), (1.0, 0.0, 0.0), Fraction(83363, 65536), 1 + _T3 * _T3),
    },
}


def _partition(d: int, value: dict[int, Fraction]) -> list[int]:
    """The block sizes (1, 2, 3; largest first) that add up to d with the largest total value."""
    best: list[tuple[Fraction, list[int]]] = [(Fraction(0), [])]
    for n in range(1, d + 1):
        best.append(max((best[n - k][0] + value[k], [k, *best[n - k][1]]) for k in (1, 2, 3) if k <= n))
    return sorted(best[d][1], reverse=True)


def _blocks(d: int, norm: str) -> Widest:
    """A product of blocks: f(y) = sum_j c_j f_j(y_j) with f_j members on block j. It is convex, and L-Lipschitz if
    every c_j <= 1 in the 1-norm (|f(y) - f(z)| <= L sum_j ||y_j - z_j||_1) or sum_j c_j^2 <= 1 in the 2-norm
    (Cauchy-Schwarz); its width at x is sum_j c_j w_j. So the 1-norm adds the blocks' widths and the 2-norm, with
    c_j proportional to w_j, adds their squares (c_j rounded down to rationals). Exact in the 1-norm (the
    per-coordinate types bound W by the blocks' sum), a lower end in the 2-norm."""
    table = _BLOCKS[norm]
    sizes = _partition(d, {k: v[3] for k, v in table.items()})
    xmin = [v for k in sizes for v in table[k][0]]
    x = [v for k in sizes for v in table[k][1]]
    label = "+".join(map(str, sizes))
    if norm == "1":
        w = sum((table[k][3] for k in sizes), Fraction(0))
        delta = sum((table[k][2] for k in sizes), Fraction(0))
        expr = f"{w} (1-norm{', = T' if d % 3 == 0 else ''}; blocks {label})"
        return Widest(w * w, w * w, np.array(xmin), np.ones(d), np.array(x), delta, expr)
    if len(sizes) == 1:
        sq = table[sizes[0]][3]
        return Widest(
            sq, None, np.array(xmin), np.ones(d), np.array(x), table[sizes[0]][2], f"sqrt({sq}) ~ {math.sqrt(sq):.6f}"
        )
    total = sum((table[k][3] for k in sizes), Fraction(0))
    # c_j = sqrt(sq_j / total) rounded down, so sum c_j^2 <= 1 exactly; the widths sqrt(sq_j) rounded down too
    c = [
        Fraction(math.isqrt(table[k][3].numerator * 10**18 // (table[k][3].denominator * total)), 10**9) for k in sizes
    ]
    w = sum((cj * root_below(table[k][3]) for cj, k in zip(c, sizes, strict=True)), Fraction(0))
    delta = sum((cj * table[k][2] for cj, k in zip(c, sizes, strict=True)), Fraction(0))
    expr = f"{float(w):.6f} (blocks {label}: the root of the sum of their squared widths)"
    return Widest(w * w, None, np.array(xmin), np.ones(d), np.array(x), delta, expr)


def convex(d: int, norm: str) -> Widest:
    """convex and L-Lipschitz: exact in d = 1, in d = 2, for the inf-norm and for the 1-norm; in the 2-norm with
    d >= 3 bracketed, from below by products of blocks (module docstring)."""
    if d == 1:
        return Widest(Fraction(1, 4), Fraction(1, 4), _pad(1, 0.5), _pad(1, 1.0), _pad(1, 0.0), Fraction(1, 2), "1/2")
    if norm == "1":
        return _blocks(d, norm)
    if norm == "2" and d >= 3:
        wide = _blocks(d, norm)
        box = stored_boxes(d)  # a tree of boxes proves W <= s L (theory/_convex_boxes.py)
        return wide if box is None else dataclasses.replace(wide, upper_sq=box[0] * box[0])
    upper = Fraction(1) if d == 2 or norm == "inf" else None  # the inf-norm: T = 1 in every d >= 2
    return Widest(Fraction(1), upper, _pad(d, 1.0), _pad(d, 1.0, 1.0), np.zeros(d), Fraction(1), "1")


def for_class(name: str, d: int, norm: str) -> Widest | None:
    """The widest-range facts for a Lipschitz intersection, or None for other classes."""
    if name == "monotone_lipschitz":
        return monotone(d, norm)
    if name == "convex_lipschitz":
        return convex(d, norm)
    return None


def exact_root(sq: Fraction) -> Fraction | None:
    """sqrt(sq) when it is rational, else None."""
    p, q = math.isqrt(sq.numerator), math.isqrt(sq.denominator)
    return Fraction(p, q) if p * p == sq.numerator and q * q == sq.denominator else None


def root_below(sq: Fraction) -> Fraction:
    """A rational m <= sqrt(sq) within 10^-9 of it (sqrt(sq) itself when that is rational)."""
    root = exact_root(sq)
    return root if root is not None else Fraction(math.isqrt(sq.numerator * 10**18 // sq.denominator), 10**9)


def root_above(sq: Fraction) -> Fraction:
    """A rational m >= sqrt(sq) within 10^-9 of it (sqrt(sq) itself when that is rational)."""
    root = exact_root(sq)
    return root if root is not None else root_below(sq) + Fraction(1, 10**9)
