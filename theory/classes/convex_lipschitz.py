"""The class ``convex_lipschitz``: convex and L-Lipschitz (p-norm) functions on [0,1]^d.

Interpolation conditions: those of the convex class (see ``convex``) plus ||g_i||_* <= L for every subgradient,
with ||.||_* the dual norm (q = inf for p = 1, 2 for 2, 1 for inf). They are exact: a convex L-Lipschitz
function on the box extends to R^d by the inf-convolution f~(y) = min_z f(z) + L||y - z||, which is convex and
L-Lipschitz, so subgradients of norm <= L exist at every point of the box (including x_min's optimality
certificate); conversely the max-of-affine interpolant with such slopes is L-Lipschitz.

The range of a feature visualization (docs/theory.md, "Convex and L-Lipschitz"), with K the coordinates where x_max
is 0 or 1 and ||.||_* the dual norm:

    lo(x) = max(f_min, f_max - M(x)),
    M(x)  = max{sum_K h_k |x_k - x_max,k| : h >= 0, ||h||_* <= L, sum_K h_k |x_max,k - x_min,k| >= Delta},
    hi(x) = max over ||a||_* <= L of min(f_min + a.(x - x_min), f_max + a.x - sum_k max(a_k, 0)),

consistent iff Delta <= L ||(x_max - x_min)_K||. The engine computes the same numbers with the interpolation LP;
tests/theory/test_convex_lipschitz_form.py checks them against these two programs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from theory._setting import FeatureVisualization, FloatArray, Observations
from theory._witness import NormName
from theory.classes.convex import Convex
from theory.classes.lipschitz import check_L, parse_norm

DUAL: dict[str, int | str] = {"1": "inf", "2": 2, "inf": 1}

#: The exact range of a feature visualization, as stated in the class's conditions (proof: docs/theory.md).
RANGE = (
    "with lo(x) = max(f_min, f_max - max{sum_K h_k |x_k - x_max,k| : h >= 0, ||h||_* <= L, "
    "sum_K h_k |x_max,k - x_min,k| >= Delta}) and hi(x) = max over ||a||_* <= L of min(f_min + a.(x - x_min), "
    "f_max + a.x - sum_k max(a_k, 0)), K the coordinates where x_max is 0 or 1, ||.||_* the dual norm "
    "(docs/theory.md, 'Convex and L-Lipschitz')"
)


class ConvexLipschitz(Convex):
    """Convex and L-Lipschitz functions f : [0,1]^d -> R."""

    name = "convex_lipschitz"
    label = "convex and L-Lipschitz"
    param_names = ("L", "norm")

    def __init__(self, d: int = 1, L: float = 1.0, norm: Any = 2) -> None:
        super().__init__(d)
        self.L = check_L(L)
        self.norm: NormName = parse_norm(norm)

    @property
    def params(self) -> dict[str, Any]:
        return {"d": self.d, "L": self.L, "norm": self.norm}

    def _in_units_of_delta(self, delta: float) -> ConvexLipschitz:
        return ConvexLipschitz(self.d, self.L / delta, self.norm)

    def with_L(self, L: float) -> ConvexLipschitz:
        return ConvexLipschitz(self.d, L, self.norm)

    def smallest_L(self, fv: FeatureVisualization) -> float:
        """Delta / ||(x_max - x_min)_K||, K the coordinates where x_max is 0 or 1: the smallest L the visualization
        allows (the subgradient at x_max lies in the box's normal cone there, has dual norm <= L and must rise by
        Delta towards x_min; docs/theory.md). ``inf`` when no such coordinate separates x_max from x_min."""
        from theory.classes.lipschitz import Lipschitz

        on_face = (fv.x_max == 0) | (fv.x_max == 1)
        gap = np.where(on_face, fv.x_max - fv.x_min, 0.0)
        D = Lipschitz(self.d, self.L, self.norm).dist(gap, np.zeros(self.d))
        if fv.delta == 0:
            return 0.0
        return math.inf if D == 0 else fv.delta / D

    def approx_condition(self) -> str:
        return f"hi(x) - lo(x) <= 2 eps Delta, {RANGE}"

    def region_condition(self) -> str:
        return (
            f"every member agrees at x iff hi(x) < c ('min') or lo(x) > c ('max'), or lo(x) = hi(x) = c (the tie), "
            f"{RANGE}"
        )

    def region_short(self) -> str:
        return "only for small L: hi(x) < c or lo(x) > c (two small convex programs)"

    def _lp(self, obs: Observations, x: FloatArray | None):  # type: ignore[no-untyped-def]
        import cvxpy as cp

        pts, F, G, cons = super()._lp(obs, x)
        q = DUAL[self.norm]
        cons.append(cp.norm(G, q, axis=1) <= self.L)
        return pts, F, G, cons

    def _gradient_excess(self, G: FloatArray) -> float:
        """max_i ||g_i||_* - L (normalised units: relative to Delta)."""
        q = {"1": np.inf, "2": 2, "inf": 1}[self.norm]
        return float(np.max(np.linalg.norm(G, ord=q, axis=1)) - self.L)

    def _gradient_ok(self, g: list[Fraction]) -> bool:  # type: ignore[override]
        """The snapped subgradient still has dual norm <= L, in exact arithmetic."""
        L = Fraction(self.L)
        if self.norm == "1":
            return max(abs(v) for v in g) <= L
        if self.norm == "inf":
            return sum(abs(v) for v in g) <= L
        return sum(v * v for v in g) <= L * L

    def probe_visualizations(self) -> Iterator[FeatureVisualization]:
        """The convex class's probes with x_max at the vertex 0 or 1, and Delta such that the slope
        Delta/||x_max - x_min|| is L/4 (L large relative to Delta: the interesting regime)."""
        from theory.classes.lipschitz import Lipschitz

        lip = Lipschitz(self.d, self.L, self.norm)
        vertices = (np.zeros(self.d), np.ones(self.d))
        for fv in Convex(self.d).probe_visualizations():
            if not any(np.array_equal(fv.x_max, v) for v in vertices):
                continue
            D = lip.dist(fv.x_max, fv.x_min)
            scaled = FeatureVisualization(fv.x_max, self.L * np.floor(D * 0.25 * 1024) / 1024, fv.x_min, 0.0)
            if self.is_consistent(scaled):
                yield scaled
