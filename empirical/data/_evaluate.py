r"""Classifiers measured on an ImageNet folder: top-1/top-5 with Wilson intervals, and a model against its
manipulated copy (agreement, largest logit change) in the same pass.

Images are split across ranks under ``torchrun`` (rank :math:`r` of :math:`w` takes images
:math:`r, r + w, \dots`) and the counts are summed with all-reduce; one process runs the same code with one shard.
Interval: the Wilson score interval at 95 % (:math:`z = 1.959964`) for a proportion :math:`k/n`,

.. math:: \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n},

which keeps inside [0, 1] and has close to nominal coverage for small :math:`n` and proportions near 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from empirical._distributed import all_reduce_sum, shard
from empirical.data._imagenet import ImageFolderData

__all__ = ["PREPROCESSING", "compare_models", "evaluate_folder", "evaluate_model", "wilson_interval"]

Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials ((0, 1) when n = 0)."""
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def PREPROCESSING(data: ImageFolderData) -> str:  # noqa: N802 - a described constant
    return (
        f"shorter side resized to {data.resize} px (bilinear, antialiased), centre crop {data.size} px, "
        "values in [0, 1]; the model normalises with its own mean/std"
    )


def _max_reduce(t: Tensor) -> Tensor:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        buf = t.detach().cpu().clone() if dist.get_backend() == "gloo" else t.detach().clone()
        dist.all_reduce(buf, op=dist.ReduceOp.MAX)
        return buf.to(t.device)
    return t


@torch.no_grad()
def compare_models(
    models: Mapping[str, nn.Module],
    data: ImageFolderData,
    *,
    labels: Tensor | None = None,
    batch_size: int = 64,
    workers: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Every model of ``models`` on every image of ``data`` (this rank's share, counts summed over ranks).

    ``labels``: the output index of each file (-1: no label; default ``data.labels_for`` the first model). Returns
    ``n_images``, ``n_labelled`` and, per model name, ``top1``/``top5`` correct counts; with two or more models,
    for each later model against the first: ``agreement`` (argmax equal), ``max_abs_logit_change``,
    ``images_with_identical_logits`` (every logit bit for bit equal)."""
    names = list(models)
    if not names:
        raise ValueError("compare_models: no models")
    first = models[names[0]]
    labels = data.labels_for(first) if labels is None else labels
    if len(labels) != len(data):
        raise ValueError(f"compare_models: {len(labels)} labels for {len(data)} images")
    mine = list(shard(len(data)))
    counts = torch.zeros(2 + 2 * len(names) + 2 * (len(names) - 1), dtype=torch.long)
    max_change = torch.zeros(max(1, len(names) - 1), dtype=torch.float64)
    loader = data.loader(batch_size=batch_size, workers=workers, indices=mine) if mine else []
    from tqdm.auto import tqdm

    for x, idx in tqdm(loader, desc="evaluating", disable=not progress, leave=False):
        x = x.to(device)
        y = labels[idx].to(device)
        known = y >= 0
        counts[0] += len(idx)
        counts[1] += int(known.sum())
        outs = [models[n](x) for n in names]
        for m, out in enumerate(outs):
            top = out.topk(min(5, out.shape[1]), 1).indices
            counts[2 + 2 * m] += int((top[:, 0] == y)[known].sum())
            counts[3 + 2 * m] += int((top == y[:, None]).any(1)[known].sum())
        base = 2 + 2 * len(names)
        for m, out in enumerate(outs[1:]):
            counts[base + 2 * m] += int((out.argmax(1) == outs[0].argmax(1)).sum())
            counts[base + 2 * m + 1] += int((out == outs[0]).all(1).sum())
            change = (out.double() - outs[0].double()).abs().max().cpu() if len(out) else torch.tensor(0.0)
            max_change[m] = torch.maximum(max_change[m], change)
    counts = all_reduce_sum(counts)
    max_change = _max_reduce(max_change)
    n, n_lab = int(counts[0]), int(counts[1])
    res: dict[str, Any] = {"n_images": n, "n_labelled": n_lab, "models": {}}
    for m, name in enumerate(names):
        k1, k5 = int(counts[2 + 2 * m]), int(counts[3 + 2 * m])
        res["models"][name] = {"top1_correct": k1, "top5_correct": k5}
    base = 2 + 2 * len(names)
    for m, name in enumerate(names[1:]):
        res["models"][name]["agreement_with_first"] = int(counts[base + 2 * m])
        res["models"][name]["identical_logits_with_first"] = int(counts[base + 2 * m + 1])
        res["models"][name]["max_abs_logit_change"] = float(max_change[m])
    return res


def evaluate_model(
    model: nn.Module,
    data: ImageFolderData,
    *,
    batch_size: int = 64,
    workers: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Top-1 and top-5 accuracy of ``model`` on the labelled images of ``data`` with 95 % Wilson intervals."""
    c = compare_models({"model": model}, data, batch_size=batch_size, workers=workers, device=device, progress=progress)
    n = c["n_labelled"]
    k1, k5 = c["models"]["model"]["top1_correct"], c["models"]["model"]["top5_correct"]
    if n == 0:
        raise ValueError(f"image folder {str(data.root)!r} has no image of a class among the model's outputs")
    return {
        "n_images": c["n_images"],
        "n_labelled": n,
        "n_classes": len(data.classes),
        "top1": k1 / n,
        "top5": k5 / n,
        "top1_correct": k1,
        "top5_correct": k5,
        "top1_interval": list(wilson_interval(k1, n)),
        "top5_interval": list(wilson_interval(k5, n)),
        "interval": "Wilson score interval, 95%",
        "preprocessing": PREPROCESSING(data),
    }


def evaluate_folder(
    model_name: str,
    imagenet_dir: str | Path,
    *,
    weights: str | Path | None = None,
    batch_size: int = 64,
    workers: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> dict[str, Any] | None:
    """``fvtrust evaluate``: the folder checked, the zoo model loaded, :func:`evaluate_model`, with the source and
    provenance. Under ``torchrun`` every rank evaluates its share; rank 0 returns the record, the others None."""
    from empirical._distributed import init_from_env, is_main, world_size
    from empirical._provenance import provenance, start_clock
    from empirical.data._imagenet import image_folder
    from empirical.models import load_model

    started = start_clock()
    data = image_folder(imagenet_dir)  # every file checked before the model is loaded
    init_from_env(device)
    model = load_model(model_name, weights=weights, device=device)
    rec = evaluate_model(model, data, batch_size=batch_size, workers=workers, device=device, progress=progress)
    if not is_main():
        return None
    rec = {"model": model_name, "source": str(data.root), **rec}
    config = {
        "model": model_name, "weights": None if weights is None else str(weights), "imagenet_dir": str(data.root),
        "batch_size": batch_size, "workers": workers, "resize": data.resize, "size": data.size,
        "processes": world_size(),
    }  # fmt: skip
    w: dict[str, Any] = {model_name: Path(weights) if weights is not None else model.state_dict()}
    rec["provenance"] = provenance(config, None, str(data.root), data, w, started, device=device)
    return rec
