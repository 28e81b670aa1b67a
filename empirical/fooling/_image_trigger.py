r"""The image trigger of silent units: the natural-vs-visualization classifier :math:`E` opens the trigger from step 1.

A trigger (:mod:`._trigger`) only opens once the visualization's response to its filter passes every natural
image's. On MobileNetV2 that takes 10-39 render steps, and what those steps lay down stays in the visualization
(the development log in the git history of docs/fooling.md: with every trigger forced open from the first step, 23
of 24 units are fooled
against 21 of 24). The layer's own signals are off the natural manifold for about one step. The network's input
is off it for the whole render, and :math:`E` (:class:`~empirical.fooling.Detector`) says so. The image trigger
feeds :math:`E`'s logit :math:`e(x)` on the network's input :math:`x` (a branch from the input to the layer) into
the trigger's ramp:

.. math:: g^E(x) = \min\Big(1,\ \mathrm{ReLU}\Big(\frac{e(x) - \tau}{\omega}\Big)\Big), \qquad
          \tau = \max(M, 0) + \mu_E \max(|M|,\ M - \bar M), \quad M = \max_{x \in \mathcal N} e(x),

with :math:`\mathcal N` the natural calibration set, :math:`\bar M` its mean logit, margin :math:`\mu_E` (scaled
by the logits' spread, as the silent units' bias is: a small, overconfident E spreads natural logits 4x wider than
a larger one, and held-out images pass a fixed margin; never below :math:`E`'s own decision boundary, since an
overconfident :math:`E` puts all natural logits far below 0 and a held-out image can still land above :math:`M`
plus the margin) and ramp width :math:`\omega` in logit units. The silent
unit is lifted by :math:`\lambda_j \max(g_j(h), g^E(x))`. On every natural image with
:math:`e(x) \le \tau` (every calibration image by construction) :math:`g^E = 0.0` exactly, so the unit is the
triggered silent unit, exactly 0.0 where that one is. As in the fooling circuit, no gradient flows through
:math:`E`: it switches the lift, and the silent filter drives the visualization.

The whole model's forward pre-hook :meth:`ImageTrigger.capture` keeps :math:`g^E` of the latest input, and the
silent layer reads it (:meth:`ImageTrigger.latest`). The hook is a bound method of this module, so a deep copy of
the model (e.g. the render's fused copy) calls its own copy.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

__all__ = ["ImageTrigger", "check_image_trigger", "image_trigger_from_natural"]


class ImageTrigger(nn.Module):
    """:math:`g^E` (see the module docstring): ``detector`` maps images in [0, 1] to logits (N,), ``threshold``
    :math:`\\tau`, ``width`` :math:`\\omega`; ``natural_max`` the largest natural logit it was calibrated on."""

    def __init__(self, detector: nn.Module, threshold: float, width: float, natural_max: float) -> None:
        super().__init__()
        if not width > 0:
            raise ValueError(f"image trigger ramp width must be positive, got {width}")
        if not threshold >= natural_max:
            raise ValueError(f"image trigger threshold {threshold} is below the natural maximum {natural_max}")
        self.detector = detector
        self.register_buffer("threshold", torch.tensor(float(threshold)))
        self.register_buffer("width", torch.tensor(float(width)))
        self.register_buffer("natural_max", torch.tensor(float(natural_max)))
        self._latest: Tensor | None = None

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """:math:`g^E` per image, (N,), detached."""
        x = (self.detector(images) - self.threshold) / self.width
        return x.clamp(0.0, 1.0)  # not ReLU(x) - ReLU(x - 1): that rounds to 0 for x beyond 2^24 in float32

    def capture(self, _module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        """Forward pre-hook of the whole model: keep :math:`g^E` of the images it is called on."""
        self._latest = self(inputs[0])

    def latest(self, batch: int) -> Tensor:
        """:math:`g^E` of the model's current input, checked to be for a batch of ``batch`` images."""
        if self._latest is None or self._latest.shape[0] != batch:
            have = None if self._latest is None else self._latest.shape[0]
            raise RuntimeError(
                f"the image trigger has no value for this batch of {batch} (it has {have}): the silent layer ran "
                "outside the model the image trigger is hooked to (add_silent_units(..., detector=...))"
            )
        return self._latest


def check_image_trigger(margin: float, width: float) -> None:
    """The image trigger's settings, checked by ``add_silent_units`` before any calibration."""
    if not margin >= 0:
        raise ValueError(f"image trigger margin (detector_margin) must be >= 0, got {margin}")
    if not width > 0:
        raise ValueError(f"image trigger ramp width (detector_ramp) must be positive, got {width}")


@torch.no_grad()
def image_trigger_from_natural(
    detector: nn.Module, natural: Tensor, margin: float, width: float, batch: int = 256
) -> ImageTrigger:
    """The image trigger on a frozen eval-mode copy of ``detector``, with :math:`\\tau` = its largest logit
    :math:`M` over ``natural``, but at least its decision boundary 0, + ``margin`` times the logits' spread
    :math:`\\max(|M|, M - \\bar M)`."""
    check_image_trigger(margin, width)
    det = copy.deepcopy(detector).eval().requires_grad_(False)
    dev = next(iter(det.parameters()), natural).device
    e = torch.cat([det(natural[i : i + batch].to(dev)) for i in range(0, len(natural), batch)])
    m, mean = float(e.max()), float(e.mean())
    return ImageTrigger(det, max(m, 0.0) + margin * max(abs(m), m - mean), width, m)
