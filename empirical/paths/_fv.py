"""Class (logit) visualizations for the path analysis, rendered with :func:`empirical.visualize.visualize_units`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from empirical.paths._defaults import FV_DEFAULTS, FVSettings

__all__ = ["class_visualizations", "small_transforms"]


def small_transforms() -> tuple:
    """Transforms scaled for ~28-px images: pad 2 (0), jitter 3, scale 0.95-1.05, rotate -5..5 deg, jitter 2."""
    from empirical.visualize import Jitter, Pad, RandomRotate, RandomScale

    return (
        Pad(2, 0.0),
        Jitter(3),
        RandomScale((0.95, 0.975, 1.0, 1.025, 1.05)),
        RandomRotate((-5.0, -2.5, 0.0, 2.5, 5.0)),
        Jitter(2),
    )


def class_visualizations(
    model: nn.Module, classes: Sequence[int], settings: FVSettings = FV_DEFAULTS, progress: bool = True
) -> Tensor:
    """``(K, n, C, H, W)`` logit visualizations: ``n = settings.fv_per_class`` runs (seeds ``seed + j``) per class."""
    from empirical.visualize import visualize_units

    runs = []
    for j in range(settings.fv_per_class):
        res = visualize_units(
            model, "logits", list(classes), steps=settings.steps, seed=settings.seed + j, crop=settings.crop,
            transforms=small_transforms() if settings.small_transforms else None, progress=progress,
            **settings.extra,
        )  # fmt: skip
        runs.append(res.images.detach().cpu())
    return torch.stack(runs, 1)
