"""``visualize_units``: one image per unit of one layer, rendered in one batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.visualize._defaults import PAPER_DEFAULTS, check_render_limits
from empirical.visualize._layers import resolve_layer
from empirical.visualize._objectives import Objective, channel, neuron
from empirical.visualize._render import RenderResult, image_seed, render
from empirical.visualize._transforms import Transform, transforms_for_size

__all__ = ["VisualizationResult", "visualize_units"]


@dataclass
class VisualizationResult(RenderResult):
    """A :class:`RenderResult` plus what was visualised: image ``b`` maximises ``units[b]`` of ``layer``."""

    layer: str = ""
    units: tuple[int, ...] = ()
    objective: Objective | None = None


def _input_shape(model: nn.Module, size: int | Sequence[int] | None, channels: int | None) -> tuple[int, int, int]:
    """``(C, H, W)`` from the arguments, else from ``model.input_size``; clear errors when neither is there."""
    declared = getattr(model, "input_size", None)
    if declared is not None:
        declared = tuple(int(v) for v in declared)
        if len(declared) != 3:
            raise ValueError(f"model.input_size must be (C, H, W), got {declared!r}")
    if channels is None:
        if declared is None:
            raise ValueError(f"{type(model).__name__} has no input_size: pass channels= (and size=)")
        channels = declared[0]
    elif declared is not None and channels != declared[0]:
        raise ValueError(f"{type(model).__name__} takes {declared[0]}-channel images, got channels={channels}")
    if size is None:
        if declared is None:
            raise ValueError(f"{type(model).__name__} has no input_size: pass size= (and channels=)")
        hw = declared[1:]
    elif isinstance(size, int) and not isinstance(size, bool):
        hw = (size, size)
    else:
        hw = tuple(size)
    if len(hw) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in hw):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    return channels, hw[0], hw[1]


def visualize_units(
    model: nn.Module,
    layer: str,
    units: Sequence[int],
    steps: int = PAPER_DEFAULTS.steps,
    seed: int = 0,
    size: int | Sequence[int] | None = None,
    device: torch.device | str | None = None,
    *,
    channels: int | None = None,
    neuron_objective: bool = False,
    thresholds: Sequence[int] = (),
    lr: float = PAPER_DEFAULTS.lr,
    param: str = PAPER_DEFAULTS.param,
    decorrelate: bool | None = None,
    transforms: Sequence[Transform] | None = None,
    crop: bool = PAPER_DEFAULTS.crop,
    dtype: torch.dtype | None = None,
    progress: bool = True,
    fuse: bool = True,
    callback: Callable[[int, Tensor], None] | None = None,
    start_units: Sequence[int] | None = None,
    redirect_relu: int | None = None,
    redirect_rule: str | None = None,
) -> VisualizationResult:
    """Feature visualizations of ``units`` of ``layer`` (``"logits"``: class logits), one image per unit.

    Image ``b`` maximises the mean of channel ``units[b]`` (the centre neuron with ``neuron_objective=True``)
    and is seeded with :func:`image_seed` ``(seed, units[b])``, so it is the same whichever other units are
    rendered with it (up to float rounding, see :func:`render`). ``start_units``: image ``b`` instead starts where
    unit ``start_units[b]``'s image would (same initial parameters and transforms, seed
    ``image_seed(seed, start_units[b])``), e.g. a target unit's visualization from a fooled unit's start.
    ``size``/``channels`` default to ``model.input_size`` (required for models without it).
    Paper defaults: :data:`PAPER_DEFAULTS`. See :func:`render` for the other arguments (``callback``: called
    after every step with the step number and the objective values; ``redirect_relu``/``redirect_rule``: redirected
    ReLU gradients for the first steps, default what the model asks for).
    """
    units = tuple(units)
    if not units:
        raise ValueError("no units to visualise")
    resolve_layer(model, layer)  # unknown layer: ValueError listing the layers, before any work
    c, h, w = _input_shape(model, size, channels)
    itemsize = dtype.itemsize if dtype is not None else 4
    check_render_limits(steps, (h, w), len(units), device, itemsize)  # before anything is allocated
    objective = (neuron if neuron_objective else channel)(layer, units)
    if start_units is not None:
        start_units = tuple(start_units)
        if len(start_units) != len(units):
            raise ValueError(f"start_units needs one unit per visualised unit ({len(units)}), got {len(start_units)}")
    seeds = [image_seed(seed, u) for u in (units if start_units is None else start_units)]
    if transforms is None:  # Lucent's set, with pad and jitter scaled down for small images (e.g. 28 px)
        transforms = transforms_for_size(min(h, w))
    result = render(
        model, objective, seeds, size=(h, w), channels=c, steps=steps, lr=lr, param=param,
        decorrelate=decorrelate, transforms=transforms, crop=crop, thresholds=thresholds, device=device, dtype=dtype,
        progress=progress, fuse=fuse, callback=callback, redirect_relu=redirect_relu, redirect_rule=redirect_rule,
    )  # fmt: skip
    return VisualizationResult(**vars(result), layer=layer, units=units, objective=objective)
