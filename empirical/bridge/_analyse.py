"""The whole bridge for one unit: observations, both Lipschitz bounds, ranges on every test image."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from empirical.bridge._data import BridgeData
from empirical.bridge._lower import LowerBound, lipschitz_lower_bound, unit_values
from empirical.bridge._ranges import (
    _distances,
    check_against_theory,
    lipschitz_ranges,
    make_observations,
    needed_L,
    range_summary,
    smallest_consistent_L,
    unconditional_ranges,
)
from empirical.bridge._upper import LipschitzBound, _device_dtype, lipschitz_upper_bound
from empirical.visualize import PAPER_DEFAULTS, channel, image_seed, per_image, render
from theory import Observations


def _accepts_padded_frame(model: nn.Module, shape: Sequence[int]) -> bool:
    """Whether the model runs on the render's padded frame (``size + 2 pad``) or needs ``crop=True``."""
    c, h, w = shape
    device, dtype = _device_dtype(model)
    try:
        with torch.no_grad():
            model(torch.zeros(1, c, h + 2 * PAPER_DEFAULTS.pad, w + 2 * PAPER_DEFAULTS.pad, device=device, dtype=dtype))
    except (RuntimeError, ValueError):
        return False
    return True


def render_extremes(
    model: nn.Module, layer: str, index: int, shape: Sequence[int], *, steps: int, seed: int, progress: bool
) -> tuple[Tensor, dict[str, Any]]:
    """Feature visualizations of ``f`` (max) and of ``-f`` (min) in one batch, paper defaults (Lucent).

    Image 0 uses the seed of ``visualize_units`` for this unit; ``crop=True`` only if the model rejects the
    padded frame (e.g. a fixed-size linear head)."""
    objective = channel(layer, index)
    crop = not _accepts_padded_frame(model, shape)
    seeds = [image_seed(seed, index), image_seed(seed + 1, index)]
    res = render(
        model, per_image([objective, -objective]), seeds, size=tuple(shape[1:]), channels=int(shape[0]),
        steps=steps, crop=crop, progress=progress,
    )  # fmt: skip
    info = {"steps": steps, "seeds": seeds, "crop": crop, "lr": PAPER_DEFAULTS.lr, "param": PAPER_DEFAULTS.param}
    return res.images.clamp(0, 1), info


def _exemplars(
    model: nn.Module, layer: str, index: int, pool: Tensor, k: int, progress: bool
) -> tuple[Tensor, np.ndarray, list[str]]:
    """The top-``k`` and bottom-``k`` images of the pool by ``f``, with values and labels."""
    values = unit_values(model, layer, index, pool, progress=progress)
    order = np.argsort(values)
    idx = [*order[::-1][:k], *order[:k]]
    labels = [f"top-{r + 1} exemplar (pool #{i})" for r, i in enumerate(order[::-1][:k])]
    labels += [f"bottom-{r + 1} exemplar (pool #{i})" for r, i in enumerate(order[:k])]
    return pool[torch.as_tensor(np.array(idx, dtype=np.int64))], values[idx], labels


@dataclass
class BridgeResult:
    """The JSON report and the per-image arrays behind the figure."""

    report: dict[str, Any]
    actual: np.ndarray
    certified: tuple[np.ndarray, np.ndarray]
    what_if: tuple[np.ndarray, np.ndarray]

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``bridge.json``)."""
        return self.report


def analyse(
    model: nn.Module,
    layer: str,
    index: int,
    data: BridgeData,
    *,
    exemplars: int = 0,
    steps: int = 512,
    seed: int = 0,
    random_points: int = 64,
    check: int = 3,
    progress: bool = True,
) -> BridgeResult:
    """The whole bridge for one unit: observations, both Lipschitz bounds, ranges on every test image."""
    model.eval()
    shape = tuple(int(v) for v in getattr(model, "input_size", data.test.shape[1:]))
    upper = lipschitz_upper_bound(model, layer, index, shape, seed=seed)
    fv_images, fv_info = render_extremes(model, layer, index, shape, steps=steps, seed=seed, progress=progress)
    points, labels = fv_images, ["visualization of the max", "visualization of the min"]
    true_values = unit_values(model, layer, index, fv_images)
    if exemplars and data.pool is not None:
        ex, ex_values, ex_labels = _exemplars(model, layer, index, data.pool, exemplars, progress)
        points, true_values, labels = (
            torch.cat([points, ex]),
            np.concatenate([true_values, ex_values]),
            labels + ex_labels,
        )
    obs = make_observations(points, true_values)
    actual = unit_values(model, layer, index, data.test, progress=progress)
    rand = torch.rand(random_points, *shape, generator=torch.Generator().manual_seed(seed))
    sample = torch.cat([data.test, rand, points])
    sample_labels = [f"test #{i}" for i in range(len(data.test))] + [f"random #{i}" for i in range(random_points)]
    lower = lipschitz_lower_bound(model, layer, index, sample, sample_labels + labels, progress=progress)
    L_obs = smallest_consistent_L(obs)
    L_what_if = max(lower.lower, L_obs)
    if upper.upper < L_obs:
        raise ValueError(f"the certified bound {upper.upper:.4g} is below the observations' own quotient {L_obs:.4g}")
    dist = _distances(obs, data.test)
    cert, what_if = lipschitz_ranges(obs, dist, upper.upper), lipschitz_ranges(obs, dist, L_what_if)
    deviation = max(
        check_against_theory(obs, data.test[:check], cert[0][:check], cert[1][:check], upper.upper),
        check_against_theory(obs, data.test[:check], what_if[0][:check], what_if[1][:check], L_what_if),
    )
    need = needed_L(obs, dist, L_obs, max(upper.upper, L_obs) * 10)
    lo_u, hi_u = unconditional_ranges(true_values, dist, upper.upper)
    inside_u = (actual >= lo_u - 1e-9 * np.abs(actual).clip(1)) & (actual <= hi_u + 1e-9 * np.abs(actual).clip(1))
    report = _report(layer, index, shape, obs, labels, true_values, actual, upper, lower, L_obs, L_what_if)
    report.update(
        settings={"visualization": fv_info, "exemplars": exemplars, "images": len(data.test),
                  "random_points": random_points, "seed": seed, "data": data.source},
        certified={
            **range_summary(*cert, actual, obs),
            "contained_unconditional": int(inside_u.sum()),
            "violations_unconditional": [int(i) for i in np.flatnonzero(~inside_u)],
        },
        what_if=range_summary(*what_if, actual, obs),
        closed_form_vs_value_range={"images_checked": min(check, len(data.test)), "max_deviation": deviation},
        needed_L=_needed_summary(need, upper.upper),
        distances={"median_to_observations": float(np.median(dist.min(axis=1))),
                   "certified_radius": (obs.f_max - obs.f_min) / (2 * upper.upper)},
    )  # fmt: skip
    return BridgeResult(report, actual, cert, what_if)


def _needed_summary(need: np.ndarray, L_upper: float) -> dict[str, Any]:
    """How small L would have to be: per image the largest L that still certifies "closer to min or max"."""
    median = float(np.median(need))
    return {
        "median": median,
        "share_never": float(np.mean(need == 0)),
        "L_upper_over_median": L_upper / median if median > 0 else math.inf,
        "quantiles": {q: float(np.quantile(need, float(q))) for q in ("0.1", "0.5", "0.9")},
    }


def _report(
    layer: str,
    index: int,
    shape: Sequence[int],
    obs: Observations,
    labels: list[str],
    true_values: np.ndarray,
    actual: np.ndarray,
    upper: LipschitzBound,
    lower: LowerBound,
    L_obs: float,
    L_what_if: float,
) -> dict[str, Any]:
    f_max, f_min = float(obs.f_max), float(obs.f_min)
    return {
        "unit": {"layer": layer, "index": index, "input_shape": list(shape), "d": int(math.prod(shape))},
        "observations": [
            {"label": lab, "kind": k, "value": float(v), "true_value": float(t)}
            for lab, k, v, t in zip(labels, obs.kinds, obs.values, true_values, strict=True)
        ],
        "f_max": f_max,
        "f_min": f_min,
        "delta": f_max - f_min,
        "visualizations_are_extreme": bool(true_values[0] >= true_values.max() and true_values[1] <= true_values.min()),
        "actual": {"min": float(actual.min()), "max": float(actual.max()), "spread": float(np.ptp(actual)),
                   "mean": float(actual.mean()),
                   "outside_fmin_fmax": int(np.sum((actual > f_max) | (actual < f_min)))},
        "lipschitz": {"upper": upper.to_dict(), "lower": lower.to_dict(), "lower_le_upper": lower.lower <= upper.upper,
                      "upper_over_lower": upper.upper / lower.lower if lower.lower > 0 else math.inf,
                      "smallest_consistent": L_obs, "what_if_L": L_what_if},
    }  # fmt: skip
