"""The certified upper bound on the unit's Lipschitz constant: the product of the chain's factors and the readout."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from empirical.bridge._chain import Step, _compose, chain_steps, forward_ops
from empirical.bridge._inception import resolve_concat
from empirical.bridge._norms import SAFETY
from empirical.visualize import ActivationCapture


def _readout(act: Tensor, index: int) -> Tensor:
    """The unit: channel ``index`` averaged over positions (``(N, C, H, W)``) or entry ``index`` (``(N, C)``)."""
    if act.ndim < 2:
        raise ValueError(f"activations of shape {tuple(act.shape)} have no channel axis")
    if not 0 <= index < act.shape[1]:
        raise ValueError(f"unit {index} is out of range for a layer with {act.shape[1]} units (0..{act.shape[1] - 1})")
    return act[:, index].flatten(1).mean(1) if act.ndim > 2 else act[:, index]


def _readout_exact(step: Step, x_in: Tensor, index: int) -> float:
    r"""Exact norm of the linear functional ``x -> readout(linear part of step)(x)``: :math:`\|\nabla\|_2`."""
    assert step.linear is not None
    with torch.enable_grad():
        x = torch.zeros_like(x_in[:1], dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(_readout(step.linear(x), index).sum(), x)
    return float(grad.norm()) * (1 + SAFETY)


@dataclass
class LipschitzBound:
    r"""Certified :math:`\mathrm{Lip}_2(f) \le` ``upper`` = (product of ``steps`` bounds) x ``readout``.

    If the last step is affine (Conv2d/Linear with folded BatchNorm), its factor is replaced by the exact norm of
    readout o last step (a linear functional, so the norm of its gradient); else ``readout`` is
    :math:`1/\sqrt{HW}` (mean over ``H x W`` positions: Cauchy--Schwarz) or 1 (one entry of a vector).
    ``forward_error``: max relative deviation of the chain from the model's real forward pass (must be tiny).
    """

    upper: float
    readout: float
    readout_kind: str
    steps: list[Step]
    forward_error: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "upper": self.upper,
            "log10_upper": math.log10(self.upper),
            "readout": self.readout,
            "readout_kind": self.readout_kind,
            "forward_error": self.forward_error,
            "steps": [s.to_dict() for s in self.steps],
        }


def layer_activation(model: nn.Module, layer: str, images: Tensor) -> Tensor:
    """The real output of ``layer`` (``"logits"``: the model output) for ``images``."""
    with ActivationCapture(model, [layer]) as capture:
        return capture.run(images)[layer]


def lipschitz_upper_bound(
    model: nn.Module, layer: str, index: int, input_shape: Sequence[int], *, seed: int = 0
) -> LipschitzBound:
    """Certified upper bound on the 2-norm Lipschitz constant of the unit ``layer:index`` on ``[0,1]^d``.

    The chain of :func:`forward_ops` is run on two random images and compared with the model's own forward pass
    (``ValueError`` if they differ: then the structure walked is not the function computed, and no bound is
    certified). A channel of InceptionV1's mixed block is bounded through the one branch that produces it.
    """
    layer, index = resolve_concat(model, layer, index)
    model.eval()
    device, dtype = _device_dtype(model)
    sample = torch.rand(2, *input_shape, generator=torch.Generator().manual_seed(seed)).to(device, dtype)
    steps, out = chain_steps(forward_ops(model, layer), sample)
    with torch.no_grad():
        real = layer_activation(model, layer, sample)
    error = float((out - real).abs().max() / real.abs().max().clamp_min(1e-12))
    if out.shape != real.shape or error > 1e-4:
        raise ValueError(
            f"the module chain walked for {layer!r} does not reproduce the model's forward pass (relative error "
            f"{error:.2g}); the architecture is not supported by the certified bound"
        )
    _readout(out, index)  # range check
    last = steps[-1]
    if last.linear is not None:
        x_in = _compose([s.fn for s in steps[:-1]])(sample) if len(steps) > 1 else sample
        readout, kind = _readout_exact(last, x_in, index), "exact norm of readout o last affine layer"
        factors = [s.bound for s in steps[:-1]]
    else:
        readout = 1.0 / math.sqrt(math.prod(out.shape[2:])) if out.ndim > 2 else 1.0
        kind = "1/sqrt(HW): mean over positions" if out.ndim > 2 else "1: one coordinate"
        factors = [s.bound for s in steps]
    return LipschitzBound(math.prod(factors) * readout, readout, kind, steps, error)


def _device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next(iter(model.parameters()), None)
    return (p.device, p.dtype) if p is not None else (torch.device("cpu"), torch.float32)
