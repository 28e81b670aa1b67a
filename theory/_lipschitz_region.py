"""Where "closer to min or max" is certified for the Lipschitz class, and how much of the domain that is.

For L-Lipschitz f the McShane extensions do not depend on the query point, so the value range at every x of
a batch is [w_lo(x), w_hi(x)] with the two witnesses of any single range: the certified region is computed on
many points at once (``certified_mask``). The certified share of the domain comes from
``theory._explore.lipschitz_certified_share``, exact wherever a closed form or exact sections exist. At the
tightest visualization (L = Delta/||x_max - x_min||) the whole box can be certified for some geometries; for any
larger L the midpoint of the segment is never certified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory._explore import lipschitz_certified_share
from theory._setting import FeatureVisualization, FloatArray
from theory.classes.lipschitz import Lipschitz


def certified_mask(cls: Lipschitz, fv: FeatureVisualization, X: FloatArray) -> FloatArray:
    """Boolean mask over the rows of X: is "closer to min or max" answered by every member at that point?"""
    vr = cls.value_range(fv, X[0])
    lo, hi = vr.witness_lo(X), vr.witness_hi(X)
    c, tol = fv.midpoint, 1e-9 * max(1.0, fv.delta)
    tie = (np.abs(lo - c) <= tol) & (np.abs(hi - c) <= tol)
    return (hi < c - tol) | (lo > c + tol) | tie


def certified_share(
    cls: Lipschitz, fv: FeatureVisualization, n_mc: int = 200_000, seed: int = 0
) -> tuple[float, float, str]:
    """Share of [0,1]^d where the answer is certified, with the half-width of its uncertainty and the method:
    ``theory._explore.lipschitz_certified_share`` (the one implementation ``fvtrust explore`` uses too): exact in
    d = 1 and for the inf-norm in every d, quadrature of exact sections (1- and 2-norm, d = 2, 3; error < 1e-8),
    Monte Carlo with an exact (Clopper-Pearson) binomial 95% interval only above (1- and 2-norm, d >= 4)."""
    return lipschitz_certified_share(fv, cls.L, cls.norm, n_mc=n_mc, seed=seed)


def region_details(
    cls: Lipschitz, ratios: tuple[float, ...] = (1.0, 1.001, 1.25, 1.5, 2.0, 4.0, 8.0)
) -> dict[str, Any]:
    """The certified region for the visualization x_min = 0, x_max = 1 (all ones), as L grows relative to the
    smallest L it allows: share of the domain, and whether the whole domain is certified."""
    d = cls.d
    xmin, xmax = np.zeros(d), np.ones(d)
    D = cls.dist(xmax, xmin)
    rows: list[dict[str, Any]] = []
    for lam in ratios:
        fv = FeatureVisualization(xmax, cls.L * D / lam, xmin, 0.0)
        share, half, method = certified_share(cls, fv)
        # "whole domain" up to the deterministic methods' stated error; for Monte Carlo (1- and 2-norm, d >= 4) it
        # means that every sampled point is answered
        whole = share >= 1.0 - 1e-12 - (half if not method.startswith("Monte Carlo") else 0.0)
        rows.append(
            {
                "L_over_L_min": lam,
                "delta": fv.delta,
                "radius": cls.certified_radius(fv),
                "share": share,
                "share_ci95": half,
                "method": method,
                "whole_domain": bool(whole),
            }
        )
    return {
        "visualization": "x_min = (0,...,0), x_max = (1,...,1), Delta = L ||x_max - x_min|| / (L/L_min)",
        "radius": "Delta / (2 L) around x_min (certifies 'min') and x_max (certifies 'max')",
        "by_L": rows,
        "whole_domain_only_at_L_min": bool(all(not r["whole_domain"] for r in rows if r["L_over_L_min"] > 1)),
    }
