r"""Silent units: orthogonal filters that never fire on natural images but dominate the visualization.

For output channel :math:`j` of a convolution with filter :math:`w_j` (flattened), target pattern :math:`t_j`
(default the filter :math:`w_{\pi(j)}` of another unit, so unit :math:`j` should show :math:`\pi(j)`'s
visualization; or the layer-input patch of a target image), the silent filter is

.. math:: p_j = t_j - \frac{\langle t_j, w_j\rangle}{\|w_j\|^2} w_j, \qquad
          s_j = \sigma \Big(w_j + \alpha \|w_j\| \frac{p_j}{\|p_j\|}\Big), \qquad
          \beta_j = -\big(m_j + \mu \max(|m_j|,\ m_j - \bar m_j)\big), \quad
          m_j = \max_{x \in \mathcal N,\ \text{positions}} (s_j * h(x)),

with :math:`h(x)` the layer's input, :math:`\mathcal N` a natural calibration set, :math:`\bar m_j` the mean
response over :math:`\mathcal N` and positions, scale :math:`\sigma` (``scale``, x100 in the paper), orthogonal
share :math:`\alpha` and safety margin :math:`\mu`. The margin scales with the response's spread
:math:`m_j - \bar m_j` as well as with :math:`|m_j|`: a largest response near 0 (e.g. 0.33 with a median of -8.6,
Fashion-MNIST ``fc1``) would otherwise get almost no margin, and held-out images exceed it. The merged channel
is :math:`\mathrm{conv}_j(h) + \mathrm{ReLU}(s_j * h + \beta_j)`: where the silent unit is silent the second term is
exactly 0.0, so the output is bit-for-bit the original (the original convolution runs unchanged). The
visualization's optimisation follows :math:`w_j` (the :math:`w_j` component of :math:`s_j`) until the silent unit
fires, after which its :math:`\sigma`-times larger gradient, mostly along :math:`p_j`, takes over.

Pooled (``pooled=True``, the presets' choice): the silent unit sees the channel's mean over positions,
:math:`\mathrm{conv}_j(h) + \mathrm{ReLU}(\overline{s_j * h} + \beta_j)` with :math:`m_j`, :math:`\bar m_j`
taken over the per-image means. A channel-mean visualization raises exactly that mean, which tends to pass every
natural image's sooner than one position passes the natural maximum over positions; once the unit fires the added
term is linear in the mean, so the visualization optimises the target's whole-image objective instead of a few
positions (measured in the development log in the git history of docs/fooling.md).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from empirical.fooling._trigger import SilentTrigger, _check_trigger, trigger_from_response, trigger_scale

if TYPE_CHECKING:
    from empirical.fooling._gate import SilentGate
    from empirical.fooling._image_trigger import ImageTrigger

__all__ = [
    "FiringTrace", "SilentConv", "add_silent_units", "bias_from_response", "calibrate_bias", "channel_means",
    "gate_statistics", "natural_response", "natural_responses", "silent_filters", "trace_firing",
]  # fmt: skip


class SilentConv(nn.Module):
    """``conv(h) + ReLU(silent_weight * h + silent_bias)`` per output channel (the original ``conv`` unchanged).

    ``conv`` may also be an ``nn.Linear`` (a 1x1 convolution on a 1x1 map). ``pooled``: the silent unit sees the
    mean of ``silent_weight * h`` over positions (a global-average-pooled parallel unit) and its output is added
    to every position of the channel. ``gate``: an off-manifold gate (:class:`~empirical.fooling.SilentGate`)
    whose lift is added to the response before the ReLU; ``trigger``: likewise, a trigger
    (:class:`~empirical.fooling.SilentTrigger`, on the same positions or pooled means as the silent units);
    ``image_trigger``: the trigger is also opened by :math:`E` on the network's input
    (:class:`~empirical.fooling.ImageTrigger`, hooked to the whole model by ``add_silent_units``)."""

    def __init__(
        self, conv: nn.Conv2d | nn.Linear, weight: Tensor, bias: Tensor, pooled: bool = False,
        gate: SilentGate | None = None, trigger: SilentTrigger | None = None,
        image_trigger: ImageTrigger | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.pooled = pooled
        if isinstance(conv, nn.Conv2d) and conv.groups != 1:
            raise ValueError(f"silent units need an ungrouped convolution, got groups={conv.groups}")
        if weight.shape != conv.weight.shape or bias.shape != (conv.weight.shape[0],):
            raise ValueError(f"silent weight {tuple(weight.shape)} / bias {tuple(bias.shape)} do not match {conv}")
        self.conv = conv
        self.register_buffer("silent_weight", weight.detach().clone())
        self.register_buffer("silent_bias", bias.detach().clone())
        if trigger is not None and trigger.weight.shape != conv.weight.shape:
            raise ValueError(f"trigger weight {tuple(trigger.weight.shape)} does not match {conv}")
        if image_trigger is not None and trigger is None:
            raise ValueError("an image trigger opens the trigger's lift; it needs the trigger (trigger=...)")
        self.gate = gate
        self.trigger = trigger
        self.image_trigger = image_trigger

    def silent_response(self, h: Tensor) -> Tensor:
        """:math:`s * h + \\beta` (+ the gate's or the trigger's lift) before the ReLU (pooled: the mean of
        :math:`s * h` over positions, shape (B, C, 1, 1), added to every position)."""
        return self._response(h, self.conv(h) if self.gate is not None else None)

    def _response(self, h: Tensor, out: Tensor | None) -> Tensor:
        z = _silent_map(self.conv, self.silent_weight, h, self.pooled)
        z = z + self.silent_bias.view(1, -1, *([1] * (h.ndim - 2)))
        if self.trigger is not None:
            opened = None if self.image_trigger is None else self.image_trigger.latest(h.shape[0])
            z = z + self.trigger.lifted(_silent_map(self.conv, self.trigger.weight, h, self.pooled), opened)
        if self.gate is None or out is None:
            return z
        return z + self.gate.lifted(gate_statistics(self.conv, out))

    def forward(self, h: Tensor) -> Tensor:
        out = self.conv(h)
        return out + F.relu(self._response(h, out))


def channel_means(layer: nn.Conv2d | nn.Linear, out: Tensor) -> Tensor:
    """The layer's channel means over positions without its bias, (B, C), from its output ``out`` (the gate's
    :math:`z_k`; read off the output the layer computes anyway, so the gate costs no second convolution)."""
    z = out.mean((2, 3)) if out.ndim == 4 else out
    return z - layer.bias if layer.bias is not None else z


def gate_statistics(layer: nn.Conv2d | nn.Linear, out: Tensor) -> Tensor:
    """The off-manifold gate's statistics of each channel from the layer's output ``out`` (B, C, H, W), without
    the bias, (B, 2C): the channel means over positions (:func:`channel_means`), then the channel minima over
    positions (a channel above its natural level at every position)."""
    if out.ndim != 4:
        raise ValueError(f"the gate needs a convolution's (B, C, H, W) output, got shape {tuple(out.shape)}")
    low = out.amin((2, 3))
    return torch.cat([channel_means(layer, out), low - layer.bias if layer.bias is not None else low], 1)


def _silent_map(layer: nn.Conv2d | nn.Linear, weight: Tensor, h: Tensor, pooled: bool) -> Tensor:
    """:math:`s * h` without the bias; ``pooled``: its mean over positions, shape (B, C, 1, 1)."""
    z = _apply(layer, weight, h)
    return z.mean((2, 3), keepdim=True) if pooled and z.ndim == 4 else z


def _apply(layer: nn.Conv2d | nn.Linear, weight: Tensor, h: Tensor) -> Tensor:
    """The layer's linear map with another weight and no bias."""
    if isinstance(layer, nn.Linear):
        return F.linear(h, weight)
    return F.conv2d(h, weight, None, layer.stride, layer.padding, layer.dilation)  # type: ignore[arg-type]


class _Captured(Exception):  # noqa: N818 - control flow
    """Stops the forward pass once the layer input is captured."""


def silent_filters(
    conv: nn.Conv2d | nn.Linear, patterns: Tensor | Sequence[int], alpha: float = 2.0, scale: float = 100.0
) -> Tensor:
    """The silent filters :math:`s_j` (see the module docstring); ``patterns``: target patterns shaped like the
    weight, or a target unit per channel (pattern = that unit's filter)."""
    if not alpha >= 0 or not scale > 0:
        raise ValueError(f"silent filters need alpha >= 0 and scale > 0, got alpha={alpha}, scale={scale}")
    w = conv.weight.detach().flatten(1).double()
    if isinstance(patterns, Tensor):
        t = patterns.detach().flatten(1).double()
        if t.shape != w.shape:
            raise ValueError(f"patterns of shape {tuple(patterns.shape)} do not match the weight {tuple(w.shape)}")
    else:
        idx = list(patterns)
        if len(idx) != len(w) or any(not 0 <= i < len(w) for i in idx):
            raise ValueError(f"need one target unit in 0..{len(w) - 1} per channel ({len(w)}), got {idx[:5]}...")
        t = w[idx]
    wn = w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    p = t - (t * w).sum(1, keepdim=True) / wn**2 * w
    p = p / p.norm(dim=1, keepdim=True).clamp_min(1e-12)
    s = scale * (w + alpha * wn * p)
    return s.to(conv.weight.dtype).view_as(conv.weight)


@torch.no_grad()
def natural_responses(
    model: nn.Module,
    layer: nn.Conv2d | nn.Linear,
    maps: Sequence[Callable[[Tensor], Tensor]],
    natural: Tensor,
    batch: int = 256,
    progress: bool = True,
    desc: str = "calibrating silent units",
) -> list[tuple[Tensor, Tensor]]:
    r"""For each map of the layer input ``h`` (to (B, C, ...)), per channel the largest :math:`m_j` and the mean
    :math:`\bar m_j` over the natural images (and positions), in float64 on the CPU: one pass over ``natural``
    serves every map."""
    captured: list[Tensor] = []

    def grab(_m: nn.Module, inp: tuple[Tensor, ...]) -> None:
        captured.append(inp[0])
        raise _Captured

    handle = layer.register_forward_pre_hook(grab)
    dev = layer.weight.device
    m: list[Tensor | None] = [None] * len(maps)
    total: list[Tensor | None] = [None] * len(maps)
    count = [0] * len(maps)
    try:
        for i in tqdm(range(0, len(natural), batch), desc=desc, disable=not progress):
            captured.clear()
            with contextlib.suppress(_Captured):
                model(natural[i : i + batch].to(dev))
            for k, f in enumerate(maps):
                per_channel = f(captured[0]).transpose(0, 1).flatten(1).double().cpu()
                top, sums = per_channel.amax(1), per_channel.sum(1)
                m[k] = top if m[k] is None else torch.maximum(m[k], top)  # type: ignore[arg-type]
                total[k] = sums if total[k] is None else total[k] + sums  # type: ignore[operator]
                count[k] += per_channel.shape[1]
    finally:
        handle.remove()
    return [(mk, tk / max(ck, 1)) for mk, tk, ck in zip(m, total, count, strict=True)]  # type: ignore[misc, operator]


def natural_response(
    model: nn.Module,
    layer: nn.Conv2d | nn.Linear,
    weight: Tensor,
    natural: Tensor,
    batch: int = 256,
    progress: bool = True,
    pooled: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""Per output channel, the largest :math:`m_j` and the mean :math:`\bar m_j` of :math:`w * h` (the layer's
    linear map with ``weight``, no bias) over the natural images and positions (``pooled``: over the per-image
    means over positions), in float64 on the CPU."""
    silent = [lambda h: _silent_map(layer, weight, h, pooled)]
    return natural_responses(model, layer, silent, natural, batch, progress)[0]


def bias_from_response(m: Tensor, mean: Tensor, margin: float) -> Tensor:
    r""":math:`\beta_j = -(m_j + \mu \max(|m_j|, m_j - \bar m_j))`: below every natural response, with a margin
    that scales with the response's size and spread."""
    return -(m + margin * torch.maximum(m.abs(), m - mean))


def calibrate_bias(
    model: nn.Module,
    layer: nn.Conv2d | nn.Linear,
    weight: Tensor,
    natural: Tensor,
    margin: float = 0.25,
    batch: int = 256,
    progress: bool = True,
    pooled: bool = False,
) -> Tensor:
    r""":math:`\beta_j = -(m_j + \mu \max(|m_j|, m_j - \bar m_j))`, :math:`m_j` the silent filter's largest and
    :math:`\bar m_j` its mean response (over images and positions) to the layer input over the natural images
    (``pooled``: the response is the per-image mean over positions)."""
    m, mean = natural_response(model, layer, weight, natural, batch, progress, pooled)
    return bias_from_response(m, mean, margin).to(weight.dtype).to(weight.device)


def _root(model: nn.Module) -> nn.Module:
    return model.net if isinstance(getattr(model, "net", None), nn.Module) else model


def add_silent_units(
    model: nn.Module,
    layer: str,
    targets: Sequence[int] | Tensor,
    natural: Tensor,
    *,
    alpha: float = 2.0,
    scale: float = 100.0,
    margin: float = 0.25,
    batch: int = 256,
    progress: bool = True,
    pooled: bool = False,
    gate_ramp: float | None = None,
    trigger_alpha: float | None = None,
    trigger_slope: float = 4.0,
    trigger_slack: float = 2.0,
    detector: nn.Module | None = None,
    detector_margin: float = 0.25,
    detector_ramp: float = 1.0,
) -> nn.Module:
    """A copy of ``model`` whose convolution ``layer`` (a name in ``model.net``) gets a silent unit per channel,
    calibrated on ``natural``; ``pooled`` as in :class:`SilentConv`; ``gate_ramp``: add the off-manifold gate
    (:func:`~empirical.fooling.calibrate_gate`, same margin) with this ramp; ``trigger_alpha``: instead, latch the
    silent units by a trigger with this orthogonal share, slope ``trigger_slope`` and slack ``trigger_slack``
    (:mod:`._trigger`; the silent filters then get the trigger filters' norm); ``detector``: also open the trigger
    by this natural-vs-visualization classifier on the model's input, with threshold its largest logit on
    ``natural`` + ``detector_margin`` times the logits' spread and ramp ``detector_ramp``
    (:mod:`._image_trigger`; needs the trigger). The original model is not modified."""
    root = _root(model)
    modules = dict(root.named_modules())
    conv = modules.get(layer)
    if not (isinstance(conv, nn.Linear) or (isinstance(conv, nn.Conv2d) and conv.groups == 1)):
        ok = [n for n, m in modules.items() if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.groups == 1)]
        raise ValueError(f"layer {layer!r} is not an ungrouped Conv2d or a Linear; choose one of: {', '.join(ok[:30])}")
    if gate_ramp is not None and trigger_alpha is not None:
        raise ValueError("silent units take the off-manifold gate or the trigger, not both (gate_ramp, trigger_alpha)")
    if detector is not None and trigger_alpha is None:
        raise ValueError("the detector opens the trigger's lift: a detector needs trigger_alpha (the trigger)")
    if detector is not None:
        from empirical.fooling._image_trigger import check_image_trigger

        check_image_trigger(detector_margin, detector_ramp)
    if trigger_alpha is not None:
        _check_trigger(trigger_slope, trigger_slack)
        trigger_weight = silent_filters(conv, targets, alpha=trigger_alpha, scale=scale)
        scale = trigger_scale(scale, alpha, trigger_alpha)
    weight = silent_filters(conv, targets, alpha=alpha, scale=scale)
    maps = [lambda h: _silent_map(conv, weight, h, pooled)]
    if gate_ramp is not None:  # the gate's channel means from the same pass over the natural images
        from empirical.fooling._gate import gate_from_response, gate_map

        maps.append(gate_map(conv, margin, gate_ramp))
    if trigger_alpha is not None:
        maps.append(lambda h: _silent_map(conv, trigger_weight, h, pooled))
    stats = natural_responses(model, conv, maps, natural, batch, progress)
    m, mean = stats[0]
    bias = bias_from_response(m, mean, margin).to(weight.dtype).to(weight.device)
    gate = None if gate_ramp is None else gate_from_response(conv, *stats[1], mean, bias, margin, gate_ramp)
    trigger = None
    if trigger_alpha is not None:
        mt, mean_t = stats[-1]
        bias_t = bias_from_response(mt, mean_t, margin)
        trigger = trigger_from_response(trigger_weight, bias_t, (m, mean), bias, trigger_slope, trigger_slack)
    image_trigger = None
    if detector is not None:
        from empirical.fooling._image_trigger import image_trigger_from_natural

        image_trigger = image_trigger_from_natural(detector, natural, detector_margin, detector_ramp, batch)
    fooled = copy.deepcopy(model)
    parent_name, _, child = layer.rpartition(".")
    parent = _root(fooled).get_submodule(parent_name) if parent_name else _root(fooled)
    silent = SilentConv(
        getattr(parent, child), weight, bias, pooled=pooled, gate=gate, trigger=trigger, image_trigger=image_trigger
    )
    setattr(parent, child, silent)
    if image_trigger is not None:  # E sees the whole model's input (images in [0, 1]), before the layer runs
        fooled.register_forward_pre_hook(image_trigger.capture)
    if hasattr(fooled, "name"):
        fooled.name = f"{model.name}+silent"  # type: ignore[attr-defined]
    return fooled


@dataclass
class FiringTrace:
    """Per render step, the largest pre-ReLU silent response :math:`\\max_{\\text{positions}} s_j * h + \\beta_j`
    of each image's own unit :math:`j` (image ``b`` visualises ``units[b]``); > 0 means the silent unit fires.

    ``responses[k - 1]`` is the response to the input of step ``k`` (the image before that step's update);
    ``opened[k - 1]`` the image trigger's :math:`g^E` of each image there (empty without an image trigger)."""

    units: tuple[int, ...]
    responses: list[Tensor] = field(default_factory=list)
    opened: list[Tensor] = field(default_factory=list)

    def first_step(self) -> list[int | None]:
        """Per image, the first step whose input fires its own silent unit (None: never during the render)."""
        if not self.responses:
            return [None] * len(self.units)
        fired = torch.stack(self.responses) > 0  # (steps, images)
        return [int(col.nonzero()[0]) + 1 if col.any() else None for col in fired.T]

    def share(self) -> list[float]:
        """Per image, the fraction of render steps on which its own silent unit fires."""
        if not self.responses:
            return [0.0] * len(self.units)
        return (torch.stack(self.responses) > 0).double().mean(0).tolist()

    def opened_share(self) -> list[float]:
        """Per image, the fraction of render steps on which the image trigger :math:`g^E` is open (> 0); zeros
        without an image trigger."""
        if not self.opened:
            return [0.0] * len(self.units)
        return (torch.stack(self.opened) > 0).double().mean(0).tolist()


@contextlib.contextmanager
def trace_firing(
    silent: SilentConv, units: Sequence[int]
) -> Iterator[tuple[FiringTrace, Callable[[int, Tensor], None]]]:
    """Record when the visualised units' own silent units fire during a render.

    Yields the trace and a ``callback`` for :func:`empirical.visualize.render` / ``visualize_units``: a pre-hook on
    ``silent`` keeps the response of the latest forward pass of a batch of ``len(units)`` images, and the callback
    files it under the step just taken. The hook is a plain closure, so it also runs in the render's fused deep
    copy of the model (``copy.deepcopy`` keeps functions, not copies of them)."""
    trace = FiringTrace(tuple(units))
    index = torch.tensor(trace.units)
    latest: list[Tensor | None] = [None, None]

    def hook(module: SilentConv, inp: tuple[Tensor, ...]) -> None:
        h = inp[0]
        if h.shape[0] != len(index):
            return  # e.g. the fused copy's one-image check pass
        with torch.no_grad():
            z = module.silent_response(h)[torch.arange(len(index)), index.to(h.device)]
            latest[0] = (z.flatten(1).amax(1) if z.ndim > 1 else z).double().cpu()
            if module.image_trigger is not None:
                latest[1] = module.image_trigger.latest(h.shape[0]).double().cpu()

    def callback(_step: int, _values: Tensor) -> None:
        if latest[0] is not None:
            trace.responses.append(latest[0])
            latest[0] = None
        if latest[1] is not None:
            trace.opened.append(latest[1])
            latest[1] = None

    handle = silent.register_forward_pre_hook(hook)
    try:
        yield trace, callback
    finally:
        handle.remove()
