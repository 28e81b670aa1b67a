"""Defaults of the path-similarity analysis, in one place (each is a parameter; reasons in ``docs/paths.md``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

__all__ = [
    "DEFAULT_LAYERS",
    "FV_DEFAULTS",
    "IMAGES_PER_CLASS",
    "PATH_DEFAULTS",
    "FVSettings",
    "PathSettings",
    "default_layers",
    "fv_settings",
]


@dataclass(frozen=True)
class PathSettings:
    """Settings of :func:`empirical.paths.path_similarity`.

    Attributes:
        metric: ``"spearman"`` (the paper's), ``"pearson"`` or ``"cosine"``.
        pooling: ``"mean"`` (average each channel over space: one value per channel, input-size independent)
            or ``"flatten"`` (every activation; position-sensitive).
        images_per_class: natural images per class in each of the three disjoint roles (reference, held-out,
            control), so up to ``3 * images_per_class`` images of each class are used.
        n_bootstrap: bootstrap replicates for the confidence intervals (classes and images resampled).
        image_buckets: the images of each (role, class) are spread round robin over this many buckets, whose running
            sums the image-level bootstrap resamples (memory grows linearly with it; 1: class-only bootstrap).
        confidence: two-sided level of the percentile intervals.
        seed: shuffling of the natural images and bootstrap.
        batch_size: images per forward pass while streaming.
    """

    metric: str = "spearman"
    pooling: str = "mean"
    images_per_class: int = 300
    n_bootstrap: int = 2000
    image_buckets: int = 10
    confidence: float = 0.95
    seed: int = 0
    batch_size: int = 250

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FVSettings:
    """Rendering of the class (logit) visualizations: ``steps`` Adam steps, ``fv_per_class`` images per class
    (seeds ``seed, seed + 1, ...``), ``small_transforms``: pad 2 / jitter 3 / scale 0.95-1.05 / rotate +-5 deg /
    jitter 2 instead of Lucent's 224-px set (which would shift a 28-px image by half its width)."""

    steps: int = 512
    fv_per_class: int = 1
    seed: int = 0
    crop: bool = True
    small_transforms: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


PATH_DEFAULTS = PathSettings()
FV_DEFAULTS = FVSettings()

#: Layers analysed by default, from input to output.
DEFAULT_LAYERS: dict[str, tuple[str, ...]] = {
    "fashion_cnn": ("conv1", "conv2", "conv3", "fc1", "logits"),
    "mobilenet_v2": tuple(f"features.{i}" for i in range(19)) + ("logits",),
    "efficientnet_lite0": ("_bn0", *(f"_blocks.{i}" for i in range(16)), "_bn1", "logits"),
    "resnet50": ("conv1", "layer1", "layer2", "layer3", "layer4", "logits"),
}

#: Visualization settings per model (others: the paper's at the model's input size).
_FV: dict[str, FVSettings] = {
    "fashion_cnn": FVSettings(steps=256, fv_per_class=4, small_transforms=True),
    "mobilenet_v2": FVSettings(steps=512, fv_per_class=1),
    "efficientnet_lite0": FVSettings(steps=512, fv_per_class=1),
}

#: Natural images per class and role for models whose natural set is a few photos plus crops of each.
IMAGES_PER_CLASS: dict[str, int] = {"fashion_cnn": 300, "mobilenet_v2": 32}


def default_layers(model: nn.Module) -> list[str]:
    """:data:`DEFAULT_LAYERS` for zoo models; otherwise the direct children of ``model.net`` plus ``"logits"``."""
    name = getattr(model, "name", "")
    if name in DEFAULT_LAYERS:
        return list(DEFAULT_LAYERS[name])
    net = getattr(model, "net", model)
    return [n for n, _ in net.named_children()] + ["logits"]


def fv_settings(model_name: str) -> FVSettings:
    """Visualization settings for a zoo model name (the paper's otherwise)."""
    return _FV.get(model_name, FVSettings())
