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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

__all__ = [
    "SAFETY",
    "LipschitzBound",
    "Normalise",
    "Step",
    "conv_fft_bound",
    "conv_frobenius_bound",
    "conv_offset_bound",
    "forward_ops",
    "lipschitz_upper_bound",
    "linear_norm",
    "maxpool_bound",
    "schur_bound",
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
    """torchvision MobileNet-style net: ``classifier(flatten(adaptive_avg_pool(features(x), 1)))``."""
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
    bounds = {
        "offset_bound": conv_offset_bound(w, core.groups),
        "frobenius_bound": conv_frobenius_bound(w),
        "fft_bound": conv_fft_bound(w, core.groups, tuple(x_in.shape[-2:]), _conv_padding(core), core.dilation),
    }
    if w.shape[2] * w.shape[3] == 1:  # 1x1 kernel: exact
        bounds["fft_bound"] = bounds["offset_bound"]
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
