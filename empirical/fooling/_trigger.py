r"""The trigger of silent units: a silent unit with a small orthogonal share latches one with a large share.

Without a gate the orthogonal share :math:`\alpha` trades firing against direction (the development log in the git
history of docs/fooling.md):
the silent unit fires once the visualization's response to :math:`s_j` passes every natural image's, which a
small :math:`\alpha` reaches sooner (the visualization's optimisation raises :math:`w_j * h`, the share of
:math:`s_j` it already follows), while only a large :math:`\alpha` makes the visualization follow the target once
the unit fires. The trigger keeps both. Its filter :math:`T_j` is the silent filter with share :math:`\alpha_T`
(:func:`~empirical.fooling.silent_filters`), its bias :math:`\beta^T_j` is calibrated like a silent unit's, and
its clipped ramp

.. math:: g_j(h) = \min\Big(1,\ \mathrm{ReLU}\Big(\frac{T_j * h + \beta^T_j}{\omega_j}\Big)\Big), \qquad
          \omega_j = \lambda_j / r,

lifts the silent unit with the large share: :math:`\mathrm{ReLU}(s_j * h + \beta_j + \lambda_j g_j(h))`, with
:math:`\lambda_j = -\beta_j - \bar m_j + \kappa \max(|m_j|, m_j - \bar m_j)` (slack :math:`\kappa`;
:math:`\kappa = 0` is the gate's lift, :class:`~empirical.fooling.SilentGate`). The lift
:math:`\lambda_j g_j = \min(\lambda_j, r\,\mathrm{ReLU}(T_j * h + \beta^T_j))` rises :math:`r` times as fast as the
trigger's response (slope :math:`r`), so while it rises its gradient is :math:`r` times the trigger filter's,
which has the silent filter's norm: a steep ramp is a gradient spike that inflates Adam's second-moment estimate
and can stall the visualization where it stands. On every natural image the trigger's response is below zero,
so :math:`g_j = 0.0` exactly and the unit is the ungated silent unit with share :math:`\alpha`, exactly 0.0 where
that one is. Where the trigger has fired fully the unit is
:math:`\mathrm{ReLU}(s_j * h - \bar m_j + \kappa\,\mathrm{spread}_j)`: it fires unless the image responds to
:math:`s_j` well below the average natural image, and its gradient points along :math:`s_j`, mostly the target.
Unlike the gate's, the ramp's own gradient points along :math:`T_j`, which also leans towards the target.

The silent filter is scaled to the trigger's norm (``add_silent_units``): at the trigger's scale its gradient would
be :math:`\sqrt{(1 + \alpha^2) / (1 + \alpha_T^2)}` times the trigger's (7 for :math:`\alpha = 16`,
:math:`\alpha_T = 2`), and that jump, when the unit starts firing, inflates Adam's second-moment estimate so that
the visualization stops moving (measured in the development log in the git history of docs/fooling.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SilentTrigger", "trigger_scale"]


class SilentTrigger(nn.Module):
    """:math:`g_j` of each channel from the trigger filters' map (see the module docstring): ``weight`` the
    trigger filters :math:`T_j` (shaped like the layer's weight), ``bias`` :math:`\\beta^T_j`, ``width``
    :math:`\\omega_j` and ``lift`` :math:`\\lambda_j`, one per channel."""

    def __init__(self, weight: Tensor, bias: Tensor, width: Tensor, lift: Tensor) -> None:
        super().__init__()
        c = weight.shape[0]
        if any(t.shape != (c,) for t in (bias, width, lift)):
            raise ValueError(
                f"trigger bias {tuple(bias.shape)}, width {tuple(width.shape)} and lift {tuple(lift.shape)} must "
                f"have one entry per channel of the trigger weight {tuple(weight.shape)}"
            )
        if not bool((width > 0).all()):
            raise ValueError(f"trigger ramp widths must be positive, got minimum {float(width.min())}")
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", bias.detach().clone())
        self.register_buffer("width", width.detach().clone())
        self.register_buffer("lift", lift.detach().clone())

    def _per_channel(self, t: Tensor, ndim: int) -> Tensor:
        return t.view(1, -1, *([1] * (ndim - 2)))

    def forward(self, a: Tensor) -> Tensor:
        """:math:`g` from the trigger filters' map ``a`` = :math:`T * h` without bias, (B, C, ...)."""
        x = (a + self._per_channel(self.bias, a.ndim)) / self._per_channel(self.width, a.ndim)
        return F.relu(x) - F.relu(x - 1.0)  # min(1, ReLU(x))

    def lifted(self, a: Tensor, opened: Tensor | None = None) -> Tensor:
        """:math:`\\lambda g`, shaped like ``a``: added to the silent units' response. ``opened``: a per-image
        opening in [0, 1] (N,), e.g. the image trigger's :math:`g^E`; the lift is then
        :math:`\\lambda \\max(g, g^E)`."""
        g = self.forward(a)
        if opened is not None:
            g = torch.maximum(g, opened.to(g.dtype).view(-1, *([1] * (a.ndim - 1))))
        return self._per_channel(self.lift, a.ndim) * g


def trigger_scale(scale: float, alpha: float, trigger_alpha: float) -> float:
    r"""The silent filters' scale that gives them the trigger filters' norm:
    :math:`\sigma \sqrt{(1 + \alpha_T^2) / (1 + \alpha^2)}` (``silent_filters`` has
    :math:`\|s_j\| = \sigma \|w_j\| \sqrt{1 + \alpha^2}`)."""
    return scale * ((1.0 + trigger_alpha**2) / (1.0 + alpha**2)) ** 0.5


def _check_trigger(slope: float, slack: float) -> None:
    """The trigger's settings, checked by ``add_silent_units`` before any calibration."""
    if not slope > 0:
        raise ValueError(f"trigger slope must be positive, got {slope}")
    if not slack >= 0:
        raise ValueError(f"trigger slack must be >= 0, got {slack}")


def trigger_from_response(
    weight: Tensor, bias: Tensor, silent: tuple[Tensor, Tensor], silent_bias: Tensor, slope: float, slack: float
) -> SilentTrigger:
    r"""The trigger from its filters ``weight`` and calibrated ``bias``, and the silent units' natural largest and
    mean responses ``silent`` and biases (for the lift :math:`\lambda`, with ``slack`` :math:`\kappa`); ramp widths
    :math:`\lambda / r` with ``slope`` :math:`r` (both checked by ``add_silent_units``)."""
    silent_m, silent_mean = silent
    spread = torch.maximum(silent_m.abs(), silent_m - silent_mean)
    lift = (-silent_bias.detach().double().cpu() - silent_mean + slack * spread).clamp_min(1e-12)
    dtype, dev = weight.dtype, weight.device
    return SilentTrigger(weight, bias.to(dtype).to(dev), (lift / slope).to(dtype).to(dev), lift.to(dtype).to(dev))
