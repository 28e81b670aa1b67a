"""A small Fashion-MNIST CNN that the project trains itself (cached under ``empirical.cache_dir()``).

Architecture (names are layers): conv1 (1->16, 3x3) relu1 conv2 (16->32) relu2 pool1 conv3 (32->64) relu3 pool2
avgpool (adaptive, 7x7, so padded visualization frames are accepted) flatten fc1 (3136->128) relu4 fc2 (128->10).

The cached weights are the cache entry :data:`WEIGHTS_KEY` (``empirical._cache``: written atomically, sha256 in the
manifest, checked before every load). A missing entry is trained on first use; a damaged one (changed bytes, or
weights that do not fit the network) is retrained with a warning naming it, or, with ``build=False``, not used:
the model is returned untrained and its ``source`` says why. Training settings are checked before any work:
``epochs`` in ``1..MAX_EPOCHS``, ``seed`` in ``0..MAX_SEED``, ``out`` a file that can be written (an existing
file only if it is a torch weights file: anything else is never overwritten).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from empirical._cache import cache_path, load_entry, save_entry, write_atomic
from empirical.models._zoo import ZooModel, load_weights, register

log = logging.getLogger(__name__)
FASHION_MEAN, FASHION_STD = (0.2860,), (0.3530,)
#: Cache key of the trained weights (``cache_dir() / WEIGHTS_KEY``).
WEIGHTS_KEY = "fashion_cnn_v1.pt"
WEIGHTS_NAME = WEIGHTS_KEY  # the old name
#: Most epochs one call trains (3 reach 91% test accuracy in about 3 minutes on 2 CPU cores; 100 take ~1.5 h).
MAX_EPOCHS = 100
#: Largest seed (torch and numpy generators take 32-bit seeds everywhere).
MAX_SEED = 2**32 - 1


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


def _is_weights_file(path: Path) -> bool:
    """Whether ``path`` looks like a file ``torch.save`` wrote (a zip archive), by its first bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def check_training(epochs: int, seed: int, out: str | Path | None = None) -> Path | None:
    """Raise ``ValueError`` naming the setting (and what is allowed) before any work; the output path or None."""
    for name, value, hi in (("epochs", epochs, MAX_EPOCHS), ("seed", seed, MAX_SEED)):
        lo = 1 if name == "epochs" else 0
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    if out is None:
        return None
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"out {str(out)!r} is a folder; give the weights file's name")
    if out.exists() and not _is_weights_file(out):
        raise ValueError(f"out {str(out)!r} exists and is not a torch weights file; refusing to overwrite it")
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"out {str(out)!r} cannot be written: {str(parent)!r} is not a writable folder")
    return out


def _train(
    epochs: int, seed: int, batch: int, lr: float, progress: bool
) -> tuple[dict[str, torch.Tensor], float, float]:
    """Train on the 60,000 training images: (state dict, test accuracy, seconds of training)."""
    from tqdm import tqdm

    from empirical.data import fashion_mnist

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(threads, 2))
    try:
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
    finally:
        torch.set_num_threads(threads)
    return model.net.state_dict(), acc, seconds


def train_fashion_cnn(
    epochs: int = 3, seed: int = 0, batch: int = 128, lr: float = 2e-3, progress: bool = True, out: Path | None = None
) -> dict[str, Any]:
    """Train on the 60,000 training images (Adam, cosine learning rate), report test accuracy, save weights
    (``out``, written atomically, or else the cache entry :data:`WEIGHTS_KEY`). Settings are checked first."""
    target = check_training(epochs, seed, out)
    state, acc, seconds = _train(epochs, seed, batch, lr, progress)
    if target is None:
        path = save_entry(WEIGHTS_KEY, lambda p: torch.save(state, p))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda p: torch.save(state, p))
        path = target
    return {"test_accuracy": acc, "train_seconds": seconds, "epochs": epochs, "weights": str(path)}


def _read_weights(path: Path) -> nn.Sequential:
    net = fashion_net()
    load_weights(net, path)  # wrong keys, shapes or values: an error, so the entry counts as damaged
    return net


def _build_weights(path: Path) -> None:
    """Cache writer: train with the default settings into ``path`` (a temporary file of the cache)."""
    where = cache_path(WEIGHTS_KEY)
    log.warning("fashion_cnn: no usable cached weights at %s; training now (a few minutes on 2 cores)", where)
    print(f"fashion_cnn: no usable cached weights at {where}; training it now (a few minutes on 2 CPU cores)")
    state, _, _ = _train(3, 0, 128, 2e-3, True)
    torch.save(state, path)


def weights_problem() -> str | None:
    """Why the cached weights cannot be used as they are (``None``: present and verified). Trains nothing."""
    if not cache_path(WEIGHTS_KEY).exists():
        return "not built yet: `fvtrust train fashion_cnn` (or the first use) trains it"
    try:
        load_entry(WEIGHTS_KEY, _read_weights)
    except ValueError as err:
        return f"unusable, the next use retrains them ({' '.join(str(err).split())})"
    return None


@register("fashion_cnn", builds=True)
def load_fashion_cnn(weights: str | Path | None = None, build: bool = True) -> ZooModel:
    """The trained CNN. ``weights``: a weights file, or ``"random"``; default the cache entry, trained when it is
    missing or damaged. ``build=False``: never train; without usable cached weights the network is returned
    untrained and ``source`` says why."""
    if weights == "random":
        return _wrap(fashion_net(), "random initialisation")
    if weights is not None:
        net = fashion_net()
        load_weights(net, Path(weights))
        return _wrap(net, f"weights {weights}")
    if not build:
        problem = weights_problem()
        if problem is not None:
            return _wrap(fashion_net(), f"random initialisation; trained weights {problem}")
    net = load_entry(WEIGHTS_KEY, _read_weights, rebuild=_build_weights)
    return _wrap(net, f"trained by fvtrust, weights {cache_path(WEIGHTS_KEY)} (sha256 checked)")
