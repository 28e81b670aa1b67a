"""The module structure from images in [0,1] to a layer, as a chain of operators with a bound per factor."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.bridge._inception import (
    AvgPool7,
    Branches,
    SamePad,
    inception_ops,
    is_inceptionv1,
    lrn_bound,
    lrn_constants,
    maxpool_same_bound,
)
from empirical.bridge._norms import (
    SAFETY,
    _conv_padding,
    conv_fft_bound,
    conv_frobenius_bound,
    conv_offset_bound,
    linear_norm,
    maxpool_bound,
    schur_bound,
)

Op = tuple[str, Callable[[Tensor], Tensor]]


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
    ops, reached = inception_ops(root, target) if is_inceptionv1(root) else _expand(root, "", target)  # type: ignore[arg-type]
    if target is not None and not reached:
        raise ValueError(f"layer {layer!r} is not on the forward chain of {type(root).__name__}")
    norm = _normalisation(model) if root is not model else None
    return ([("normalise", norm)] if norm is not None else []) + ops


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
    if (same_pool := maxpool_same_bound(op)) is not None:  # type: ignore[arg-type]
        return Step(name, kind, same_pool, op)
    if isinstance(op, SamePad):  # zero padding: an isometry
        return Step(name, kind, 1.0, op, True)
    if (lrn := lrn_constants(op)) is not None:  # type: ignore[arg-type]
        return Step(name, kind, lrn_bound(*lrn), op, detail={"size": lrn[0], "beta": lrn[2], "k": lrn[3]})
    if isinstance(op, nn.AvgPool2d | nn.AdaptiveAvgPool2d | GlobalAvgPool | AvgPool7):
        return Step(name, kind, schur_bound(op, sample) * (1 + SAFETY), op, True)
    if _is_residual(op):
        return _residual_step(name, op, sample)
    if isinstance(op, Branches):
        return _branches_step(name, op, sample)
    raise ValueError(
        f"no certified Lipschitz bound for module {name!r} of type {kind}; supported: Conv2d, Linear, BatchNorm, "
        "ReLU/ReLU6/LeakyReLU/ELU/Tanh/Sigmoid, max/avg/adaptive-avg pooling, Flatten, Dropout (eval), "
        "inverted residual blocks, InceptionV1's mixed blocks and local response norms"
    )


def _residual_step(name: str, block: nn.Module, sample: Tensor) -> Step:
    r"""``x + g(x)``: :math:`\mathrm{Lip} \le 1 + \mathrm{Lip}(g)` (triangle inequality); without skip: ``Lip(g)``."""
    inner, _ = chain_steps(_expand(block.conv, _join(name, "conv"), None)[0], sample)
    prod = math.prod(s.bound for s in inner)
    skip = bool(block.use_res_connect)
    return Step(name, "residual 1 + prod" if skip else "block prod", prod + skip, block, children=inner)


def _branches_step(name: str, block: Branches, sample: Tensor) -> Step:
    r"""Branches concatenated: :math:`\|(g_b(x) - g_b(y))_b\|^2 = \sum_b \|g_b(x) - g_b(y)\|^2`, so
    :math:`\mathrm{Lip} \le \sqrt{\sum_b \mathrm{Lip}(g_b)^2}`."""
    children = []
    for branch, ops in block.branches:
        inner, _ = chain_steps(ops, sample)
        children.append(Step(branch, "branch prod", math.prod(s.bound for s in inner), block, children=inner))
    bound = math.sqrt(sum(c.bound**2 for c in children)) * (1 + SAFETY)
    return Step(name, "concatenation sqrt(sum of squares)", bound, block, children=children)


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
