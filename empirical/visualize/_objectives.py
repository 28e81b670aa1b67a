r"""Objectives: per-image scalars computed from layer activations, to be maximised.

An :class:`Objective` maps ``{layer name: activation}`` of a batch of ``B`` images to a tensor of shape ``(B,)``;
the render loop maximises the sum over the batch, so with per-image objectives (e.g. one unit per image) every
image is optimised independently. Activations are ``(B, C, H, W)`` (conv layers) or ``(B, C)`` (linear layers,
logits).

* channel (``unit``) ``n``: :math:`\frac{1}{HW}\sum_{y,x} a_{b,n,y,x}` (``a_{b,n}`` for 2-D activations);
* neuron: :math:`a_{b,n,y,x}` at ``(y, x)``, by default the centre ``(H//2, W//2)``;
* class logit: the channel ``n`` of ``"logits"``;
* direction ``v``: mean over positions of the cosine similarity of :math:`a_{b,:,y,x}` with ``v``;
* sums, scalar multiples and weighted sums of objectives; :func:`per_image` gives image ``b`` objective ``b``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from empirical.visualize._layers import LOGITS

__all__ = [
    "Objective",
    "channel",
    "class_logit",
    "direction",
    "neuron",
    "per_image",
    "weighted_sum",
]

Activations = Mapping[str, Tensor]


class Objective:
    """A per-image objective ``fn(acts) -> (B,)`` reading the layers ``layers``; supports ``+ - * /``."""

    def __init__(self, fn: Callable[[Activations], Tensor], layers: Sequence[str], description: str) -> None:
        self.fn = fn
        self.layers = tuple(dict.fromkeys(layers))
        self.description = description

    def __call__(self, acts: Activations) -> Tensor:
        return self.fn(acts)

    def __repr__(self) -> str:
        return f"Objective({self.description})"

    def __add__(self, other: Objective | float) -> Objective:
        if isinstance(other, Objective):
            return Objective(
                lambda a: self(a) + other(a),
                (*self.layers, *other.layers),
                f"{self.description} + {other.description}",
            )
        if isinstance(other, int | float):
            return Objective(lambda a: self(a) + other, self.layers, f"{self.description} + {other}")
        return NotImplemented

    __radd__ = __add__

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            return NotImplemented
        return Objective(lambda a: factor * self(a), self.layers, f"{factor} * ({self.description})")

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective | float) -> Objective:
        return self + (-other)

    def __truediv__(self, divisor: float) -> Objective:
        if isinstance(divisor, bool) or not isinstance(divisor, int | float):
            return NotImplemented
        return self * (1.0 / divisor)


def _units(unit: int | Sequence[int]) -> tuple[int, ...] | int:
    """Validate an int (all images) or a sequence of ints (one per image)."""
    values = [unit] if isinstance(unit, int) else list(unit)
    for u in values:
        if isinstance(u, bool) or not isinstance(u, int) or u < 0:
            raise ValueError(f"unit indices must be non-negative ints, got {u!r}")
    if not values:
        raise ValueError("no units given")
    return unit if isinstance(unit, int) else tuple(values)


def _select(act: Tensor, layer: str, units: tuple[int, ...] | int) -> Tensor:
    """``act[b, units[b]]`` (or ``act[:, units]``), with range and batch-size checks."""
    if act.ndim < 2:
        raise ValueError(f"layer {layer!r} has activations of shape {tuple(act.shape)}, no channel axis")
    top = units if isinstance(units, int) else max(units)
    if top >= act.shape[1]:
        raise ValueError(
            f"unit {top} is out of range for layer {layer!r} with {act.shape[1]} units (0..{act.shape[1] - 1})"
        )
    if isinstance(units, int):
        return act[:, units]
    if len(units) != act.shape[0]:
        raise ValueError(f"{len(units)} units for a batch of {act.shape[0]} images: need one unit per image")
    index = torch.tensor(units, device=act.device)
    return act[torch.arange(act.shape[0], device=act.device), index]


def channel(layer: str, unit: int | Sequence[int]) -> Objective:
    """Mean activation of channel ``unit`` of ``layer`` (a sequence: ``unit[b]`` for image ``b``)."""
    units = _units(unit)

    def fn(acts: Activations) -> Tensor:
        selected = _select(acts[layer], layer, units)
        return selected.flatten(1).mean(1) if selected.ndim > 1 else selected

    return Objective(fn, (layer,), f"channel {layer}:{unit}")


def neuron(layer: str, unit: int | Sequence[int], x: int | None = None, y: int | None = None) -> Objective:
    """Activation of channel ``unit`` of ``layer`` at position ``(y, x)``, default the centre ``(H//2, W//2)``."""
    units = _units(unit)

    def fn(acts: Activations) -> Tensor:
        selected = _select(acts[layer], layer, units)
        if selected.ndim == 1:
            return selected
        if selected.ndim != 3:
            raise ValueError(f"neuron objective needs (B, C, H, W) or (B, C) activations at {layer!r}")
        h, w = selected.shape[1:]
        yy, xx = h // 2 if y is None else y, w // 2 if x is None else x
        if not (0 <= yy < h and 0 <= xx < w):
            raise ValueError(f"position (y={yy}, x={xx}) is outside layer {layer!r} of size {h}x{w}")
        return selected[:, yy, xx]

    return Objective(fn, (layer,), f"neuron {layer}:{unit} at ({y}, {x})")


def class_logit(label: int | Sequence[int]) -> Objective:
    """The logit of class ``label`` (a sequence: one class per image)."""
    objective = channel(LOGITS, label)
    objective.description = f"logit {label}"
    return objective


def direction(layer: str, vector: Tensor) -> Objective:
    """Mean over positions of the cosine similarity between the activation vector and ``vector`` (C,)."""
    if vector.ndim != 1:
        raise ValueError(f"direction must be a vector (C,), got shape {tuple(vector.shape)}")

    def fn(acts: Activations) -> Tensor:
        act = acts[layer]
        if act.ndim < 2 or act.shape[1] != vector.shape[0]:
            raise ValueError(
                f"direction has {vector.shape[0]} entries, layer {layer!r} activations are {tuple(act.shape)}"
            )
        v = vector.to(device=act.device, dtype=act.dtype).reshape(1, -1, *([1] * (act.ndim - 2)))
        similarity = F.cosine_similarity(act, v, dim=1)
        return similarity.flatten(1).mean(1) if similarity.ndim > 1 else similarity

    return Objective(fn, (layer,), f"direction {layer}")


def weighted_sum(objectives: Sequence[Objective], weights: Sequence[float] | None = None) -> Objective:
    """``sum_i w_i o_i`` (all weights 1 when ``weights`` is ``None``)."""
    objectives = list(objectives)
    if not objectives:
        raise ValueError("weighted_sum needs at least one objective")
    ws = [1.0] * len(objectives) if weights is None else [float(w) for w in weights]
    if len(ws) != len(objectives):
        raise ValueError(f"{len(objectives)} objectives but {len(ws)} weights")

    def fn(acts: Activations) -> Tensor:
        total = ws[0] * objectives[0](acts)
        for w, o in zip(ws[1:], objectives[1:], strict=True):
            total = total + w * o(acts)
        return total

    layers = [layer for o in objectives for layer in o.layers]
    text = " + ".join(f"{w} * ({o.description})" for w, o in zip(ws, objectives, strict=True))
    return Objective(fn, layers, text)


def per_image(objectives: Sequence[Objective]) -> Objective:
    """Image ``b`` of the batch gets objective ``objectives[b]``."""
    objectives = list(objectives)
    if not objectives:
        raise ValueError("per_image needs at least one objective")

    def fn(acts: Activations) -> Tensor:
        values = [o(acts) for o in objectives]
        n = values[0].shape[0]
        if n != len(objectives):
            raise ValueError(f"{len(objectives)} objectives for a batch of {n} images: need one per image")
        return torch.stack([v[b] for b, v in enumerate(values)])

    layers = [layer for o in objectives for layer in o.layers]
    return Objective(fn, layers, "per image: " + "; ".join(o.description for o in objectives))
