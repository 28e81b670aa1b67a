"""A tiny zoo model for the path tests (no weights to download or train)."""

from __future__ import annotations

import torch
from torch import nn

from empirical.models._zoo import ZooModel


def toy_zoo(n_classes: int = 6, size: int = 16) -> ZooModel:
    """A seeded 2-conv classifier on ``(3, size, size)`` images with layers ``"0"`` and ``"2"`` (convolutions)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, n_classes),
    )  # fmt: skip
    model = ZooModel("toy", net, (3, size, size), [f"c{i}" for i in range(n_classes)], (0.5,) * 3, (0.25,) * 3)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
