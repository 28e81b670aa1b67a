"""The unit as a function: values, gradients and the sampled lower bound on its Lipschitz constant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm  # the terminal bar (tqdm.auto warns inside notebooks without ipywidgets)

from empirical.bridge._upper import _device_dtype, _readout
from empirical.visualize import ActivationCapture


def _batches(images: Tensor, batch: int, progress: bool, desc: str) -> list[Tensor]:
    chunks = list(images.split(batch))
    return list(tqdm(chunks, desc=desc, leave=False, disable=not progress or len(chunks) < 2))


def unit_values(
    model: nn.Module, layer: str, index: int, images: Tensor, *, batch: int = 64, progress: bool = False
) -> np.ndarray:
    """``f(x)`` for each image (float64), computed as the visualization objective ``channel(layer, index)``."""
    device, dtype = _device_dtype(model)
    out = []
    with torch.no_grad(), ActivationCapture(model, [layer]) as capture:
        for chunk in _batches(images, batch, progress, "unit values"):
            out.append(_readout(capture.run(chunk.to(device, dtype))[layer], index).double().cpu())
    return torch.cat(out).numpy()


def unit_gradients(
    model: nn.Module, layer: str, index: int, images: Tensor, *, batch: int = 32, progress: bool = False
) -> tuple[np.ndarray, Tensor]:
    r"""``f(x)`` and :math:`\nabla f(x)` per image (images do not interact: eval mode, per-image readout)."""
    device, dtype = _device_dtype(model)
    values, grads = [], []
    with ActivationCapture(model, [layer]) as capture:
        for chunk in _batches(images, batch, progress, "gradients"):
            x = chunk.to(device, dtype).requires_grad_(True)
            v = _readout(capture.run(x)[layer], index)
            (g,) = torch.autograd.grad(v.sum(), x)
            values.append(v.detach().double().cpu())
            grads.append(g.detach().cpu())
    return torch.cat(values).numpy(), torch.cat(grads)


def _pairwise_quotients(points: Tensor, values: np.ndarray) -> tuple[float, tuple[int, int]]:
    r"""Largest :math:`|f(a) - f(b)| / \|a - b\|_2` over all pairs of ``points`` (flattened)."""
    flat = points.flatten(1).double()
    dist = torch.cdist(flat, flat).numpy()
    gap = np.abs(values[:, None] - values[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(dist > 0, gap / dist, 0.0)
    i, j = np.unravel_index(int(np.argmax(q)), q.shape)
    return float(q[i, j]), (int(i), int(j))


@dataclass
class LowerBound:
    r"""Sampled :math:`\mathrm{Lip}_2(f) \ge` ``lower`` = max(largest gradient norm, largest difference quotient).

    Both are lower bounds of the true constant: a difference quotient is by definition; a gradient norm is the
    limit of quotients where ``f`` is differentiable (piecewise smooth networks: almost everywhere).
    """

    grad_max: float
    grad_argmax: str
    quotient_max: float
    quotient_pair: str
    n_points: int

    @property
    def lower(self) -> float:
        return max(self.grad_max, self.quotient_max)

    def to_dict(self) -> dict[str, Any]:
        return {"lower": self.lower, **vars(self)}


def lipschitz_lower_bound(
    model: nn.Module,
    layer: str,
    index: int,
    points: Tensor,
    labels: Sequence[str],
    *,
    step: float = 0.05,
    progress: bool = False,
) -> LowerBound:
    r"""Gradient norms at ``points``, quotients over all pairs of ``points``, and quotients along the gradient:
    :math:`|f(x') - f(x)| / \|x' - x\|` with :math:`x' = \mathrm{clip}_{[0,1]}(x + h\,g/\|g\|)`."""
    values, grads = unit_gradients(model, layer, index, points, progress=progress)
    norms = grads.flatten(1).double().norm(dim=1).numpy()
    g_arg = int(np.argmax(norms))
    q_pairs, (i, j) = _pairwise_quotients(points, values)
    unit = grads / grads.flatten(1).norm(dim=1).clamp_min(1e-30).reshape(-1, *[1] * (grads.ndim - 1))
    moved = (points + step * unit.to(points.dtype)).clamp(0, 1)
    dist = (moved - points).flatten(1).double().norm(dim=1).numpy()
    gap = np.abs(unit_values(model, layer, index, moved) - values)
    q_grad = np.where(dist > 0, gap / np.maximum(dist, 1e-300), 0.0)
    k = int(np.argmax(q_grad))
    best = (
        (q_pairs, f"{labels[i]} vs {labels[j]}") if q_pairs >= q_grad[k] else (q_grad[k], f"along grad at {labels[k]}")
    )
    return LowerBound(float(norms[g_arg]), labels[g_arg], float(best[0]), best[1], len(points))
