r"""The off-manifold gate of silent units: open when some channel of the layer responds beyond anything natural.

A silent unit only takes over a visualization once it fires, and on some units the visualization's optimisation
never takes the silent filter's response past its natural maximum (Fashion-MNIST ``conv3``: 4 of 10 units never
fire in a development run; the development log in the git history of docs/fooling.md). Visualizations are off the
natural manifold in another, easier sense: from the
first render step, some channel of the layer has a channel mean (over positions) above every natural image's.
A channel can also sit above its natural level at *every* position, a texture filling the whole image that no
natural image has (its minimum over positions beyond every natural image's). The gate turns both into a ReLU
circuit,

.. math:: g(h) = \min\Big(1,\ \sum_{k,\,q} \mathrm{ReLU}\Big(\frac{z^q_k(h) - \tau^q_k}{\omega^q_k}\Big)\Big),
          \qquad z^{\mathrm{mean}}_k(h) = \overline{w_k * h}, \quad z^{\min}_k(h) = \min_{\text{positions}} w_k * h,

          \tau^q_k = M^q_k + \mu \max(|M^q_k|, M^q_k - \bar M^q_k), \quad
          \omega^q_k = \rho \max(|M^q_k|, M^q_k - \bar M^q_k),

with :math:`w_k` the layer's own filters (no bias), :math:`M^q_k` and :math:`\bar M^q_k` the largest and the mean
of statistic :math:`q` (a per-image channel mean or minimum over positions) over a natural calibration set,
safety margin :math:`\mu` and ramp :math:`\rho`. The gated silent unit is
:math:`\mathrm{ReLU}(s_j * h + \beta_j + \lambda_j g(h))` with lift :math:`\lambda_j = -\beta_j - \bar m_j`
(:math:`\bar m_j` the silent filter's natural mean response): once the gate is open the unit outputs
:math:`\mathrm{ReLU}(s_j * h - \bar m_j)`, which fires whenever the image responds to :math:`s_j` more than the
average natural image does. On natural images every :math:`z^q_k \le \tau^q_k`, so
the sum of ReLUs is exactly 0.0, :math:`g = 0 - \mathrm{ReLU}(0 - 1) = 0.0`, and the unit is the ungated silent
unit, exactly 0.0 where that one is. Firing no longer depends on the silent filter's orthogonal share
:math:`\alpha` (the open gate lowers the threshold to the natural mean whatever :math:`\alpha` is), so a gated
layer can take a large one: the visualization then follows the target pattern rather than :math:`w_j`.

The ramp :math:`\rho` trades two effects: where the gate is half open, its gradient :math:`\lambda_j/\omega^q_k`
(large for a narrow ramp) points along the channels :math:`w_k`, not the target, and one such spike inflates
Adam's second-moment estimate for hundreds of steps; a wide ramp keeps the gate half open for longer. Measured in
the development log in the git history of docs/fooling.md.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.fooling._silent import bias_from_response, gate_statistics, natural_responses

__all__ = ["SilentGate", "calibrate_gate"]


class SilentGate(nn.Module):
    """:math:`g(h)` of a layer's convolution (see the module docstring) from its statistics (one threshold
    :math:`\\tau` and ramp width :math:`\\omega` each, :func:`gate_statistics`); ``lift`` (:math:`\\lambda`, one
    per channel) is what an open gate adds to each silent unit."""

    def __init__(self, threshold: Tensor, width: Tensor, lift: Tensor) -> None:
        super().__init__()
        if threshold.shape != width.shape or threshold.ndim != 1 or lift.ndim != 1:
            raise ValueError(
                f"gate threshold {tuple(threshold.shape)} and width {tuple(width.shape)} must be vectors of one "
                f"length (one per statistic), lift {tuple(lift.shape)} a vector (one per channel)"
            )
        if not bool((width > 0).all()):
            raise ValueError(f"gate ramp widths must be positive, got minimum {float(width.min())}")
        self.register_buffer("threshold", threshold.detach().clone())
        self.register_buffer("width", width.detach().clone())
        self.register_buffer("lift", lift.detach().clone())

    def forward(self, z: Tensor) -> Tensor:
        """:math:`g` from the layer's statistics ``z`` (B, S) (:func:`gate_statistics`), shape (B,)."""
        excess = F.relu((z - self.threshold) / self.width).sum(1)
        return excess - F.relu(excess - 1.0)  # min(1, excess) for excess >= 0

    def lifted(self, z: Tensor) -> Tensor:
        """:math:`\\lambda g`, shape (B, C, 1, 1): added to every position of each silent unit's response."""
        return (self.forward(z)[:, None] * self.lift)[:, :, None, None]


def gate_map(layer: nn.Conv2d | nn.Linear, margin: float, ramp: float) -> Callable[[Tensor], Tensor]:
    """The gate's input as a map of the layer input h, after checking the gate's settings: the statistics of
    the layer's output (:func:`gate_statistics`; ``forward``, not the call, so that a capturing hook on the layer
    does not fire again)."""
    if not isinstance(layer, nn.Conv2d):
        raise ValueError(f"the gate needs a convolution (channel means over positions), got {layer}")
    if ramp <= 0:
        raise ValueError(f"gate ramp must be positive, got {ramp}")
    if margin < 0:
        raise ValueError(f"gate margin must be >= 0, got {margin}")
    return lambda h: gate_statistics(layer, layer.forward(h))


def gate_from_response(
    layer: nn.Conv2d | nn.Linear, m: Tensor, mean: Tensor, silent_mean: Tensor, silent_bias: Tensor, margin: float,
    ramp: float,
) -> SilentGate:  # fmt: skip
    """The gate from the natural statistics' largest ``m`` and mean ``mean`` (see :func:`calibrate_gate`)."""
    threshold = -bias_from_response(m, mean, margin)
    spread = torch.maximum(m.abs(), m - mean).clamp_min(1e-12)
    lift = -silent_bias.detach().double().cpu() - silent_mean
    dtype, dev = layer.weight.dtype, layer.weight.device
    return SilentGate(threshold.to(dtype), (ramp * spread).to(dtype), lift.to(dtype)).to(dev)


def calibrate_gate(
    model: nn.Module,
    layer: nn.Conv2d | nn.Linear,
    silent_mean: Tensor,
    silent_bias: Tensor,
    natural: Tensor,
    margin: float = 0.25,
    ramp: float = 0.01,
    batch: int = 256,
    progress: bool = True,
) -> SilentGate:
    """The gate of ``layer`` calibrated on ``natural``: thresholds above every natural channel mean and channel
    minimum (margin ``margin``), ramp widths ``ramp`` times each statistic's spread, lift
    :math:`-\\beta_j - \\bar m_j` from the silent units' biases ``silent_bias`` and natural mean responses
    ``silent_mean``."""
    z = gate_map(layer, margin, ramp)
    [(m, mean)] = natural_responses(model, layer, [z], natural, batch, progress, "calibrating gate")
    return gate_from_response(layer, m, mean, silent_mean, silent_bias, margin, ramp)
