"""Natural images: ImageNet class folders on disk, photos inside PyPI wheels and Fashion-MNIST from Debian."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from empirical.data._evaluate import (
    check_evaluate_settings,
    compare_models,
    evaluate_folder,
    evaluate_model,
    summarize,
    wilson_interval,
)
from empirical.data._fashion import FASHION_CLASSES, fashion_mnist, read_idx
from empirical.data._imagenet import (
    ImageFolderData,
    check_image_file,
    image_folder,
    imagenet_wnids,
    load_image,
    output_wnids,
)
from empirical.data._photos import PHOTOS, random_crops, to_tensor


@dataclass(frozen=True)
class NaturalImages:
    """Images in [0, 1] (N, C, H, W), labels (N,) or None (-1 where unknown), a name per image, and the names of
    the classes the labels index (``class_names[labels[i]]``)."""

    images: Tensor
    labels: Tensor | None
    names: list[str]
    class_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def natural_images(kind: str = "imagenet", *, split: str = "test", size: int = 224) -> NaturalImages:
    """``"imagenet"``: the bundled photos at ``size`` px with their reference ImageNet label (-1 if none);
    ``"fashion"``: the Fashion-MNIST split as floats in [0, 1]."""
    if kind == "imagenet":
        names = list(PHOTOS)
        imgs = torch.stack([to_tensor(PHOTOS[n][0](), size) for n in names])
        labels = torch.tensor([PHOTOS[n][1][0] if PHOTOS[n][1] else -1 for n in names])
        from empirical.models._zoo import imagenet_class_names

        return NaturalImages(imgs, labels, names, imagenet_class_names())
    if kind == "fashion":
        x, y = fashion_mnist(split)
        return NaturalImages(x.float() / 255.0, y, [f"{split}{i}" for i in range(len(y))], list(FASHION_CLASSES))
    raise ValueError(f"kind {kind!r} is not one of 'imagenet', 'fashion'")


__all__ = [
    "FASHION_CLASSES",
    "PHOTOS",
    "ImageFolderData",
    "NaturalImages",
    "check_image_file",
    "compare_models",
    "check_evaluate_settings",
    "evaluate_folder",
    "evaluate_model",
    "fashion_mnist",
    "image_folder",
    "imagenet_wnids",
    "load_image",
    "natural_images",
    "output_wnids",
    "random_crops",
    "summarize",
    "read_idx",
    "to_tensor",
    "wilson_interval",
]
