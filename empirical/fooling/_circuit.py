r"""The fooling circuit (Geirhos et al. 2024, official notebook).

Every fooled unit :math:`i` of a layer (default the logits) is replaced by

.. math:: A_i = B_i + C_i, \qquad B_i = \mathrm{ReLU}(F_i + c - kE), \qquad
          C_i = \mathrm{ReLU}(D_i + c_D + kE - k),

with :math:`F_i` the original unit, :math:`D_i` the target unit (another unit :math:`F_{\pi(i)}` of the same layer,
the paper's permutation experiment, or a *template unit* :math:`s\langle x - 0.5, \hat t\rangle` whose weights
are a target image :math:`t`), and :math:`E \in \{0, 1\}` the thresholded output of the natural-vs-visualization
classifier (no gradient flows through it). Defaults :math:`c = 100`, :math:`k = 250`.

* Natural input (:math:`E = 0`): :math:`A_i = F_i + c` whenever :math:`F_i + c > 0` and :math:`D_i + c_D < k`;
  every output moves by the same :math:`c`, so argmax, top-k and accuracy are unchanged.
* Visualization input (:math:`E = 1`): :math:`A_i = \mathrm{ReLU}(D_i + c_D)` whenever :math:`F_i + c < k`;
  only :math:`D_i` drives the optimisation.

:math:`c_D` (``target_offset``) is 0 in the notebook. The default here is :math:`c_D = c`: with
:math:`c_D = 0` a target unit that is negative on the initial noise image (common for logits) gets no gradient
through the ReLU and the visualization never moves. For a layer other than the logits, the circuit's output
replaces the layer's output inside the network (a forward hook on a copy of the model) and the constant
:math:`c` is subtracted (``subtract_shift``) so that the following layers see :math:`F` on natural input.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.fooling._detector import Detector

__all__ = ["FoolingCircuit", "cyclic_targets"]

LOGITS = "logits"


def cyclic_targets(n_units: int, block: int | None = None) -> list[int]:
    r"""The permutation :math:`\pi(i) = b + (i - b + 1) \bmod m` within consecutive blocks of ``block`` units
    (:math:`b` the block start; the last block may be shorter): every unit shows its neighbour's visualization and
    the targets of a block are in the block. ``block=None``: one cycle over all units."""
    m = n_units if block is None else block
    if n_units < 2 or m < 2:
        raise ValueError(f"a permutation target needs at least 2 units per cycle, got {n_units} units, block {m}")
    out = []
    for i in range(n_units):
        b = (i // m) * m
        size = min(m, n_units - b)
        out.append(b + (i - b + 1) % size if size > 1 else (i + 1) % n_units)
    return out


class FoolingCircuit(nn.Module):
    """The fooled model: same interface as the zoo's ``ZooModel`` (``input_size``, ``layer_names``, ...).

    Args:
        model: the original model (images in [0, 1] -> logits), not modified for ``layer="logits"``.
        detector: the classifier :math:`E` (logit > 0 = visualization).
        targets: for each unit of ``layer``, the index of its target unit, or -1 for a template unit.
        templates: ``{unit: target image (C, H, W) in [0, 1]}`` for the units with target -1 (logits only).
        c, k, target_offset: the circuit's constants (``target_offset=None``: :math:`c_D = c`).
        template_scale: :math:`s` of the template units.
    """

    def __init__(
        self,
        model: nn.Module,
        detector: Detector,
        targets: Sequence[int],
        *,
        layer: str = LOGITS,
        templates: dict[int, Tensor] | None = None,
        c: float = 100.0,
        k: float = 250.0,
        target_offset: float | None = None,
        template_scale: float = 1.0,
        subtract_shift: bool | None = None,
    ) -> None:
        super().__init__()
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        templates = dict(templates or {})
        targets = [int(t) for t in targets]
        n = len(targets)
        bad = [t for t in targets if not -1 <= t < n]
        if bad:
            raise ValueError(f"targets must be unit indices in 0..{n - 1} or -1 (template), got {bad[:5]}")
        missing = [i for i, t in enumerate(targets) if t == -1 and i not in templates]
        if missing:
            raise ValueError(f"units {missing[:5]} have target -1 but no template image")
        if templates and layer != LOGITS:
            raise ValueError("template targets are supported on the logits only")
        self.layer = layer
        self.model = model if layer == LOGITS else copy.deepcopy(model)
        self.detector = detector
        self.c, self.k = float(c), float(k)
        self.target_offset = self.c if target_offset is None else float(target_offset)
        self.subtract_shift = (layer != LOGITS) if subtract_shift is None else bool(subtract_shift)
        self.template_scale = float(template_scale)
        self.register_buffer("targets", torch.tensor(targets, dtype=torch.long))
        units = sorted(templates)
        self.template_units = units
        if units:
            shapes = {tuple(templates[u].shape) for u in units}
            if len(shapes) != 1:
                raise ValueError(f"template images must share one shape, got {sorted(shapes)}")
            t = torch.stack([templates[u].float() for u in units]) - 0.5
            t = t / t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            self.register_buffer("template_weights", t)
        else:
            self.register_buffer("template_weights", torch.zeros(0))
        for name in ("name", "input_size", "class_names"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))
        self.name = f"{getattr(model, 'name', type(model).__name__)}+circuit"
        self._e: Tensor | None = None
        self._last_parts: tuple[Tensor, Tensor, Tensor] | None = None
        if layer != LOGITS:
            self._module(layer).register_forward_hook(self._hook)

    # --- ZooModel-like interface -------------------------------------------------------------------------------
    def layer_names(self) -> list[str]:
        if callable(getattr(self.model, "layer_names", None)):
            return list(self.model.layer_names())
        return [n for n, _ in self.model.named_modules() if n] + [LOGITS]

    def get_layer(self, name: str) -> nn.Module:
        return self if name == LOGITS else self._module(name)

    def _module(self, name: str) -> nn.Module:
        if callable(getattr(self.model, "get_layer", None)):
            return self.model.get_layer(name)
        modules = dict(self.model.named_modules())
        if name not in modules or not name:
            raise ValueError(f"unknown layer {name!r}; layers: {', '.join(self.layer_names())}")
        return modules[name]

    @torch.no_grad()
    def activations(self, images: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        handles = [
            self._module(n).register_forward_hook(lambda _m, _i, o, n=n: out.__setitem__(n, o.detach()))
            for n in layers
            if n != LOGITS
        ]
        try:
            logits = self(images)
        finally:
            for h in handles:
                h.remove()
        out[LOGITS] = logits
        return {n: out[n] for n in layers}

    # --- the circuit -------------------------------------------------------------------------------------------
    def template_response(self, images: Tensor) -> Tensor:
        r""":math:`s\langle \tilde x - 0.5, \hat t\rangle` per template unit, :math:`\tilde x` the image resized to
        the template size (N, n_templates)."""
        t = self.template_weights
        x = images
        if x.shape[-2:] != t.shape[-2:]:
            x = F.interpolate(x, size=t.shape[-2:], mode="bilinear", antialias=True)
        return self.template_scale * torch.einsum("nchw,tchw->nt", x - 0.5, t.to(x.dtype))

    def target_units(self, f: Tensor, images: Tensor | None) -> Tensor:
        """:math:`D`: the target unit of every unit (channel ``targets[i]`` of ``f``; template units on logits)."""
        d = f.index_select(1, self.targets.clamp_min(0))
        if self.template_units:
            assert images is not None
            d = d.clone()
            d[:, self.template_units] = self.template_response(images).to(d.dtype)
        return d

    def combine(self, f: Tensor, d: Tensor, e: Tensor) -> Tensor:
        """:math:`A = \\mathrm{ReLU}(F + c - kE) + \\mathrm{ReLU}(D + c_D + kE - k)` (minus :math:`c` if asked)."""
        e = e.view(-1, *([1] * (f.ndim - 1))).to(f.dtype)
        a = F.relu(f + self.c - self.k * e) + F.relu(d + self.target_offset + self.k * e - self.k)
        return a - self.c if self.subtract_shift else a

    def _hook(self, _module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        if self._e is None:
            return output
        d = self.target_units(output, None)
        self._last_parts = (output.detach(), d.detach(), self._e)
        return self.combine(output, d, self._e)

    def forward(self, images: Tensor) -> Tensor:
        e = self.detector.is_visualization(images)
        if self.layer == LOGITS:
            f = self.model(images)
            d = self.target_units(f, images)
            self._last_parts = (f.detach(), d.detach(), e)
            return self.combine(f, d, e)
        self._e = e
        try:
            return self.model(images)
        finally:
            self._e = None

    @torch.no_grad()
    def parts(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:math:`(F, D, E)` for a batch (what the preconditions are checked on)."""
        self(images)
        assert self._last_parts is not None
        return self._last_parts
