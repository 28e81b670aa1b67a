"""Observations and certified ranges: the closed form of ``theory.value_range("lipschitz")`` on many images."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from empirical.bridge._lower import _pairwise_quotients
from theory import Observations, value_range
from theory._setting import TOL


def make_observations(points: Tensor, values: np.ndarray) -> Observations:
    """Observations from ``points[0]`` (visualization of the max), ``points[1]`` (of the min) and exemplars.

    Convention: a visualization is only approximately a global extremum, so the ``"max"`` point carries the
    largest observed value and the ``"min"`` point the smallest (equal to their own values whenever the
    visualizations beat every exemplar); the exemplars keep their values (kind ``"value"``).
    """
    vals = np.asarray(values, dtype=float).copy()
    vals[0], vals[1] = vals.max(), vals.min()
    kinds = ("max", "min", *("value",) * (len(vals) - 2))
    return Observations(points.flatten(1).double().clamp(0, 1).numpy(), vals, kinds)


def _distances(obs: Observations, images: Tensor, batch: int = 256) -> np.ndarray:
    """``||x - p_i||_2`` for every image ``x`` (rows) and observation point ``p_i`` (columns), float64."""
    pts = torch.from_numpy(obs.points)
    rows = [torch.cdist(chunk.flatten(1).double(), pts) for chunk in images.split(batch)]
    return torch.cat(rows).numpy()


def lipschitz_ranges(obs: Observations, dist: np.ndarray, L: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Vectorised closed form of ``value_range("lipschitz", obs, x, L=L, norm=2)`` for each row of ``dist``:
    :math:`[\max(f_{\min}, \max_i v_i - L d_i), \min(f_{\max}, \min_i v_i + L d_i)]`."""
    lo = np.maximum(obs.f_min, np.max(obs.values[None, :] - L * dist, axis=1))
    hi = np.minimum(obs.f_max, np.min(obs.values[None, :] + L * dist, axis=1))
    return lo, hi


def unconditional_ranges(true_values: np.ndarray, dist: np.ndarray, L: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The range from the Lipschitz bound and the *true* observed values alone, without the visualization's
    claim to be a global extremum: :math:`[\max_i t_i - L d_i, \min_i t_i + L d_i]`. With a certified L it
    contains f(x) unconditionally; the theory's range clips it to :math:`[f_{\min}, f_{\max}]`, which holds for
    f only if no input exceeds the visualizations (the premise of a feature visualization)."""
    return np.max(true_values[None, :] - L * dist, axis=1), np.min(true_values[None, :] + L * dist, axis=1)


def decisions(lo: np.ndarray, hi: np.ndarray, f_max: float, f_min: float) -> np.ndarray:
    """``ValueRange.decision()`` per image: "max", "min", "tie" or "none" (members disagree)."""
    c, tol = (f_max + f_min) / 2, TOL * max(1.0, abs(f_max - f_min))
    out = np.full(lo.shape, "none", dtype=object)
    out[(np.abs(hi - c) <= tol) & (np.abs(lo - c) <= tol)] = "tie"
    out[lo > c + tol] = "max"
    out[hi < c - tol] = "min"
    return out


def check_against_theory(obs: Observations, images: Tensor, lo: np.ndarray, hi: np.ndarray, L: float) -> float:
    """Compare the closed form with ``theory.value_range`` on ``images``; the largest deviation of an end."""
    worst = 0.0
    dec = decisions(lo, hi, float(obs.f_max), float(obs.f_min))
    for k, x in enumerate(images.flatten(1).double().clamp(0, 1).numpy()):
        vr = value_range("lipschitz", obs, x, L=L, norm=2, d=obs.d)
        worst = max(worst, abs(vr.lo - lo[k]), abs(vr.hi - hi[k]))
        if (vr.decision() or "none") != dec[k]:
            raise AssertionError(f"decision {vr.decision()} of theory.value_range != closed form {dec[k]}")
    return worst


def smallest_consistent_L(obs: Observations) -> float:
    r"""The smallest L for which the observations are consistent: :math:`\max_{i<j} |v_i - v_j| / \|p_i - p_j\|`."""
    q, _ = _pairwise_quotients(torch.from_numpy(obs.points), obs.values)
    return q


def needed_L(obs: Observations, dist: np.ndarray, lo_L: float, hi_L: float, iters: int = 80) -> np.ndarray:
    """Per image, the largest L (between ``lo_L`` and ``hi_L``, log bisection) at which "closer to min or max"
    is still certified; 0 where even ``lo_L`` does not certify it. Certification is monotone: ranges grow with L."""
    f_max, f_min = float(obs.f_max), float(obs.f_min)

    def decided(L: np.ndarray) -> np.ndarray:
        lo = np.maximum(f_min, np.max(obs.values[None, :] - L[:, None] * dist, axis=1))
        hi = np.minimum(f_max, np.min(obs.values[None, :] + L[:, None] * dist, axis=1))
        return decisions(lo, hi, f_max, f_min) != "none"

    n = dist.shape[0]
    a, b = np.full(n, math.log(lo_L)), np.full(n, math.log(hi_L))
    ok_lo = decided(np.exp(a))
    for _ in range(iters):
        mid = (a + b) / 2
        good = decided(np.exp(mid))
        a, b = np.where(good, mid, a), np.where(good, b, mid)
    return np.where(ok_lo, np.exp(a), 0.0)


def range_summary(lo: np.ndarray, hi: np.ndarray, actual: np.ndarray, obs: Observations) -> dict[str, Any]:
    """Shares of decided images, widths against the actual spread and Delta, and containment of ``actual``."""
    f_max, f_min = float(obs.f_max), float(obs.f_min)
    dec = decisions(lo, hi, f_max, f_min)
    tol = TOL * max(1.0, abs(f_max - f_min))
    inside = (actual >= lo - tol) & (actual <= hi + tol)
    c = (f_max + f_min) / 2
    truth = np.where(actual > c, "max", np.where(actual < c, "min", "tie"))
    decided = dec != "none"
    width, spread = hi - lo, float(np.ptp(actual))
    return {
        "share_max": float(np.mean(dec == "max")),
        "share_min": float(np.mean(dec == "min")),
        "share_tie": float(np.mean(dec == "tie")),
        "share_certified": float(np.mean(decided)),
        "decided_correct": int(np.sum(decided & (dec == truth))),
        "decided_wrong": int(np.sum(decided & (dec != truth))),
        "width_mean": float(width.mean()),
        "width_median": float(np.median(width)),
        "width_min": float(width.min()),
        "width_over_spread_median": float(np.median(width) / spread) if spread > 0 else math.inf,
        "width_over_delta_median": float(np.median(width) / (f_max - f_min)),
        "contained": int(inside.sum()),
        "violations": [int(i) for i in np.flatnonzero(~inside)],
    }
