"""A small Fashion-MNIST CNN that the project trains itself (cached under ``empirical.cache_dir()``).

Architecture (names are layers): conv1 (1->16, 3x3) relu1 conv2 (16->32) relu2 pool1 conv3 (32->64) relu3 pool2
avgpool (adaptive, 7x7, so padded visualization frames are accepted) flatten fc1 (3136->128) relu4 fc2 (128->10).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from empirical._cache import cache_dir
from empirical.models._zoo import ZooModel, load_state, register

log = logging.getLogger(__name__)
FASHION_MEAN, FASHION_STD = (0.2860,), (0.3530,)
WEIGHTS_NAME = "fashion_cnn_v1.pt"


def fashion_net() -> nn.Sequential:
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 16, 3, padding=1)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(16, 32, 3, padding=1)), ("relu2", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(32, 64, 3, padding=1)), ("relu3", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ("avgpool", nn.AdaptiveAvgPool2d(7)), ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(64 * 49, 128)), ("relu4", nn.ReLU()), ("fc2", nn.Linear(128, 10)),
    ]))  # fmt: skip


def _wrap(net: nn.Module, source: str) -> ZooModel:
    from empirical.data import FASHION_CLASSES

    return ZooModel("fashion_cnn", net, (1, 28, 28), FASHION_CLASSES, FASHION_MEAN, FASHION_STD, source=source)


@torch.no_grad()
def evaluate(model: ZooModel, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """Top-1 accuracy on uint8 or [0,1] float images."""
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        x = images[i : i + batch]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x
        correct += int((model(x).argmax(1) == labels[i : i + batch]).sum())
    return correct / len(images)


def train_fashion_cnn(
    epochs: int = 3, seed: int = 0, batch: int = 128, lr: float = 2e-3, progress: bool = True, out: Path | None = None
) -> dict[str, Any]:
    """Train on the 60,000 training images (Adam, cosine learning rate), report test accuracy, save weights."""
    from tqdm import tqdm

    from empirical.data import fashion_mnist

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(threads, 2))
    x_tr, y_tr = fashion_mnist("train")
    x_te, y_te = fashion_mnist("test")
    model = _wrap(fashion_net(), "trained by fvtrust (train_fashion_cnn)")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x_tr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    quiet = not progress or not sys.stderr.isatty()
    bar = tqdm(total=steps, desc="training fashion_cnn", unit="step", disable=quiet, leave=False)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x_tr), generator=g)
        for i in range(0, len(x_tr), batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(model(x_tr[idx].float() / 255.0), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    seconds = time.perf_counter() - t0
    acc = evaluate(model, x_te, y_te)
    path = out or cache_dir() / WEIGHTS_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(model.net.state_dict(), tmp)
    tmp.replace(path)
    torch.set_num_threads(threads)
    return {"test_accuracy": acc, "train_seconds": seconds, "epochs": epochs, "weights": str(path)}


@register("fashion_cnn")
def load_fashion_cnn(weights: str | Path | None = None) -> ZooModel:
    net = fashion_net()
    if weights == "random":
        return _wrap(net, "random initialisation")
    path = Path(weights) if weights is not None else cache_dir() / WEIGHTS_NAME
    if weights is None and not path.exists():
        log.warning("fashion_cnn: no cached weights at %s; training now (a few minutes on 2 cores)", path)
        print(f"fashion_cnn: no cached weights at {path}; training it now (a few minutes on 2 CPU cores)")
        train_fashion_cnn()
    net.load_state_dict(load_state(path))
    return _wrap(net, f"trained by fvtrust, weights {path}")
