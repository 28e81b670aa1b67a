"""Beyond yes/no: where a visualization certifies an answer, how large the worst-case error is, and how many
extra observations make epsilon-approximate prediction hold everywhere.

- ``question_map``: for points X, is each question answered, and the worst-case error of the best decoder
  (half the width of the value range), computed with ``value_range`` point by point.
- ``lipschitz_certified_share``: the share of [0,1]^d where "closer to min or max" is certified for an
  L-Lipschitz class: vol((B(x_min, r) u B(x_max, r)) n [0,1]^d) with r = Delta/(2L) (the tie set has measure
  zero). Exact in d = 1 and, for the inf-norm (whose balls are boxes), in every d (inclusion-exclusion of box
  volumes); for the 1- and 2-norm by quadrature of exact cross-sections in d = 2 (error < 1e-9) and d = 3
  (nested), and by Monte Carlo with an exact (Clopper-Pearson) 95% binomial interval above. ``check_class``'s
  ``certified_region`` uses the same function (one source).
- ``observation_budget``: observations added on a grid or greedily (where the range is widest) until the
  half-width is at most eps Delta on a fine grid, against the covering-number bound for L-Lipschitz functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from theory._setting import FeatureVisualization, FloatArray, Observations
from theory.classes import FunctionClass, Lipschitz, get_class


def grid(d: int, n: int) -> FloatArray:
    """The n^d points of a regular grid on [0,1]^d (cell centres)."""
    axis = (np.arange(n) + 0.5) / n
    return np.stack(np.meshgrid(*([axis] * d), indexing="ij"), -1).reshape(-1, d)


@dataclass(frozen=True)
class QuestionMap:
    """Per point: the value range's ends, the worst-case error of the best decoder, and the answers."""

    X: FloatArray
    lo: FloatArray
    hi: FloatArray
    exact: FloatArray
    approx: FloatArray
    min_or_max: FloatArray
    eps: float

    @property
    def half_width(self) -> FloatArray:
        return (self.hi - self.lo) / 2

    def shares(self) -> dict[str, float]:
        return {q: float(getattr(self, q).mean()) for q in ("exact", "approx", "min_or_max")}


def question_map(
    cls: str | FunctionClass, fv: FeatureVisualization | Observations, X: ArrayLike, *, eps: float = 0.1, **params: Any
) -> QuestionMap:
    if not isinstance(cls, FunctionClass):
        params.setdefault("d", fv.d)
    fc = get_class(cls, **params)
    pts = np.asarray(X, dtype=float)
    rows = [fc.value_range(fv, x) for x in pts]
    lo = np.array([r.lo for r in rows])
    hi = np.array([r.hi for r in rows])
    return QuestionMap(
        pts,
        lo,
        hi,
        np.array([r.is_exact() for r in rows]),
        np.array([r.is_approximable(eps) for r in rows]),
        np.array([r.decision() is not None for r in rows]),
        eps,
    )


# ---- Lipschitz: the certified share, exactly ------------------------------------------------------------------
def _section(c: FloatArray, r: float, t: float, p: str) -> tuple[float, float] | None:
    """Cross-section at first coordinate t of the p-ball B(c, r) in d = 2: an interval in the second coordinate."""
    u = abs(t - c[0])
    if u >= r:
        return None
    h = r - u if p == "1" else math.sqrt(r * r - u * u) if p == "2" else r
    return c[1] - h, c[1] + h


def _union_length(intervals: list[tuple[float, float]]) -> float:
    segs = sorted((max(a, 0.0), min(b, 1.0)) for a, b in intervals)
    total, end = 0.0, -math.inf
    for a, b in segs:
        if b <= a:
            continue
        if a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def _area2(centres: list[FloatArray], radii: list[float], p: str, epsabs: float = 1e-12) -> tuple[float, float]:
    """Area of the union of the 2-d p-balls B(centres[i], radii[i]) inside [0,1]^2, by quadrature of the exact
    length of its sections (piecewise smooth; the breakpoints are passed to the integrator)."""
    from scipy.integrate import quad

    def length(t: float) -> float:
        secs = [sec for c, rr in zip(centres, radii, strict=True) if (sec := _section(c, rr, t, p))]
        return _union_length(secs)

    brk = sorted(
        {min(max(v, 0.0), 1.0) for c, rr in zip(centres, radii, strict=True) for v in (c[0] - rr, c[0], c[0] + rr)}
    )
    val, err = quad(length, 0.0, 1.0, points=brk, limit=400, epsabs=epsabs, epsrel=epsabs)
    return float(val), float(err)


def lipschitz_certified_share(
    fv: FeatureVisualization, L: float, norm: Any = 2, *, n_mc: int = 200_000, seed: int = 0
) -> tuple[float, float, str]:
    """Share of the box where every L-Lipschitz member with visualization fv agrees on "closer to min or max":
    returns (share, 95% half-width of its uncertainty, method)."""
    lip = Lipschitz(fv.d, L, norm)
    lip.check_consistent(fv.observations())
    if fv.delta == 0:  # every member is the constant c: a tie everywhere, so every point is answered
        return 1.0, 0.0, "exact (Delta = 0: every member is constant)"
    r = lip.certified_radius(fv)
    if fv.d == 1:
        ivs = [(float(fv.x_min[0]) - r, float(fv.x_min[0]) + r), (float(fv.x_max[0]) - r, float(fv.x_max[0]) + r)]
        return _union_length(ivs), 0.0, "exact (d = 1)"
    if lip.norm == "inf":  # inf-balls are boxes: |A u B| = |A| + |B| - |A n B|, all clipped to the unit box
        return _box_union_volume(fv.x_min, fv.x_max, r), 0.0, f"exact (inf-norm balls are boxes, d = {fv.d})"
    if fv.d == 2:
        val, err = _area2([fv.x_min, fv.x_max], [r, r], lip.norm)
        return val, err, "quadrature of exact sections (d = 2)"
    if fv.d == 3:
        from scipy.integrate import quad

        def area(t: float) -> float:  # the cross-section at first coordinate t: two 2-d balls (or none)
            cs, rs = [], []
            for c in (fv.x_min, fv.x_max):
                u = abs(t - c[0])
                if u < r:
                    cs.append(c[1:])
                    rs.append(r - u if lip.norm == "1" else math.sqrt(r * r - u * u) if lip.norm == "2" else r)
            return _area2(cs, rs, lip.norm, epsabs=1e-11)[0] if cs else 0.0

        brk = sorted({min(max(v, 0.0), 1.0) for c in (fv.x_min, fv.x_max) for v in (c[0] - r, c[0], c[0] + r)})
        val, err = quad(area, 0.0, 1.0, points=brk, limit=200, epsabs=1e-9, epsrel=1e-9)
        return float(val), float(err) + 1e-9, "nested quadrature of exact sections (d = 3)"
    X = np.random.default_rng(seed).random((n_mc, fv.d))
    near = np.minimum(
        np.linalg.norm(X - fv.x_min, ord=_ord(lip.norm), axis=1),
        np.linalg.norm(X - fv.x_max, ord=_ord(lip.norm), axis=1),
    )
    k = int((near < r).sum())
    p = k / n_mc
    return p, binomial_half_width(k, n_mc), f"Monte Carlo ({n_mc} points, exact binomial 95% interval)"


def _box_union_volume(a: FloatArray, b: FloatArray, r: float) -> float:
    """Volume of ((a + [-r, r]^d) u (b + [-r, r]^d)) n [0,1]^d, in closed form."""
    lo_a, hi_a = np.clip(a - r, 0, 1), np.clip(a + r, 0, 1)
    lo_b, hi_b = np.clip(b - r, 0, 1), np.clip(b + r, 0, 1)
    va = float(np.prod(hi_a - lo_a))
    vb = float(np.prod(hi_b - lo_b))
    vab = float(np.prod(np.clip(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b), 0, None)))
    return va + vb - vab


def binomial_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval for a share from k successes in n independent draws: it covers the
    true share with probability >= level for every share (the normal approximation does not near 0 and 1)."""
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def binomial_half_width(k: int, n: int, level: float = 0.95) -> float:
    """The larger distance from k/n to the ends of its exact binomial interval."""
    lo, hi = binomial_interval(k, n, level)
    return max(k / n - lo, hi - k / n)


def _ord(p: str) -> float:
    return {"1": 1.0, "2": 2.0, "inf": math.inf}[p]


# ---- how many observations make eps-approximation hold everywhere ------------------------------------------
def covering_number(r: float, d: int, norm: Any = 2) -> int:
    """Points of a cube grid whose p-balls of radius r cover [0,1]^d: ceil(c_p / (2r))^d with c_p = 1 (inf-norm),
    sqrt(d) (2-norm), d (1-norm). In d = 1 this is the exact covering number ceil(1/(2r))."""
    c = {"inf": 1.0, "2": math.sqrt(d), "1": float(d)}[Lipschitz(d, 1.0, norm).norm]
    return math.ceil(c / (2 * r) - 1e-12) ** d


@dataclass(frozen=True)
class Budget:
    strategy: str
    added: int
    max_half_width: float
    covering_bound: int
    history: list[float]


def observation_budget(
    fv: FeatureVisualization,
    L: float,
    eps: float,
    *,
    norm: Any = 2,
    strategy: Literal["greedy", "grid"] = "greedy",
    resolution: int | None = None,
    max_added: int = 400,
) -> Budget:
    """Add observations of the member f = (w_lo + w_hi)/2 (the midpoint of the two extremal members, itself
    L-Lipschitz with visualization fv) until the half-width of the value range is <= eps Delta on a grid of the
    box, greedily at the grid point where the range is widest or on successively finer grids."""
    lip = Lipschitz(fv.d, L, norm)
    base = fv.observations()
    first = lip.value_range(base, fv.x_max)
    truth = lambda Y: (first.witness_lo(Y) + first.witness_hi(Y)) / 2  # noqa: E731
    res = resolution or {1: 2001, 2: 41}.get(fv.d, 8)
    G = grid(fv.d, res)
    target = eps * fv.delta
    bound = covering_number(target / L, fv.d, norm)

    def half_width(obs: Observations) -> FloatArray:
        r = lip.value_range(obs, G[0])
        return (r.witness_hi(G) - r.witness_lo(G)) / 2

    history: list[float] = []
    if strategy == "greedy":
        obs = base
        for added in range(max_added + 1):
            hw = half_width(obs)
            history.append(float(hw.max()))
            if hw.max() <= target + 1e-12:
                return Budget(strategy, added, float(hw.max()), bound, history)
            x = G[int(np.argmax(hw))]
            obs = Observations(
                np.vstack([obs.points, x]), np.append(obs.values, truth(x[None])[0]), (*obs.kinds, "value")
            )
        return Budget(strategy, max_added, history[-1], bound, history)
    k = 1
    while k**fv.d <= max_added:
        P = grid(fv.d, k)
        obs = Observations(
            np.vstack([base.points, P]), np.append(base.values, truth(P)), (*base.kinds, *("value",) * len(P))
        )
        hw = half_width(obs).max()
        history.append(float(hw))
        if hw <= target + 1e-12:
            return Budget(strategy, k**fv.d, float(hw), bound, history)
        k += 1
    return Budget(strategy, (k - 1) ** fv.d, history[-1], bound, history)
