"""Where "closer to min or max" is certified for the Lipschitz class, and how much of the domain that is.

For L-Lipschitz f the McShane extensions do not depend on the query point, so the value range at every x of
a batch is [w_lo(x), w_hi(x)] with the two witnesses of any single range: the certified region is computed on
many points at once. At the tightest visualization (L = Delta/||x_max - x_min||) the whole box can be
certified for some geometries; for any larger L the midpoint of the segment is never certified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory._explore import binomial_half_width, lipschitz_certified_share
from theory._setting import FeatureVisualization, FloatArray
from theory.classes.lipschitz import Lipschitz


def certified_mask(cls: Lipschitz, fv: FeatureVisualization, X: FloatArray) -> FloatArray:
    """Boolean mask over the rows of X: is "closer to min or max" answered by every member at that point?"""
    vr = cls.value_range(fv, X[0])
    lo, hi = vr.witness_lo(X), vr.witness_hi(X)
    c, tol = fv.midpoint, 1e-9 * max(1.0, fv.delta)
    tie = (np.abs(lo - c) <= tol) & (np.abs(hi - c) <= tol)
    return (hi < c - tol) | (lo > c + tol) | tie


def share_points(d: int, n: int = 4000, seed: int = 0) -> FloatArray:
    """The points on which shares are estimated: a regular grid of n midpoints in d = 1, else n uniform draws."""
    if d == 1:
        return ((np.arange(n) + 0.5) / n)[:, None]
    return np.random.default_rng(seed).random((n, d))


def certified_share(
    cls: Lipschitz, fv: FeatureVisualization, n: int = 4000, seed: int = 0, X: FloatArray | None = None
) -> tuple[float, float]:
    """Share of [0,1]^d where the answer is certified: Monte Carlo estimate and the half-width of its exact
    binomial 95% interval (a regular grid of n points in d = 1, exact up to 1/n; quadrature in d = 2, exact up to
    its error bound; fvtrust explore integrates d = 3 exactly too). ``X`` reuses
    ``share_points(d, n, seed)`` across calls."""
    if cls.d == 2 and fv.delta > 0:  # exact: quadrature of exact sections (the tie set has measure zero)
        share, err, _ = lipschitz_certified_share(fv, cls.L, cls.norm)
        return share, err
    if X is None:
        X = share_points(cls.d, n, seed)
    n = X.shape[0]
    k = int(certified_mask(cls, fv, X).sum())
    if cls.d == 1:
        return k / n, 1.0 / n
    return k / n, binomial_half_width(k, n)  # exact binomial (Clopper-Pearson) 95% interval


def region_details(
    cls: Lipschitz, ratios: tuple[float, ...] = (1.0, 1.001, 1.25, 1.5, 2.0, 4.0, 8.0)
) -> dict[str, Any]:
    """The certified region for the visualization x_min = 0, x_max = 1 (all ones), as L grows relative to the
    smallest L it allows: share of the domain, and whether the whole domain is certified."""
    d = cls.d
    xmin, xmax = np.zeros(d), np.ones(d)
    D = cls.dist(xmax, xmin)
    rows = []
    X = share_points(d)
    for lam in ratios:
        fv = FeatureVisualization(xmax, cls.L * D / lam, xmin, 0.0)
        share, half = certified_share(cls, fv, X=X)
        rows.append(
            {
                "L_over_L_min": lam,
                "delta": fv.delta,
                "radius": cls.certified_radius(fv),
                "share": share,
                "share_ci95": half,
                "whole_domain": bool(share >= 1.0 - 1e-12),
            }
        )
    return {
        "visualization": "x_min = (0,...,0), x_max = (1,...,1), Delta = L ||x_max - x_min|| / (L/L_min)",
        "radius": "Delta / (2 L) around x_min (certifies 'min') and x_max (certifies 'max')",
        "by_L": rows,
        "whole_domain_only_at_L_min": bool(all(not r["whole_domain"] for r in rows if r["L_over_L_min"] > 1)),
    }
