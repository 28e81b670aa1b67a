"""Inception-V1 (GoogLeNet) with torchvision's parameter names, for users who supply ImageNet weights.

torchvision's pretrained GoogLeNet was trained with ``transform_input=True``; this wrapper applies ImageNet
normalisation itself, which is equivalent. Auxiliary classifiers are not built (they are unused at inference).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from empirical.models._classes import imagenet_wnids
from empirical.models._resnet50 import require_weights
from empirical.models._zoo import IMAGENET_MEAN, IMAGENET_STD, ZooModel, imagenet_class_names, load_weights, register


class BasicConv2d(nn.Module):
    def __init__(self, inp: int, out: int, **kw: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, out, bias=False, **kw)
        self.bn = nn.BatchNorm2d(out, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, inp: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(inp, c1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(inp, c3r, kernel_size=1), BasicConv2d(c3r, c3, kernel_size=3, padding=1)
        )
        # torchvision uses a 3x3 convolution in the "5x5" branch; kept for weight compatibility
        self.branch3 = nn.Sequential(
            BasicConv2d(inp, c5r, kernel_size=1), BasicConv2d(c5r, c5, kernel_size=3, padding=1)
        )
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv2d(inp, pool, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            x = getattr(self, name)(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))


@register("inception_v1")
def load_inception_v1(weights: str | Path | None = None) -> ZooModel:
    require_weights("inception_v1", weights)
    net = GoogLeNet()
    if weights != "random":
        load_weights(net, weights, skip=("aux",))  # type: ignore[arg-type]
    src = "random initialisation" if weights == "random" else f"user weights {weights}"
    return ZooModel(
        "inception_v1",
        net,
        (3, 224, 224),
        imagenet_class_names(),
        IMAGENET_MEAN,
        IMAGENET_STD,
        source=src,
        wnids=imagenet_wnids(),
    )
