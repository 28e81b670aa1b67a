"""The natural images of the bridge: query points and the exemplar pool."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from empirical import data

MODELS = {"fashion_cnn": "fashion", "mobilenet_v2": "imagenet", "inceptionv1": "imagenet"}


@dataclass
class BridgeData:
    """Natural test images (the query points ``x``) and an exemplar pool (disjoint from them), in [0,1]."""

    test: Tensor
    pool: Tensor | None
    source: dict[str, str]


def load_bridge_data(model_name: str, n_images: int, pool_size: int, seed: int = 0) -> BridgeData:
    """fashion_cnn: the first ``n_images`` Fashion-MNIST test images, exemplars from the first ``pool_size``
    training images. ImageNet models (mobilenet_v2, inceptionv1): the bundled photos, then random crops of them
    (seed ``seed``) up to ``n_images``; exemplars from other random crops (seed ``seed + 1``)."""
    if model_name == "fashion_cnn":
        test = data.natural_images("fashion").images[:n_images]
        pool = data.fashion_mnist("train")[0][:pool_size].float() / 255 if pool_size else None
        src = {"test": "Fashion-MNIST test split", "exemplar_pool": "Fashion-MNIST training split"}
        return BridgeData(test, pool, src)
    photos = data.natural_images("imagenet").images
    extra = max(0, n_images - len(photos))
    size = int(photos.shape[-1])
    test = torch.cat([photos[:n_images], data.random_crops(photos, extra, size, seed)]) if extra else photos[:n_images]
    pool = data.random_crops(photos, pool_size, size, seed + 1) if pool_size else None
    src = {"test": f"bundled photos + random crops (seed {seed})", "exemplar_pool": f"random crops (seed {seed + 1})"}
    return BridgeData(test, pool, src)
