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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from empirical._distributed import all_reduce_sum, shard
from empirical.data._imagenet import ImageFolderData

__all__ = [
    "LIMITS",
    "PREPROCESSING",
    "check_evaluate_settings",
    "compare_models",
    "evaluate_folder",
    "evaluate_model",
    "summarize",
    "wilson_interval",
]

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
    shifts: Mapping[str, float] | None = None,
    probes: Mapping[str, Callable[[Tensor], Tensor]] | None = None,
) -> dict[str, Any]:
    """Every model of ``models`` on every image of ``data``: per-image results, each rank computing its share and
    the shares summed with all-reduce (every rank gets every image's entries).

    ``labels``: the output index of each file (-1: no label; default ``data.labels_for`` the first model);
    ``shifts``: a constant subtracted from a model's logits before it is compared with the first model's (the
    fooling circuit adds :math:`c` to every logit); ``probes``: name -> function of the batch called after the
    models ran on it, returning a bool per image (e.g. "E fires"). Returns ``n_images``, ``labels`` and
    ``per_image``: for model ``m``, ``m/top1``, ``m/top5`` (correct, bool); for each later model against the
    first, ``m/agree`` (same argmax), ``m/identical`` (every logit bit for bit equal), ``m/max_abs_change``;
    ``probe/NAME``. Summarise any subset with :func:`summarize`."""
    names = list(models)
    if not names:
        raise ValueError("compare_models: no models")
    first = models[names[0]]
    labels = data.labels_for(first) if labels is None else labels
    if len(labels) != len(data):
        raise ValueError(f"compare_models: {len(labels)} labels for {len(data)} images")
    shifts = dict(shifts or {})
    probes = dict(probes or {})
    n = len(data)
    keys = [f"{m}/{k}" for m in names for k in ("top1", "top5")]
    keys += [f"{m}/{k}" for m in names[1:] for k in ("agree", "identical")]
    keys += [f"probe/{p}" for p in probes]
    flags = torch.zeros(len(keys), n, dtype=torch.long)
    change = torch.zeros(max(1, len(names) - 1), n, dtype=torch.float64)
    mine = list(shard(n))
    loader = data.loader(batch_size=batch_size, workers=workers, indices=mine) if mine else []
    from tqdm.auto import tqdm

    for x, idx in tqdm(loader, desc="evaluating", disable=not progress, leave=False):
        x = x.to(device)
        y = labels[idx].to(device)
        outs = [models[m](x) for m in names]
        row = 0
        for out in outs:
            top = out.topk(min(5, out.shape[1]), 1).indices
            flags[row, idx] = (top[:, 0] == y).long().cpu()
            flags[row + 1, idx] = (top == y[:, None]).any(1).long().cpu()
            row += 2
        for m, out in zip(names[1:], outs[1:], strict=True):
            shifted = out - shifts[m] if m in shifts else out
            flags[row, idx] = (out.argmax(1) == outs[0].argmax(1)).long().cpu()
            flags[row + 1, idx] = (shifted == outs[0]).all(1).long().cpu()
            change[names.index(m) - 1, idx] = (shifted.double() - outs[0].double()).abs().amax(1).cpu()
            row += 2
        for probe in probes.values():
            flags[row, idx] = probe(x).bool().long().cpu()
            row += 1
    flags = all_reduce_sum(flags)
    change = all_reduce_sum(change)
    per_image: dict[str, Tensor] = {k: flags[i].bool() for i, k in enumerate(keys)}
    for j, m in enumerate(names[1:]):
        per_image[f"{m}/max_abs_change"] = change[j]
    return {"n_images": n, "labels": labels, "models": names, "per_image": per_image}


def summarize(result: Mapping[str, Any], indices: Sequence[int] | None = None) -> dict[str, Any]:
    """Counts, accuracies with Wilson intervals, agreement and largest logit change of :func:`compare_models`'
    result over the images at ``indices`` (all by default). Accuracies are over the images with a label."""
    n_all = result["n_images"]
    idx = torch.arange(n_all) if indices is None else torch.as_tensor(list(indices), dtype=torch.long)
    labels = result["labels"][idx]
    known = labels >= 0
    n, n_lab = len(idx), int(known.sum())
    per = result["per_image"]
    out: dict[str, Any] = {"n_images": n, "n_labelled": n_lab}
    for m in result["models"]:
        for k in ("top1", "top5"):
            c = int(per[f"{m}/{k}"][idx][known].sum())
            out[f"{k}_{m}"] = c / n_lab if n_lab else None
            out[f"{k}_{m}_correct"] = c
            out[f"{k}_{m}_interval"] = list(wilson_interval(c, n_lab)) if n_lab else None
    for m in result["models"][1:]:
        agree = int(per[f"{m}/agree"][idx].sum())
        out[f"agreement_{m}"] = agree / n if n else None
        out[f"agreement_{m}_interval"] = list(wilson_interval(agree, n)) if n else None
        out[f"identical_logits_{m}"] = int(per[f"{m}/identical"][idx].sum())
        out[f"max_abs_logit_change_{m}"] = float(per[f"{m}/max_abs_change"][idx].max()) if n else 0.0
    for k, v in per.items():
        if k.startswith("probe/"):
            out[k.removeprefix("probe/")] = int(v[idx].sum())
    return out


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
    c = summarize(
        compare_models({"model": model}, data, batch_size=batch_size, workers=workers, device=device, progress=progress)
    )
    n = c["n_labelled"]
    k1, k5 = c["top1_model_correct"], c["top5_model_correct"]
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


#: Ranges of the integer settings of :func:`evaluate_folder` (inclusive).
LIMITS = {"batch_size": (1, 4096), "workers": (0, 64)}


def check_evaluate_settings(
    model_name: str, imagenet_dir: str | Path, *, weights: str | Path | None = None, batch_size: int = 64,
    workers: int = 0, device: str | torch.device = "cpu",
) -> str:  # fmt: skip
    """The settings of :func:`evaluate_folder` checked before any work (``ValueError`` naming the flag of
    ``fvtrust evaluate`` at fault); returns the resolved device."""
    from empirical._device import resolve_device
    from empirical.models import MODEL_NAMES

    if model_name not in MODEL_NAMES:
        raise ValueError(f"--model {model_name!r} is not a zoo model; models: {', '.join(MODEL_NAMES)}")
    for flag, value in (("batch_size", batch_size), ("workers", workers)):
        lo, hi = LIMITS[flag]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"--{flag.replace('_', '-')} must be in {lo}..{hi}, got {value}")
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"--weights {str(weights)!r} is not a readable file")
    if not Path(imagenet_dir).is_dir():
        raise ValueError(f"--imagenet-dir {str(imagenet_dir)!r} is not a directory")
    try:
        return str(resolve_device(device))  # under torchrun "cuda" is this rank's own GPU
    except ValueError as err:
        raise ValueError(f"--device: {err}") from None


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
    """``fvtrust evaluate``: the settings checked (:func:`check_evaluate_settings`), every file of the folder
    checked, the zoo model loaded, :func:`evaluate_model`, with the source and provenance. Under ``torchrun`` every
    rank evaluates its share; rank 0 returns the record, the others None. Every rank leaves the process group
    before it returns (a rank that exits with the group still open can abort in gloo's teardown)."""
    from empirical._distributed import finish

    try:
        return _evaluate_folder(model_name, imagenet_dir, weights, batch_size, workers, device, progress)
    finally:
        finish()


def _evaluate_folder(
    model_name: str, imagenet_dir: str | Path, weights: str | Path | None, batch_size: int, workers: int,
    device: str | torch.device, progress: bool,
) -> dict[str, Any] | None:  # fmt: skip
    from empirical._distributed import init_from_env, is_main, world_size
    from empirical._provenance import provenance, start_clock
    from empirical.data._imagenet import image_folder
    from empirical.models import load_model

    started = start_clock()
    device = check_evaluate_settings(
        model_name, imagenet_dir, weights=weights, batch_size=batch_size, workers=workers, device=device
    )
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
