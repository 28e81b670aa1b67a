"""ResNet-50 with torchvision's parameter names, for users who supply ImageNet weights (none ship offline)."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from empirical.models._classes import imagenet_wnids
from empirical.models._zoo import IMAGENET_MEAN, IMAGENET_STD, ZooModel, imagenet_class_names, load_weights, register


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp: int, width: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + idt)


class ResNet50(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp = 64
        for i, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=1):
            down = nn.Sequential(nn.Conv2d(inp, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4))
            layers = [Bottleneck(inp, width, stride, down)]
            inp = width * 4
            layers += [Bottleneck(inp, width) for _ in range(blocks - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def require_weights(name: str, weights: str | Path | None) -> None:
    if weights is None:
        raise ValueError(
            f"no {name} weights ship offline: pass a path to a torchvision-compatible state dict "
            f"(load_model({name!r}, weights='PATH'), or --weights PATH), or weights='random' for an untrained net"
        )


@register("resnet50")
def load_resnet50(weights: str | Path | None = None) -> ZooModel:
    require_weights("resnet50", weights)
    net = ResNet50()
    if weights != "random":
        load_weights(net, weights)  # type: ignore[arg-type]
    src = "random initialisation" if weights == "random" else f"user weights {weights}"
    return ZooModel(
        "resnet50",
        net,
        (3, 224, 224),
        imagenet_class_names(),
        IMAGENET_MEAN,
        IMAGENET_STD,
        source=src,
        wnids=imagenet_wnids(),
    )
