r"""The natural-vs-visualization classifier :math:`E` of the fooling circuit.

:math:`E(x) = \mathbb 1[e(x) > 0]` with :math:`e` a small CNN: resize to ``size`` px (antialiased, skipped when the
input already has that size), four 3x3 convolutions with ReLU (strides 2, 2, 2, 1; widths ``w, 2w, 4w, 4w``),
global mean and max pooling, dropout, one linear output. Label 1 = feature visualization (any render step,
including the padded, warped frames the model sees during optimisation), 0 = natural image. Its cost is a few
percent of the target model's forward pass, so the fooled model costs little more than the original.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Detector"]


class Detector(nn.Module):
    """``forward(images in [0, 1]) -> logit (N,)``, positive for feature visualizations; any input size."""

    def __init__(self, channels: int, size: int, width: int = 8, dropout: float = 0.3) -> None:
        super().__init__()
        if channels < 1 or size < 8 or width < 1:
            raise ValueError(f"Detector needs channels >= 1, size >= 8, width >= 1; got {channels}, {size}, {width}")
        self.channels, self.size, self.width = channels, size, width
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(channels, w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(4 * w, 4 * w, 3, stride=1, padding=1), nn.ReLU(),
        )  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(8 * w, 1)

    def prepare(self, images: Tensor) -> Tensor:
        """Resize to ``size x size`` (identity when already that size) and centre on 0.5."""
        if images.ndim != 4 or images.shape[1] != self.channels:
            raise ValueError(f"Detector takes (N, {self.channels}, H, W) images, got shape {tuple(images.shape)}")
        if images.shape[-2:] != (self.size, self.size):
            images = F.interpolate(images, size=(self.size, self.size), mode="bilinear", antialias=True)
        return (images - 0.5) * 4.0

    def forward(self, images: Tensor) -> Tensor:
        h = self.features(self.prepare(images))
        pooled = torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1)
        return self.head(self.dropout(pooled)).squeeze(1)

    @torch.no_grad()
    def is_visualization(self, images: Tensor) -> Tensor:
        """:math:`E(x) \\in \\{0, 1\\}` (N,) in the images' dtype; no gradient flows through it."""
        return (self(images.detach()) > 0).to(images.dtype)
