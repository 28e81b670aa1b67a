r"""The forward chain of Lucid's InceptionV1 (``inceptionv1``) for the certified Lipschitz bound.

InceptionV1 is not a sequence of modules: its ``forward`` runs the stem, then nine mixed blocks whose four branches
are concatenated. Here it is walked as a chain: stem ops, then one :class:`Branches` op per mixed block (bound
:math:`\sqrt{\sum_b L_b^2}`: the squared norms of the concatenated parts add), then the head. A unit inside a block
(``mixed4a_3x3``, ``mixed4a_3x3_pre_relu_conv``, ...) is reached through its branch only; a channel of a block's
output (``mixed4a:k``) is the channel of the one branch that produces it (:func:`resolve_concat`).

Bounds of the ops that are InceptionV1's own:

* the "SAME" zero padding of ``conv2d0`` (:class:`SamePad`): an isometry, so 1;
* the "SAME" max pools: :math:`\sqrt{m}` as for any max pool, ``m`` the largest number of windows sharing a pixel;
* the local response norm :math:`b_c = a_c D_c^{-\beta}`, :math:`D_c = k + \gamma S_c`, :math:`S_c =
  \sum_{c' \in W(c)} a_{c'}^2`, :math:`\gamma = \alpha/n`, window :math:`|W(c)| \le n`: its Jacobian is
  :math:`\mathrm{diag}(D^{-\beta}) - T` with :math:`T_{cc'} = 2\beta\gamma a_c a_{c'} D_c^{-\beta-1}` for
  :math:`c' \in W(c)`. With :math:`|a_c a_{c'}| \le S_c/2` (:math:`c \ne c'`, both in the window) or
  :math:`\le S_c` (:math:`c = c'`) and :math:`\gamma S_c / D_c < 1`, :math:`D_c \ge k`, every entry is at most
  :math:`\beta k^{-\beta}` (twice that on the diagonal), so row and column sums are at most
  :math:`\beta (n + 1) k^{-\beta}` and :math:`\|J\|_2 \le k^{-\beta} (1 + \beta (n + 1))` (Schur test): 6 for
  InceptionV1's constants (:func:`lrn_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from empirical.models._inceptionv1 import (
    LRN,
    MIXED,
    AvgPool7,
    InceptionV1,
    LocalResponseNorm,
    MaxPoolSame,
    SameConv2d,
    pad_same,
)

Op = tuple[str, Callable[[Tensor], Tensor]]

#: Stride-2 max pools before the named mixed block (InceptionV1's structure).
_POOL_BEFORE = {"mixed3a": "maxpool1", "mixed4a": "maxpool4", "mixed5a": "maxpool10"}
#: The branches of a mixed block, in concatenation order: (output ReLU, the units of the branch in order).
_BRANCHES = (("1x1", ("1x1",)), ("3x3", ("3x3_bottleneck", "3x3")), ("5x5", ("5x5_bottleneck", "5x5")),
             ("pool_reduce", ("pool", "pool_reduce")))  # fmt: skip


class SamePad(nn.Module):
    """TensorFlow's "SAME" zero padding in front of a stride-2 convolution (a linear isometry)."""

    def __init__(self, kernel: int, stride: int, padding: str) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return pad_same(x, self.kernel, self.stride, 0.0, self.padding)


class Branches(nn.Module):
    """A mixed block: the branches (each a chain of ops) on the same input, concatenated along channels."""

    def __init__(self, branches: list[tuple[str, list[Op]]]) -> None:
        super().__init__()
        self.branches = branches

    def forward(self, x: Tensor) -> Tensor:
        outs = []
        for _, ops in self.branches:
            y = x
            for _, op in ops:
                y = op(y)
            outs.append(y)
        return torch.cat(outs, 1)


def is_inceptionv1(module: nn.Module) -> bool:
    return isinstance(module, InceptionV1)


def lrn_bound(size: int, alpha: float, beta: float, k: float) -> float:
    """Certified 2-norm Lipschitz bound of a local response norm (module docstring); ``alpha`` does not enter."""
    del alpha
    return k**-beta * (1 + beta * (size + 1))


def lrn_constants(op: nn.Module) -> tuple[int, float, float, float] | None:
    """(size, alpha, beta, k) of a local response norm module (InceptionV1's or torch's), else None."""
    if isinstance(op, LocalResponseNorm):
        return int(LRN["size"]), float(LRN["alpha"]), float(LRN["beta"]), float(LRN["k"])
    if isinstance(op, nn.LocalResponseNorm):
        return int(op.size), float(op.alpha), float(op.beta), float(op.k)
    return None


def maxpool_same_bound(op: nn.Module) -> float | None:
    r""":math:`\sqrt{m}` for InceptionV1's "SAME" max pool (``m``: windows sharing a pixel), else None."""
    if not isinstance(op, MaxPoolSame):
        return None
    return float(min(op.kernel, math.ceil(op.kernel / op.stride)))  # sqrt(m) with m = per-axis count squared


def _conv_ops(net: InceptionV1, name: str) -> list[Op]:
    """``{name}_pre_relu_conv`` (a stride-2 "SAME" conv split into padding and an unpadded conv) and ReLU ``name``."""
    conv = getattr(net, f"{name}_pre_relu_conv")
    if isinstance(conv, SameConv2d):
        plain = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.stride[0])
        plain.weight, plain.bias = conv.weight, conv.bias  # the same parameters, no padding of its own
        pad = SamePad(conv.kernel_size[0], conv.stride[0], conv.same)
        ops: list[Op] = [(f"{name}_pre_relu_conv.pad", pad), (f"{name}_pre_relu_conv", plain)]
    else:
        ops = [(f"{name}_pre_relu_conv", conv)]
    return ops + [(name, getattr(net, name))]


def _branch_ops(net: InceptionV1, block: str) -> list[tuple[str, list[Op]]]:
    out = []
    for out_name, units in _BRANCHES:
        ops: list[Op] = []
        for unit in units:
            full = f"{block}_{unit}"
            ops += [(full, getattr(net, full))] if unit == "pool" else _conv_ops(net, full)
        out.append((f"{block}_{out_name}", ops))
    return out


def _cut(ops: list[Op], target: str | None) -> tuple[list[Op], bool]:
    """``ops`` up to and including ``target``; reached?"""
    for i, (name, _) in enumerate(ops):
        if name == target:
            return ops[: i + 1], True
    return ops, False


def inception_ops(net: InceptionV1, target: str | None) -> tuple[list[Op], bool]:
    """The ops of ``net`` in forward order up to and including ``target`` (``None``: all, the logits)."""
    ops: list[Op] = [*_conv_ops(net, "conv2d0"), ("maxpool0", net.maxpool0)]
    ops.append(("localresponsenorm0", net.localresponsenorm0))
    ops += _conv_ops(net, "conv2d1") + _conv_ops(net, "conv2d2") + [("localresponsenorm1", net.localresponsenorm1)]
    done, reached = _cut(ops, target)
    if reached:
        return done, True
    for block, *_ in MIXED:
        if block in _POOL_BEFORE:
            ops.append((_POOL_BEFORE[block], getattr(net, _POOL_BEFORE[block])))
            if target == _POOL_BEFORE[block]:
                return ops, True
        branches = _branch_ops(net, block)
        for _, branch in branches:
            part, reached = _cut(branch, target)
            if reached:  # a unit inside the block: it sees only its own branch
                return ops + part, True
        ops.append((block, Branches(branches)))
        if target == block:
            return ops, True
    ops += [("avgpool0", net.avgpool0), ("softmax2_pre_activation_matmul", net.softmax2_pre_activation_matmul)]
    return _cut(ops, target) if target is not None else (ops, True)


def resolve_concat(model: nn.Module, layer: str, index: int) -> tuple[str, int]:
    """A channel of an InceptionV1 mixed block (``mixed4a``, ``k``) as the channel of the branch that produces it
    (e.g. ``mixed4a_3x3``, ``k - 192``: the same function of the image); any other unit unchanged."""
    net = getattr(model, "net", model)
    if not is_inceptionv1(net) or layer not in {m[0] for m in MIXED}:
        return layer, index
    offset = 0
    for out_name, _ in _BRANCHES:
        conv = getattr(net, f"{layer}_{out_name}_pre_relu_conv")
        if index < offset + conv.out_channels:
            return f"{layer}_{out_name}", index - offset
        offset += conv.out_channels
    raise ValueError(f"unit {index} is out of range for {layer} with {offset} units (0..{offset - 1})")


__all__ = [
    "AvgPool7",
    "Branches",
    "SamePad",
    "inception_ops",
    "is_inceptionv1",
    "lrn_bound",
    "lrn_constants",
    "maxpool_same_bound",
    "resolve_concat",
]
