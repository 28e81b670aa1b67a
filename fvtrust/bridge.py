r"""Bridge to real networks: one unit of a trained network as a function ``f : [0,1]^d -> R``.

The unit ``LAYER:INDEX`` of a zoo model is

.. math:: f(x) = \frac{1}{HW}\sum_{h,w} a_{\ell}(x)_{k,h,w} \quad (\text{conv layer}), \qquad
          f(x) = a_{\ell}(x)_k \quad (\text{linear layer, } \ell = \text{"logits"}),

on images ``x`` in ``[0,1]^d``, ``d = C H W`` (the visualization objective ``empirical.visualize.channel``).

1. **Observations**: the unit's feature visualization (maximise ``f``, marked ``"max"``), a visualization of the
   minimum (maximise ``-f``, marked ``"min"``) and optionally the top-K / bottom-K natural exemplars of an
   exemplar pool (``"value"``). A visualization is only approximately a global extremum, so (our convention) the
   ``"max"`` point carries ``f_max = max`` of all observed values and the ``"min"`` point ``f_min = min``; the
   true values at the visualizations are reported beside them.
2. **Lipschitz constant** in the 2-norm: a certified upper bound (:func:`lipschitz_upper_bound`, a product of
   operator-norm bounds along the module structure, checked against the real forward pass) and a sampled lower
   bound (:func:`lipschitz_lower_bound`: largest gradient norm and largest difference quotient).
3. **Certified ranges** per natural test image ``x`` (McShane--Whitney, as ``theory.value_range("lipschitz")``)

   .. math:: \mathrm{lo}(x) = \max\big(f_{\min}, \max_i v_i - L\|x - p_i\|_2\big), \qquad
             \mathrm{hi}(x) = \min\big(f_{\max}, \min_i v_i + L\|x - p_i\|_2\big),

   the share of images where "closer to max or min" is certified, widths against the actual spread, and
   containment of every actual activation (:func:`range_report`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from theory import Observations, value_range
from theory._setting import TOL

__all__ = [
    "MODELS",
    "SAFETY",
    "BridgeData",
    "BridgeResult",
    "LipschitzBound",
    "LowerBound",
    "Normalise",
    "Step",
    "analyse",
    "chain_steps",
    "check_against_theory",
    "conv_fft_bound",
    "conv_frobenius_bound",
    "conv_offset_bound",
    "decisions",
    "forward_ops",
    "linear_norm",
    "lipschitz_lower_bound",
    "lipschitz_ranges",
    "lipschitz_upper_bound",
    "load_bridge_data",
    "make_observations",
    "markdown",
    "maxpool_bound",
    "needed_L",
    "plot",
    "range_summary",
    "schur_bound",
    "smallest_consistent_L",
    "unit_gradients",
    "unit_values",
    "write_outputs",
]

#: Relative safety margin added to every computed operator norm (float64 SVD/FFT round-off is ~1e-15).
SAFETY = 1e-9

Op = tuple[str, Callable[[Tensor], Tensor]]


# ---------------------------------------------------------------------------------------------------------------
# Operator norms of single layers (all in the 2-norm, as maps between flattened tensors)
# ---------------------------------------------------------------------------------------------------------------
def linear_norm(weight: Tensor) -> float:
    r"""Exact :math:`\|W\|_2 = \sigma_{\max}(W)` (float64 SVD)."""
    return float(torch.linalg.matrix_norm(weight.detach().double().cpu(), ord=2))


def _grouped(weight: Tensor, groups: int) -> Tensor:
    """Conv weight (c_out, c_in/g, kh, kw) -> (g, c_out/g, c_in/g, kh, kw), float64 on the CPU."""
    w = weight.detach().double().cpu()
    return w.reshape(groups, w.shape[0] // groups, *w.shape[1:])


def conv_offset_bound(weight: Tensor, groups: int = 1) -> float:
    r"""Bound :math:`\sum_k \max_g \|W_{g,k}\|_2` for a zero-padded Conv2d (any stride, dilation, groups).

    The conv is :math:`y = \sum_k T_k x` with :math:`(T_k x)_p = W_k x_{s p + k\,\mathrm{dil} - \mathrm{pad}}`
    (zero outside the image). The index map :math:`p \mapsto sp + k\,\mathrm{dil} - \mathrm{pad}` is injective,
    so :math:`\|T_k x\|^2 \le \|W_k\|^2 \|x\|^2`, and the triangle inequality gives the sum. ``W_k`` is
    block-diagonal over the groups, so its norm is the largest block norm (depthwise: :math:`\max_c |w_{c,k}|`).
    """
    g = _grouped(weight, groups)
    blocks = g.flatten(3).permute(3, 0, 1, 2)  # (K, g, c_out/g, c_in/g)
    return float(torch.linalg.matrix_norm(blocks, ord=2).amax(dim=1).sum())


def conv_frobenius_bound(weight: Tensor) -> float:
    r"""Bound :math:`\sqrt{K}\,\|W\|_F \ge \sum_k \|W_k\|_F \ge \sum_k \|W_k\|_2` (Cauchy--Schwarz; K offsets)."""
    w = weight.detach().double()
    return float(w.norm() * math.sqrt(w.shape[2] * w.shape[3]))


def _conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    """Numeric padding per side; ``"same"`` is bounded by the dilated kernel extent."""
    if conv.padding_mode != "zeros":
        raise ValueError(f"Conv2d with padding_mode={conv.padding_mode!r}: only zero padding is certified here")
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return 0, 0
        return tuple((k - 1) * d for k, d in zip(conv.kernel_size, conv.dilation, strict=True))  # type: ignore[return-value]
    return int(conv.padding[0]), int(conv.padding[1])


def conv_fft_bound(
    weight: Tensor, groups: int, in_hw: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]
) -> float:
    r"""Bound :math:`\max_{\omega} \max_g \|\hat W_g(\omega)\|_2` over the DFT grid of an ``N_H x N_W`` torus.

    With :math:`N \ge n + 2\,\mathrm{pad} + (k-1)\mathrm{dil}` per axis, the zero-padded conv of an ``n``-pixel
    input equals a circular convolution on the ``N``-torus of the zero-extended input, followed by a selection of
    output positions (no tap wraps onto the image, distinct outputs stay distinct; stride is a selection too).
    Zero extension is an isometry and a selection has norm <= 1, and a circular convolution is block-diagonalised
    by the DFT, its singular values being those of the ``c_out x c_in`` symbols
    :math:`\hat W(\omega) = \sum_k W_k e^{-i\omega\cdot k\,\mathrm{dil}}` at the ``N_H N_W`` grid frequencies
    (exactly, not sampled). Real kernels: :math:`\hat W(-\omega) = \overline{\hat W(\omega)}`, so ``rfft2`` suffices.
    """
    g = _grouped(weight, groups)
    kh, kw = g.shape[-2:]
    n_h = in_hw[0] + 2 * padding[0] + (kh - 1) * dilation[0] + 1
    n_w = in_hw[1] + 2 * padding[1] + (kw - 1) * dilation[1] + 1
    grid = torch.zeros(*g.shape[:3], n_h, n_w, dtype=torch.float64)
    grid[..., : (kh - 1) * dilation[0] + 1 : dilation[0], : (kw - 1) * dilation[1] + 1 : dilation[1]] = g
    symbols = torch.fft.rfft2(grid).permute(0, 3, 4, 1, 2)  # (g, N_H, N_W//2+1, c_out/g, c_in/g)
    if symbols.shape[-1] == 1 or symbols.shape[-2] == 1:
        return float(torch.linalg.vector_norm(symbols, dim=(-2, -1)).max())
    return float(torch.linalg.matrix_norm(symbols, ord=2).max())


def maxpool_bound(pool: nn.MaxPool2d) -> float:
    r"""Bound :math:`\sqrt{m}`, ``m`` the largest number of windows sharing an input pixel.

    :math:`|\max a - \max b| \le \|a - b\|_{\infty,\mathrm{window}} \le \|a - b\|_{2,\mathrm{window}}`; summing the
    squares over windows counts each pixel at most ``m`` times. Per axis
    :math:`m \le \min(k, \lceil((k-1)\mathrm{dil}+1)/s\rceil)`; non-overlapping windows give 1.
    """
    pair = nn.modules.utils._pair
    m = 1
    for k, s, d in zip(pair(pool.kernel_size), pair(pool.stride or pool.kernel_size), pair(pool.dilation), strict=True):
        m *= min(k, math.ceil(((k - 1) * d + 1) / s))
    return math.sqrt(m)


def schur_bound(op: Callable[[Tensor], Tensor], sample: Tensor) -> float:
    r"""Schur test for a linear map with nonnegative matrix ``A`` (average pooling of any geometry):
    :math:`\|A\|_2 \le \sqrt{\|A\|_1 \|A\|_\infty}` = sqrt(largest column sum x largest row sum).

    Row sums are ``A 1`` (the op applied to ones), column sums ``A^T 1`` (the gradient of ``sum(A x)``).
    """
    with torch.enable_grad():
        ones = torch.ones_like(sample[:1], dtype=torch.float64, requires_grad=True)
        out = op(ones)
        (cols,) = torch.autograd.grad(out.sum(), ones)
    return math.sqrt(float(out.detach().max()) * float(cols.max()))


# ---------------------------------------------------------------------------------------------------------------
# The module structure as a chain of operators
# ---------------------------------------------------------------------------------------------------------------
class Normalise(nn.Module):
    """``(x - mean) / std`` per channel: a diagonal affine map with norm ``max 1/|std|``."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().reshape(1, -1, 1, 1).clone())
        self.register_buffer("std", std.detach().reshape(1, -1, 1, 1).clone())

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def scale(self) -> Tensor:
        return 1.0 / self.std.reshape(-1).double().cpu()


class GlobalAvgPool(nn.Module):
    """``adaptive_avg_pool2d(x, 1).flatten(1)``: the functional head of torchvision's MobileNetV2."""

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def _is_residual(module: nn.Module) -> bool:
    """torchvision-style inverted residual block: ``x + conv(x)`` if ``use_res_connect`` else ``conv(x)``."""
    return hasattr(module, "use_res_connect") and isinstance(getattr(module, "conv", None), nn.Module)


def _is_features_classifier(module: nn.Module) -> bool:
    """torchvision MobileNet-style net: ``classifier(flatten(avgpool(features(x))))``, with ``avgpool`` a module
    or (torchvision) the functional ``adaptive_avg_pool2d(., 1)``."""
    return not isinstance(module, nn.Sequential) and all(
        isinstance(getattr(module, a, None), nn.Sequential) for a in ("features", "classifier")
    )


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _expand(module: nn.Module, prefix: str, target: str | None) -> tuple[list[Op], bool]:
    """The ops of ``module`` in forward order, up to and including ``target`` (``None``: all); reached?"""
    here = target is not None and prefix == target
    inside = target is not None and target.startswith(prefix + ".") if prefix else target is not None
    if isinstance(module, nn.Sequential):
        ops: list[Op] = []
        for name, child in module.named_children():
            sub, reached = _expand(child, _join(prefix, name), None if here else target)
            ops += sub
            if reached:
                return ops, True
        return ops, here
    if _is_residual(module) and inside and not here:
        return _expand(module.conv, _join(prefix, "conv"), target)  # target inside the branch: no skip yet
    if _is_features_classifier(module):
        ops, reached = _expand(module.features, _join(prefix, "features"), target)
        if reached:
            return ops, True
        pool = getattr(module, "avgpool", None)
        if isinstance(pool, nn.Module):  # an explicit pooling module, followed by a functional flatten
            ops += [(_join(prefix, "avgpool"), pool), (_join(prefix, "flatten"), nn.Flatten())]
            if target == _join(prefix, "avgpool"):
                return ops[:-1], True
        else:
            ops.append((_join(prefix, "avgpool+flatten"), GlobalAvgPool()))
        rest, reached = _expand(module.classifier, _join(prefix, "classifier"), target)
        return ops + rest, reached
    return [(prefix, module)], here


def _normalisation(model: nn.Module) -> Normalise | None:
    """The zoo model's input normalisation from its ``mean``/``std`` buffers (``None`` if it has none)."""
    buffers = dict(model.named_buffers(recurse=False))
    std = next((b for n, b in buffers.items() if n.lower().endswith("std")), None)
    mean = next((b for n, b in buffers.items() if n.lower().endswith("mean")), None)
    if std is None:
        return None
    return Normalise(torch.zeros_like(std) if mean is None else mean, std)


def forward_ops(model: nn.Module, layer: str) -> list[Op]:
    """The chain of modules from images in [0,1] to the output of ``layer`` (``"logits"``: the model output).

    Zoo models: ``Normalise`` then the ops of ``model.net``; plain modules: the ops of the module itself.
    Layer names are those of ``net.named_modules()`` (``features.17``, ``classifier.1``, ...).
    """
    target = None if layer == "logits" else layer
    root = getattr(model, "net", model)
    ops, reached = _expand(root, "", target)
    if target is not None and not reached:
        raise ValueError(f"layer {layer!r} is not on the forward chain of {type(root).__name__}")
    norm = _normalisation(model) if root is not model else None
    return ([("normalise", norm)] if norm is not None else []) + ops


# ---------------------------------------------------------------------------------------------------------------
# Bounds along the chain
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Step:
    """One factor of the product bound: ``bound`` >= the 2-norm Lipschitz constant of ``fn`` on its inputs."""

    name: str
    kind: str
    bound: float
    fn: Callable[[Tensor], Tensor] = field(repr=False)
    affine: bool = False
    children: list[Step] = field(default_factory=list)
    detail: dict[str, float] = field(default_factory=dict)
    linear: Callable[[Tensor], Tensor] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "bound": self.bound, **self.detail}
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out


_ONE_LIPSCHITZ = (nn.ReLU, nn.ReLU6, nn.Identity, nn.Flatten, nn.Tanh, nn.Hardtanh)
_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)


def _bn_scale(bn: nn.modules.batchnorm._BatchNorm) -> Tensor:
    r"""Eval-mode BatchNorm is :math:`x \mapsto \gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`: the
    per-channel scale :math:`\gamma/\sqrt{\sigma^2+\epsilon}`."""
    if bn.training or bn.running_var is None:
        raise ValueError("BatchNorm must be in eval mode with running statistics (call model.eval())")
    scale = 1.0 / torch.sqrt(bn.running_var.detach().double().cpu() + bn.eps)
    return scale * bn.weight.detach().double().cpu() if bn.weight is not None else scale


def _is_diagonal(op: Callable[[Tensor], Tensor]) -> bool:
    return isinstance(op, (Normalise, *_BATCHNORM))


def _diagonal(op: Callable[[Tensor], Tensor]) -> Tensor:
    return op.scale() if isinstance(op, Normalise) else _bn_scale(op)  # type: ignore[arg-type]


def _fold(op: nn.Conv2d | nn.Linear, scale_in: Tensor | None, scale_out: Tensor | None) -> Tensor:
    r"""Weight of ``diag(scale_out) . op . diag(scale_in)`` (per channel; conv groups respected)."""
    w = op.weight.detach().double().cpu().clone()
    if scale_out is not None:
        w *= scale_out.reshape(-1, *([1] * (w.ndim - 1)))
    if scale_in is not None:
        c_out, c_in_g = w.shape[:2]
        groups = getattr(op, "groups", 1)
        index = (torch.arange(c_out) // (c_out // groups))[:, None] * c_in_g + torch.arange(c_in_g)[None, :]
        w *= scale_in[index].reshape(c_out, c_in_g, *([1] * (w.ndim - 2)))
    return w


def _compose(fns: Sequence[Callable[[Tensor], Tensor]]) -> Callable[[Tensor], Tensor]:
    def fn(x: Tensor) -> Tensor:
        for f in fns:
            x = f(x)
        return x

    return fn


def _linear_step(name: str, ops: list[Op], sample: Tensor) -> Step:
    """Diagonals (normalisation / BatchNorm) folded into the neighbouring Conv2d/Linear, then its norm."""
    mods = [m for _, m in ops]
    core = next(m for m in mods if isinstance(m, (nn.Conv2d, nn.Linear)))
    i = mods.index(core)
    scale_in = _diagonal(mods[i - 1]) if i > 0 else None
    scale_out = _diagonal(mods[i + 1]) if i + 1 < len(mods) else None
    w = _fold(core, scale_in, scale_out)
    kind = " + ".join(type(m).__name__ for m in mods)
    if isinstance(core, nn.Linear):
        return Step(name, kind, linear_norm(w) * (1 + SAFETY), _compose(mods), True, linear=lambda x: x @ w.T)
    x_in = _compose(mods[:i])(sample)
    bounds = {"offset_bound": conv_offset_bound(w, core.groups), "frobenius_bound": conv_frobenius_bound(w)}
    if w.shape[2] * w.shape[3] > 1:  # a 1x1 kernel's offset bound is already exact
        bounds["fft_bound"] = conv_fft_bound(w, core.groups, tuple(x_in.shape[-2:]), _conv_padding(core), core.dilation)
    pad = core.padding if isinstance(core.padding, str) else _conv_padding(core)

    def linear(x: Tensor) -> Tensor:
        return F.conv2d(x, w, None, core.stride, pad, core.dilation, core.groups)

    return Step(name, kind, min(bounds.values()) * (1 + SAFETY), _compose(mods), True, detail=bounds, linear=linear)


def _group_ops(ops: list[Op]) -> list[list[Op]]:
    """Group [diagonal] + Conv2d/Linear + [BatchNorm] so that diagonal scalings fold into the weights."""
    groups: list[list[Op]] = []
    i = 0
    while i < len(ops):
        j = i
        if _is_diagonal(ops[i][1]) and i + 1 < len(ops) and isinstance(ops[i + 1][1], (nn.Conv2d, nn.Linear)):
            j = i + 1
        if isinstance(ops[j][1], (nn.Conv2d, nn.Linear)):
            if j + 1 < len(ops) and isinstance(ops[j + 1][1], _BATCHNORM):
                j += 1
            groups.append(ops[i : j + 1])
        else:
            groups.append([ops[i]])
        i = j + 1
    return groups


def _single_step(name: str, op: Callable[[Tensor], Tensor], sample: Tensor) -> Step:
    """The bound of one non-linear or structural op; unknown module types are refused."""
    kind = type(op).__name__
    if isinstance(op, _ONE_LIPSCHITZ) or isinstance(op, _DROPOUT) and not op.training:
        return Step(name, kind, 1.0, op)
    if isinstance(op, nn.LeakyReLU | nn.ELU):
        slope = abs(op.negative_slope if isinstance(op, nn.LeakyReLU) else op.alpha)
        return Step(name, kind, max(1.0, slope), op)
    if isinstance(op, nn.Sigmoid):
        return Step(name, kind, 0.25, op)
    if _is_diagonal(op):
        return Step(name, kind, float(_diagonal(op).abs().max()) * (1 + SAFETY), op, True)
    if isinstance(op, nn.MaxPool2d):
        return Step(name, kind, maxpool_bound(op), op)
    if isinstance(op, nn.AvgPool2d | nn.AdaptiveAvgPool2d | GlobalAvgPool):
        return Step(name, kind, schur_bound(op, sample) * (1 + SAFETY), op, True)
    if _is_residual(op):
        return _residual_step(name, op, sample)
    raise ValueError(
        f"no certified Lipschitz bound for module {name!r} of type {kind}; supported: Conv2d, Linear, BatchNorm, "
        "ReLU/ReLU6/LeakyReLU/ELU/Tanh/Sigmoid, max/avg/adaptive-avg pooling, Flatten, Dropout (eval), "
        "inverted residual blocks"
    )


def _residual_step(name: str, block: nn.Module, sample: Tensor) -> Step:
    r"""``x + g(x)``: :math:`\mathrm{Lip} \le 1 + \mathrm{Lip}(g)` (triangle inequality); without skip: ``Lip(g)``."""
    inner, _ = chain_steps(_expand(block.conv, _join(name, "conv"), None)[0], sample)
    prod = math.prod(s.bound for s in inner)
    skip = bool(block.use_res_connect)
    return Step(name, "residual 1 + prod" if skip else "block prod", prod + skip, block, children=inner)


def chain_steps(ops: list[Op], sample: Tensor) -> tuple[list[Step], Tensor]:
    """One :class:`Step` per (folded) op along the chain, and the chain's output on ``sample``."""
    steps: list[Step] = []
    x = sample
    with torch.no_grad():
        for group in _group_ops(ops):
            name = group[-1][0] if len(group) == 1 else f"{group[0][0]}..{group[-1][0]}"
            if len(group) > 1 or isinstance(group[0][1], (nn.Conv2d, nn.Linear)):
                step = _linear_step(name, group, x)
            else:
                step = _single_step(name, group[0][1], x)
            steps.append(step)
            x = step.fn(x)
    return steps, x


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
    from empirical.visualize import ActivationCapture

    with ActivationCapture(model, [layer]) as capture:
        return capture.run(images)[layer]


def lipschitz_upper_bound(
    model: nn.Module, layer: str, index: int, input_shape: Sequence[int], *, seed: int = 0
) -> LipschitzBound:
    """Certified upper bound on the 2-norm Lipschitz constant of the unit ``layer:index`` on ``[0,1]^d``.

    The chain of :func:`forward_ops` is run on two random images and compared with the model's own forward pass
    (``ValueError`` if they differ: then the structure walked is not the function computed, and no bound is
    certified).
    """
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


# ---------------------------------------------------------------------------------------------------------------
# The unit as a function: values, gradients, sampled lower bound
# ---------------------------------------------------------------------------------------------------------------
def _batches(images: Tensor, batch: int, progress: bool, desc: str) -> list[Tensor]:
    chunks = list(images.split(batch))
    return list(tqdm(chunks, desc=desc, leave=False, disable=not progress or len(chunks) < 2))


def unit_values(
    model: nn.Module, layer: str, index: int, images: Tensor, *, batch: int = 64, progress: bool = False
) -> np.ndarray:
    """``f(x)`` for each image (float64), computed as the visualization objective ``channel(layer, index)``."""
    from empirical.visualize import ActivationCapture

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
    from empirical.visualize import ActivationCapture

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


# ---------------------------------------------------------------------------------------------------------------
# Observations and certified ranges
# ---------------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------------
# Data, visualizations and the whole analysis
# ---------------------------------------------------------------------------------------------------------------
MODELS = {"fashion_cnn": "fashion", "mobilenet_v2": "imagenet"}


@dataclass
class BridgeData:
    """Natural test images (the query points ``x``) and an exemplar pool (disjoint from them), in [0,1]."""

    test: Tensor
    pool: Tensor | None
    source: dict[str, str]


def load_bridge_data(model_name: str, n_images: int, pool_size: int, seed: int = 0) -> BridgeData:
    """fashion_cnn: the first ``n_images`` Fashion-MNIST test images, exemplars from the first ``pool_size``
    training images. mobilenet_v2: the bundled photos, then random crops of them (seed ``seed``) up to
    ``n_images``; exemplars from other random crops (seed ``seed + 1``)."""
    from empirical import data

    if model_name == "fashion_cnn":
        test = data.natural_images("fashion").images[:n_images]
        pool = data.fashion_mnist("train")[0][:pool_size].float() / 255 if pool_size else None
        src = {"test": "Fashion-MNIST test split", "exemplar_pool": "Fashion-MNIST training split"}
        return BridgeData(test, pool, src)
    photos = data.natural_images("imagenet").images
    extra = max(0, n_images - len(photos))
    size = int(photos.shape[-1])
    test = torch.cat([photos[:n_images], data.random_crops(photos, extra, size, seed)]) if extra else photos[:n_images]
    pool = data.random_crops(photos, pool_size, size, seed + 1) if pool_size else None
    src = {"test": f"bundled photos + random crops (seed {seed})", "exemplar_pool": f"random crops (seed {seed + 1})"}
    return BridgeData(test, pool, src)


def _accepts_padded_frame(model: nn.Module, shape: Sequence[int]) -> bool:
    """Whether the model runs on the render's padded frame (``size + 2 pad``) or needs ``crop=True``."""
    from empirical.visualize import PAPER_DEFAULTS

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
    from empirical.visualize import PAPER_DEFAULTS, channel, image_seed, per_image, render

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


# ---------------------------------------------------------------------------------------------------------------
# Outputs: figure, Markdown, files
# ---------------------------------------------------------------------------------------------------------------
def plot(result: BridgeResult, path: Path, title: str) -> None:
    """Actual activation per image (sorted) against the certified interval and the what-if interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(result.actual)
    rank = np.arange(len(order))
    rep = result.report
    lip = rep["lipschitz"]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.fill_between(
        rank,
        result.certified[0][order],
        result.certified[1][order],
        step="mid",
        color="0.85",
        label=f"certified range, L = {lip['upper']['upper']:.3g} (upper bound)",
    )
    ax.fill_between(
        rank,
        result.what_if[0][order],
        result.what_if[1][order],
        step="mid",
        color="tab:blue",
        alpha=0.35,
        label=f"what-if range, L = {lip['what_if_L']:.3g} (sampled lower bound)",
    )
    ax.plot(rank, result.actual[order], ".", ms=3, color="k", label="actual activation")
    for y, style, name in (
        (rep["f_max"], "--", "f_max"),
        (rep["f_min"], "--", "f_min"),
        ((rep["f_max"] + rep["f_min"]) / 2, ":", "c"),
    ):
        ax.axhline(y, ls=style, lw=0.8, color="tab:red")
        ax.annotate(name, (len(order) - 1, y), fontsize=8, color="tab:red", va="bottom", ha="right")
    ax.set(xlabel="natural test image (sorted by activation)", ylabel="unit activation f(x)", title=title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)  # fmt: skip


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def markdown(report: dict[str, Any]) -> str:
    """A short Markdown summary of the report."""
    u, lip = report["unit"], report["lipschitz"]
    n = report["settings"]["images"]
    rows = []
    for key, name, L in (
        ("certified", "certified (upper bound)", lip["upper"]["upper"]),
        ("what_if", "what-if (sampled lower bound)", lip["what_if_L"]),
    ):
        s = report[key]
        shares = f"{_pct(s['share_max'])} / {_pct(s['share_min'])}"
        width = f"{s['width_median']:.4g} ({s['width_over_spread_median']:.3g}x spread)"
        rows.append(f"| {name} | {L:.4g} | {shares} | {width} | {s['contained']}/{n} |")
    need = report["needed_L"]
    obs = report["observations"]
    return "\n".join([
        f"## Bridge: {report.get('model', 'model')} unit {u['layer']}:{u['index']} (d = {u['d']})",
        "",
        f"Observations: {len(obs)} ({', '.join(o['label'] for o in obs[:2])}"
        + (f", {len(obs) - 2} exemplars" if len(obs) > 2 else "") + f"); f_max = {report['f_max']:.4g}, "
        f"f_min = {report['f_min']:.4g}, Delta = {report['delta']:.4g} (true FV values {obs[0]['true_value']:.4g}, "
        f"{obs[1]['true_value']:.4g}). Actual activations over {n} natural images: "
        f"[{report['actual']['min']:.4g}, {report['actual']['max']:.4g}], spread {report['actual']['spread']:.4g}.",
        "",
        f"Lipschitz constant (2-norm): certified upper bound {lip['upper']['upper']:.4g}, sampled lower bound "
        f"{lip['lower']['lower']:.4g} (gradients {lip['lower']['grad_max']:.4g}, quotients "
        f"{lip['lower']['quotient_max']:.4g}); ratio {lip['upper_over_lower']:.3g}. lower <= upper: "
        f"{lip['lower_le_upper']}.",
        "",
        "| L | value | certified closer to max / min | median width | actual in range |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Certified radius Delta/(2L) = {report['distances']['certified_radius']:.3g} against a median distance "
        f"{report['distances']['median_to_observations']:.3g} from a test image to its nearest observation. "
        + _needed_text(need, report["lipschitz"]["smallest_consistent"]),
        "",
        _premise_text(report),
    ])  # fmt: skip


def _needed_text(need: dict[str, Any], L_obs: float) -> str:
    if need["median"] == 0:
        return (
            f"Even the smallest L consistent with the observations ({L_obs:.4g}) certifies "
            f"{_pct(1 - need['share_never'])} of the images."
        )
    return (
        f"To certify half of the images, L would have to be at most {need['median']:.4g} "
        f"({need['L_upper_over_median']:.3g} times below the certified bound)."
    )


def _premise_text(report: dict[str, Any]) -> str:
    cert, n = report["certified"], report["settings"]["images"]
    out = report["actual"]["outside_fmin_fmax"]
    text = f"Lipschitz-only range (true values, no extremum premise) contains {cert['contained_unconditional']}/{n}."
    if out:
        text += f" {out} images lie outside [f_min, f_max]: there the visualizations are not global extrema."
    return text


def write_outputs(result: BridgeResult, out: Path, title: str) -> dict[str, Path]:
    """``bridge.json``, ``bridge.png`` and ``bridge.md`` in ``out``."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bridge.json", "figure": out / "bridge.png", "markdown": out / "bridge.md"}
    paths["json"].write_text(json.dumps(result.report, indent=2, default=float) + "\n")
    plot(result, paths["figure"], title)
    paths["markdown"].write_text(markdown(result.report) + "\n")
    return paths
