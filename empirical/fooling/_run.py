r"""End-to-end fooling experiments: build the manipulation, measure behaviour and visualizations, write
``report.json`` and ``fooling.png``.

Behaviour: outputs of the original and the fooled model on held-out natural images (Fashion-MNIST: the 10,000
test images; ImageNet models: every bundled photo and random crops of them). Visualizations: for each fooled unit
:math:`u` with target :math:`\pi(u)`, the fooled model's visualization of :math:`u` is compared with the original
visualization of :math:`\pi(u)` (or the template image) and with the original visualization of :math:`u` by the
Pearson correlation of the original model's channel means at ``similarity_layer`` (primary) and of pixels.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from empirical.fooling._circuit import FoolingCircuit, cyclic_targets
from empirical.fooling._figure import fooling_figure
from empirical.fooling._image_trigger import ImageTrigger
from empirical.fooling._natural import PhotoSplits, load_all
from empirical.fooling._preconditions import check_preconditions
from empirical.fooling._presets import Preset, preset
from empirical.fooling._silent import SilentConv, add_silent_units, trace_firing
from empirical.fooling._train import DetectorReport, train_detector

__all__ = ["check_sweep_folders", "check_weights", "pearson", "run_circuit", "run_silent", "similarity"]


def pearson(a: Tensor, b: Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))


@torch.no_grad()
def similarity(model: nn.Module, a: Tensor, b: Tensor, layer: str) -> dict[str, float]:
    """Pearson correlation of the original model's channel means at ``layer`` and of the pixels of two images."""
    acts = model.activations(torch.stack([a, b]), [layer])[layer]  # type: ignore[operator]
    means = acts.flatten(2).mean(2) if acts.ndim > 2 else acts
    return {"activations": pearson(means[0], means[1]), "pixels": pearson(a, b)}


@torch.no_grad()
def _outputs(model: nn.Module, images: Tensor, batch: int = 500) -> Tensor:
    dev = next(model.parameters()).device
    return torch.cat([model(images[i : i + batch].to(dev)).cpu() for i in range(0, len(images), batch)])


def _natural_eval(model_name: str, p: Preset, model: nn.Module | None = None) -> tuple[Tensor, Tensor]:
    """Held-out natural images and labels (-1 where unknown), as output indices of ``model`` (its ``wnids``)."""
    from empirical.data import natural_images, random_crops

    if model_name == "fashion_cnn":
        nat = natural_images("fashion")
        assert nat.labels is not None
        return nat.images[: p.n_natural_eval], nat.labels[: p.n_natural_eval]
    photos = natural_images("imagenet")
    assert photos.labels is not None
    crops = random_crops(photos.images, p.n_natural_eval, seed=7777)
    labels = _to_outputs(photos.labels, model)
    return torch.cat([photos.images, crops]), torch.cat([labels, torch.full((len(crops),), -1)])


def _to_outputs(labels: Tensor, model: nn.Module | None) -> Tensor:
    """Labels in the standard 1000-class order as outputs of ``model``: the same unless its ``wnids`` order the
    classes otherwise (``inceptionv1``: ILSVRC-2012 devkit order, 1008 outputs)."""
    from empirical.models import imagenet_wnids, output_index_for_wnid

    wnids = getattr(model, "wnids", None)
    order = imagenet_wnids()
    if wnids is None or list(wnids) == list(order):
        return labels
    return torch.tensor([output_index_for_wnid(model, order[int(y)]) if y >= 0 else -1 for y in labels])


def _calibration(model_name: str, n: int) -> Tensor:
    from empirical.data import fashion_mnist, natural_images, random_crops

    if model_name == "fashion_cnn":
        return fashion_mnist("train")[0][:n].float() / 255
    photos = natural_images("imagenet").images
    return torch.cat([photos, random_crops(photos, n, seed=4242)])


def _behaviour(before: Tensor, after: Tensor, labels: Tensor, shift: float) -> dict[str, Any]:
    known = labels >= 0
    out: dict[str, Any] = {"n_natural": len(labels), "n_labelled": int(known.sum())}
    for k in (1, 5) if before.shape[1] >= 5 and before.shape[1] > 10 else (1,):
        name = "" if k == 1 else "_top5"
        top_b, top_a = before.topk(k, 1).indices, after.topk(k, 1).indices
        if known.any():
            out[f"accuracy_before{name}"] = float((top_b[known] == labels[known, None]).any(1).float().mean())
            out[f"accuracy_after{name}"] = float((top_a[known] == labels[known, None]).any(1).float().mean())
        same = (top_b.sort(1).values == top_a.sort(1).values).all(1) if k > 1 else top_b[:, 0] == top_a[:, 0]
        out[f"top{k}_agreement"] = float(same.float().mean())
    diff = (after - before).abs()
    out["max_output_change"] = float(diff.max())
    out["max_output_change_minus_shift"] = float((after - shift - before).abs().max())
    out["outputs_equal_exactly"] = int((after == before).all(1).sum())
    return out


def _render(model: nn.Module, layer: str, units: list[int], p: Preset, seed: int, **kw: Any) -> Tensor:
    from empirical.visualize import visualize_units

    res = visualize_units(
        model, layer, units, steps=p.steps, seed=seed, progress=kw.pop("progress", True), **p.render, **kw
    )
    return res.images


def _per_unit(
    model: nn.Module, units: list[int], targets: list[int], fooled: Tensor, original: dict[int, Tensor],
    target_images: dict[int, Tensor], layer: str,
) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    for i, u in enumerate(units):
        to_t = similarity(model, fooled[i], target_images[u], layer)
        to_o = similarity(model, fooled[i], original[u], layer)
        rows.append({
            "unit": u, "target": targets[u], "similarity_to_target": to_t["activations"],
            "similarity_to_original": to_o["activations"], "pixel_similarity_to_target": to_t["pixels"],
            "pixel_similarity_to_original": to_o["pixels"],
        })  # fmt: skip
    return rows


#: Below this ceiling - floor the measure cannot tell the original FV from the target's: no fooling score.
MIN_SCORE_RANGE = 0.01


def _score(similarity: float, floor: float, ceiling: float) -> float | None:
    """(similarity - floor) / (ceiling - floor), or None when ceiling - floor < :data:`MIN_SCORE_RANGE` (e.g. the
    target's FV from another seed is less like the target FV than the unit's unfooled FV is)."""
    return (similarity - floor) / (ceiling - floor) if ceiling - floor >= MIN_SCORE_RANGE else None


def _fooling_scores(
    model: nn.Module, rows: list[dict[str, Any]], original: dict[int, Tensor], again: dict[int, Tensor], layer: str
) -> None:
    """Put each unit's similarity to its target t on the scale the measure can resolve: the ceiling is t's FV
    against t's FV from another seed (a perfectly fooled unit starts from its own seed, not t's), the floor the
    unit's unfooled FV against t's; ``fooling_score`` = (similarity_to_target - floor) / (ceiling - floor):
    1 = as close to the target as the target's own FV from another start, 0 = no closer than the original FV."""
    for r in rows:
        u, t = r["unit"], r["target"]
        ceiling = similarity(model, original[t], again[t], layer)["activations"]
        floor = similarity(model, original[u], original[t], layer)["activations"]
        r["similarity_ceiling"], r["similarity_unfooled"] = ceiling, floor
        r["fooling_score"] = _score(r["similarity_to_target"], floor, ceiling)


def _score_against_reseeded(
    model: nn.Module, layer: str, rows: list[dict[str, Any]], original: dict[int, Tensor], p: Preset, seed: int,
    progress: bool,
) -> None:  # fmt: skip
    """:func:`_fooling_scores` with the ceiling's second FVs: the targets of ``rows`` rendered with ``seed + 1``."""
    shown = sorted({r["target"] for r in rows})
    again = dict(zip(shown, _render(model, layer, shown, p, seed + 1, progress=progress), strict=True))
    _fooling_scores(model, rows, original, again, p.similarity_layer)


def _against_ideal(
    model: nn.Module, layer: str, rows: list[dict[str, Any]], fooled: Tensor, original: dict[int, Tensor],
    target_images: dict[int, Tensor], p: Preset, seed: int, progress: bool,
) -> Tensor:  # fmt: skip
    """The ideal fooled FVs: each unit's target t visualised from the unit's own start (its initial image and
    transforms, :func:`visualize_units` ``start_units``), what a fooled FV that followed t's objective from the
    first step would show. Adds ``ideal_similarity_to_target``, ``ideal_similarity_to_original`` (where the
    measure puts the ideal: the fooled FV shares its start with the original FV, not with the target's) and
    ``similarity_to_ideal`` (the fooled FV against the ideal) to ``rows``; returns the ideal FVs."""
    units = [r["unit"] for r in rows]
    ideal = _render(model, layer, [r["target"] for r in rows], p, seed, progress=progress, start_units=units)
    for i, r in enumerate(rows):
        u, at = r["unit"], p.similarity_layer
        r["ideal_similarity_to_target"] = similarity(model, ideal[i], target_images[u], at)["activations"]
        r["ideal_similarity_to_original"] = similarity(model, ideal[i], original[u], at)["activations"]
        r["similarity_to_ideal"] = similarity(model, fooled[i], ideal[i], at)["activations"]
    return ideal


def _score_against_image(
    model: nn.Module, rows: list[dict[str, Any]], original: dict[int, Tensor], images: dict[int, Tensor], layer: str
) -> None:
    """``fooling_score`` for image targets: the ceiling is the target image itself (similarity 1), the floor the
    unit's unfooled FV against the image: 1 = the fooled FV is, to the measure, the image."""
    for r in rows:
        floor = similarity(model, original[r["unit"]], images[r["unit"]], layer)["activations"]
        r["similarity_ceiling"], r["similarity_unfooled"] = 1.0, floor
        r["fooling_score"] = _score(r["similarity_to_target"], floor, 1.0)


def _finish(report: dict[str, Any], out: Path, panels: dict[str, Tensor], units: list[int], title: str) -> None:
    rows = report["per_unit"]
    scores = [r["fooling_score"] for r in rows if r.get("fooling_score") is not None]
    if rows and "fooling_score" in rows[0]:
        report["mean_fooling_score"] = float(np.mean(scores)) if scores else None
        # a score over a small ceiling - floor range can be far out (e.g. -4.8); the median is robust to it
        report["median_fooling_score"] = float(np.median(scores)) if scores else None
        report["units_without_fooling_score"] = len(rows) - len(scores)
    report["mean_similarity_to_target"] = float(np.mean([r["similarity_to_target"] for r in rows]))
    report["mean_similarity_to_original"] = float(np.mean([r["similarity_to_original"] for r in rows]))
    report["units_closer_to_target"] = sum(r["similarity_to_target"] > r["similarity_to_original"] for r in rows)
    if rows and "ideal_similarity_to_target" in rows[0]:  # how many units the measure could show closer at best
        report["units_closer_to_target_ideal"] = sum(
            r["ideal_similarity_to_target"] > r["ideal_similarity_to_original"] for r in rows
        )
        report["mean_similarity_to_ideal"] = float(np.mean([r["similarity_to_ideal"] for r in rows]))
    # the second measure (pixels): can see what the activations at an early layer miss, e.g. an image target
    pixels = sum(r["pixel_similarity_to_target"] > r["pixel_similarity_to_original"] for r in rows)
    report["units_closer_to_target_by_pixels"] = pixels
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    fooling_figure(panels, [f"unit {u}" for u in units], out / "fooling.png", title)


def _image_trigger_report(trigger: ImageTrigger, images: Tensor, det: DetectorReport, p: Preset) -> dict[str, Any]:
    """E's threshold in the silent units, and on how many held-out natural ``images`` it opens (0 when exact)."""
    with torch.no_grad():
        opened = torch.cat([trigger(images[i : i + 500]) for i in range(0, len(images), 500)])
    return {
        "threshold": float(trigger.threshold), "natural_max_logit": float(trigger.natural_max),
        "margin": p.silent_detector_margin, "ramp": p.silent_detector_ramp,
        "held_out_natural_images_opening_it": int((opened > 0).sum()), "detector": vars(det),
    }  # fmt: skip


def _load(model_name: str, device: str, weights: str | Path | None = None) -> nn.Module:
    """The zoo model; a weights file that torch cannot read is a one-line ``ValueError`` naming it."""
    import pickle
    import zipfile

    from empirical.models import load_model

    try:
        return load_model(model_name, weights=weights, device=device)
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, RuntimeError) as err:
        if weights is None or str(weights) == "random":
            raise
        first = " ".join(str(err).split())[:160]
        raise ValueError(f"weights file {str(weights)!r} cannot be read as a torch state dict: {first}") from err


def check_weights(model_name: str, weights: str | Path | None) -> None:
    """Load ``model_name`` with ``weights`` once on the CPU: a missing, unreadable or wrong weights file (or
    missing weights for a model that needs them) is a one-line ``ValueError``/``FileNotFoundError`` before any
    work (``fvtrust fool`` calls this first). Without ``weights`` a model whose weights ship (or are trained here)
    is not loaded: nothing to check, and ``fashion_cnn`` would train."""
    from empirical.models import USER_WEIGHTS

    if weights is not None or model_name in USER_WEIGHTS:
        _load(model_name, "cpu", weights)


def check_sweep_folders(
    folders: str | Path | Sequence[str | Path], model_name: str, *, verify: bool = True
) -> list[dict[str, Any]]:
    """The ``fvtrust sweep`` folders E's visualizations are read from (``visualizations_from``), checked: each is a
    folder with a readable ``manifest.json`` whose configuration names ``model_name`` and its step count, and, with
    ``verify``, every file listed matches its SHA-256 (:func:`empirical.sweep.read_sweep`); a one-line
    ``ValueError`` naming the folder (or file) otherwise. Returns one record per folder for the report: ``folder``
    (absolute), ``manifest_sha256`` (the manifest lists every file's checksum, so it pins the data), and the
    sweep's ``layer``, ``steps``, ``weights`` and ``model_sha256``."""
    from empirical.sweep import MANIFEST, read_sweep, sha256_file

    items = [folders] if isinstance(folders, str | Path) else list(folders)
    if not items:
        raise ValueError("--e-visualizations-from: give at least one sweep folder")
    records = []
    pairs = 0
    for item in items:
        folder = Path(item)
        if not folder.is_dir():
            raise ValueError(f"--e-visualizations-from {str(folder)!r} is not a directory")
        try:
            doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            config = doc["config"]
            swept, steps = str(config["model"]), config["steps"]
            if type(steps) is not int or not 1 <= steps <= 100_000:
                raise ValueError(f"steps = {steps!r} is not a whole number in 1..100000")
            units = doc["units"]
            if not isinstance(units, list) or not all(isinstance(e, dict) and "file" in e for e in units):
                raise ValueError("units is not a list of entries with a file")
            files = {str(e["file"]) for e in units}
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as err:
            raise ValueError(
                f"--e-visualizations-from {str(folder)!r} is not a finished sweep folder "
                f"({MANIFEST}: {type(err).__name__}: {str(err)[:120]})"
            ) from None
        if swept != model_name:
            raise ValueError(
                f"--e-visualizations-from {str(folder)!r} holds visualizations of {swept}, not {model_name}"
            )
        if verify:
            read_sweep(folder)  # every file against its SHA-256: a ValueError naming the file
        pairs += len(files)
        records.append({
            "folder": str(folder.resolve()), "manifest_sha256": sha256_file(folder / MANIFEST),
            "layer": config.get("layer"), "steps": steps, "weights": config.get("weights"),
            "model_sha256": config.get("model_sha256"),
        })  # fmt: skip
    if pairs < 2:
        raise ValueError(
            f"--e-visualizations-from: the sweeps hold {pairs} (unit, seed) pair(s); "
            "E needs at least 2 (one is held out)"
        )
    return records


def _e_source(
    sweeps: list[dict[str, Any]] | None, model: nn.Module, model_name: str, cache_name: str
) -> tuple[str, list[str] | None]:
    """E's cache name and sweep folders. With sweep folders E does not depend on the model's weights (its
    visualizations are the sweeps', its cache key holds their checksums), so it is cached under the model's name
    (which the sweeps' model must equal); each record notes whether the sweep rendered these very weights."""
    if sweeps is None:
        return cache_name, None
    from empirical.sweep._run import _model_fingerprint

    fingerprint = _model_fingerprint(model)
    for r in sweeps:
        r["same_weights"] = r["model_sha256"] == fingerprint
    return model_name, [r["folder"] for r in sweeps]


def _cache_name(model_name: str, model: nn.Module, weights: str | Path | None) -> str:
    """The name E's cached data and weights are keyed under: the model's name, plus a hash of its parameters when
    the weights are the user's (another file, or another random draw, must not reuse E)."""
    if weights is None:
        return model_name
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return f"{model_name}-{h.hexdigest()[:12]}"


def _templates(model: nn.Module, names: list[str]) -> list[Tensor]:
    """Target images by name: a bundled photo or ``testN`` (Fashion-MNIST test image N), at the model's size."""
    import torch.nn.functional as F

    from empirical.data import PHOTOS, natural_images

    c, h, w = model.input_size  # type: ignore[attr-defined]
    out = []
    for name in names:
        if name in PHOTOS:
            nat = natural_images("imagenet")
            img = nat.images[nat.names.index(name)]
        elif name.startswith("test") and name[4:].isdigit():
            img = natural_images("fashion").images[int(name[4:])]
        else:
            raise ValueError(f"unknown target image {name!r}; use a bundled photo ({', '.join(PHOTOS)}) or testN")
        img = F.interpolate(img[None], size=(h, w), mode="bilinear", antialias=True)[0]
        img = img.mean(0, keepdim=True).expand(c, h, w) if img.shape[0] != c else img
        out.append(img.clamp(0, 1))
    return out


def _seeds(seed: int | Sequence[int]) -> list[int]:
    seeds = [int(seed)] if isinstance(seed, int) else [int(s) for s in seed]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be one or more distinct integers, got {seed!r}")
    return seeds


def _draw_units(
    n: int, p: Preset, units: Sequence[int] | None, unit_seed: int | None, n_units: int | None
) -> list[int]:
    """The fooled units measured: ``units``, else ``n_units`` (default ``p.block``) drawn uniformly from the
    ``n`` units of the layer with ``random.Random(unit_seed)``, else the first ``p.block``."""
    if units is not None:
        out = [int(u) for u in units]
        bad = [u for u in out if not 0 <= u < n]
        if bad or not out or len(set(out)) != len(out):
            raise ValueError(f"units must be distinct unit indices in 0..{n - 1}, got {list(units)[:10]}")
        return out
    k = min(n_units or p.block, n)
    if unit_seed is None:
        return list(range(k))
    return sorted(random.Random(unit_seed).sample(range(n), k))


def _photo_detector(
    model: nn.Module,
    model_name: str,
    p: Preset,
    photos: PhotoSplits,
    device: str,
    progress: bool,
    visualizations_from: Sequence[str | Path] | None = None,
) -> tuple[Any, DetectorReport]:
    """E trained on the calibration photos (and crops of them) plus visualizations, its threshold set from its
    natural training images by ``p.detector_rule``, measured on the held-out photos (and the extra folder)."""
    from empirical.fooling._dataset import resize

    calib = load_all(photos.calibration)
    held = [photos.held_out] + ([photos.extra] if photos.extra is not None else [])
    held_small = torch.cat([resize(load_all(h), p.detector.size) for h in held])
    tag = photos.calibration.file_list_sha256()[:16] + ":" + photos.held_out.file_list_sha256()[:16]
    cfg = replace(p.detector, natural=f"photos:{tag}")
    return train_detector(
        model, model_name, cfg, device=device, progress=progress, photos=(calib, held_small),
        threshold_margin=p.detector_margin, visualizations_from=visualizations_from, threshold_rule=p.detector_rule,
        threshold_fpr=p.detector_fpr,
    )  # fmt: skip


def _summary(res: dict[str, Any], indices: Sequence[int] | None, folder: Any, shift_name: str) -> dict[str, Any]:
    from empirical.data import summarize

    s = summarize(res, indices)
    out = {
        "source": str(folder.root), "n_images": s["n_images"], "n_labelled": s["n_labelled"],
        "n_classes": len({folder.wnids[i] for i in (range(len(folder)) if indices is None else indices)}),
        "top1_before": s["top1_before"], "top1_after": s["top1_after"],
        "top5_before": s["top5_before"], "top5_after": s["top5_after"],
        "top1_before_interval": s["top1_before_interval"], "top1_after_interval": s["top1_after_interval"],
        "top5_before_interval": s["top5_before_interval"], "top5_after_interval": s["top5_after_interval"],
        "agreement": s["agreement_after"], "agreement_interval": s["agreement_after_interval"],
        "max_abs_logit_change": s["max_abs_logit_change_after"],
        "images_with_identical_logits": s["identical_logits_after"],
        "logit_change_measured": shift_name,
    }  # fmt: skip
    out |= {k: v for k, v in s.items() if k in ("e_fires", "silent_fires")}
    return out


def _photo_evaluation(
    model: nn.Module, fooled: nn.Module, photos: PhotoSplits, shift: float, probes: dict[str, Any], device: str,
    progress: bool,
) -> dict[str, Any]:  # fmt: skip
    """Original and fooled model on every photo of the folder (and the extra folder): ``evaluation`` (all),
    ``evaluation_held_out`` (the held-out split only) and ``evaluation_extra``."""
    from empirical.data import compare_models

    what = "after - c - before (the circuit adds c to every logit)" if shift else "after - before"
    kw = dict(shifts={"after": shift}, probes=probes, device=device, progress=progress)
    res = compare_models({"before": model, "after": fooled}, photos.source, **kw)  # type: ignore[arg-type]
    root = photos.source
    held = [root.files.index(f) for f in photos.held_out.files]
    out = {"evaluation": _summary(res, None, root, what), "evaluation_held_out": _summary(res, held, root, what)}
    if photos.extra is not None:
        res_x = compare_models({"before": model, "after": fooled}, photos.extra, **kw)  # type: ignore[arg-type]
        out["evaluation_extra"] = _summary(res_x, None, photos.extra, what)
    return out


def _behaviour_from_photos(ev: dict[str, Any]) -> dict[str, Any]:
    """The report's summary keys (as on bundled images) from the photo evaluation."""
    e = ev["evaluation"]
    return {
        "n_natural": e["n_images"], "n_labelled": e["n_labelled"], "accuracy_before": e["top1_before"],
        "accuracy_after": e["top1_after"], "accuracy_before_top5": e["top5_before"],
        "accuracy_after_top5": e["top5_after"], "top1_agreement": e["agreement"],
        "max_output_change_minus_shift": e["max_abs_logit_change"],
        "outputs_equal_exactly": e["images_with_identical_logits"],
    }  # fmt: skip


def _photo_templates(model: nn.Module, files: Sequence[Path]) -> list[Tensor]:
    """Target images from photo files (resize 256, centre crop at the model's input size)."""
    from empirical.data import check_image_file, load_image

    _, h, _ = model.input_size  # type: ignore[attr-defined]
    out = []
    for f in files:
        check_image_file(Path(f))
        out.append(load_image(Path(f), resize=round(h * 256 / 224), size=h))
    return out


_CONFIG_KEYS = (
    "model", "method", "recipe", "quick", "target", "c", "k", "target_offset", "layer", "alpha", "scale", "margin",
    "pooled", "gate_ramp", "trigger_alpha", "trigger_slope", "trigger_slack", "steps", "n_calibration", "seeds",
    "units", "unit_seed", "preset", "target_files", "weights", "e_visualizations_from",
)  # fmt: skip


def _provenance(report: dict[str, Any], seeds: list[int], photos: PhotoSplits | None, model: nn.Module,
                det: Any, started: tuple[float, float], device: str) -> None:  # fmt: skip
    from empirical._provenance import provenance

    weights: dict[str, Any] = {"model": model.state_dict()}
    if det is not None:
        weights["detector"] = det.state_dict()
    files = None if photos is None else photos.source
    source = None if photos is None else str(photos.source.root)
    drop = ("detector", "build_seconds")
    config = {k: v for k, v in report.items() if k not in drop and k in _CONFIG_KEYS}
    report["provenance"] = provenance(config, seeds, source, files, weights, started, device=device)
    if photos is not None:
        report["photos"] = photos.describe()


def _with_detector_rule(p: Preset, rule: str | None, fpr: float | None) -> Preset:
    """``p`` with E's threshold rule and share replaced where given (checked by ``Preset``); a share other than
    the preset's is recorded as given at run time."""
    if rule is None and fpr is None:
        return p
    kw: dict[str, Any] = {"detector_rule": p.detector_rule if rule is None else rule}
    if fpr is not None and fpr != p.detector_fpr:
        kw |= {"detector_fpr": fpr, "detector_fpr_fixed": "given at run time (detector_fpr)"}
    return replace(p, **kw)


def run_circuit(
    model_name: str, out: Path, *, quick: bool = False, target: str = "permute", c: float = 100.0,
    k: float = 250.0, seed: int | Sequence[int] = 0, device: str = "cpu", progress: bool = True,
    photos: PhotoSplits | None = None, units: Sequence[int] | None = None, unit_seed: int | None = None,
    n_units: int | None = None, target_files: Sequence[Path] | None = None, scores: bool = True,
    weights: str | Path | None = None, visualizations_from: str | Path | Sequence[str | Path] | None = None,
    detector_rule: str | None = None, detector_fpr: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The fooling circuit on the logits of ``model_name``: train/load E, build, measure, report, figure.

    ``photos``: natural photos (:func:`~empirical.fooling.photo_splits`): E is trained on the calibration split
    and thresholded above it, and behaviour is measured on every photo (``evaluation``). ``units``/``unit_seed``/
    ``n_units``: which units are measured (see :func:`_draw_units`); ``target_files``: template target photos for
    the first units (instead of ``target``); ``target="photos"``: ``n_units`` (default 4) of them drawn from
    ``photos.extra`` with ``unit_seed`` (:meth:`PhotoSplits.draw_extra`); ``seed``: one or more visualization
    seeds; ``scores``: also render the reseeded and ideal FVs of the fooling score; ``weights``: a weights file
    for models whose weights do not ship (``inceptionv1``), passed to ``load_model`` (E is then cached under a hash
    of the parameters);
    ``visualizations_from``: ``fvtrust sweep`` folders of this model whose images are E's visualizations
    (:func:`train_detector`; recorded as ``e_visualizations_from``, see :func:`check_sweep_folders`);
    ``detector_rule``/``detector_fpr``: E's threshold rule with ``photos`` (``"max_margin"`` or ``"quantile"``) and
    the quantile rule's natural share, instead of the preset's (recorded in the report's ``preset``)."""
    from empirical._provenance import start_clock

    started = start_clock()
    t0 = time.perf_counter()
    seeds = _seeds(seed)
    p = _with_detector_rule(preset(model_name, quick), detector_rule, detector_fpr)
    if target == "photos":  # template photos drawn from the extra folder with the unit seed
        if photos is None or target_files:
            raise ValueError("target='photos' draws its templates from photos.extra; give photos, not target_files")
        target_files = photos.draw_extra(n_units or 4, unit_seed or 0)
    sweeps = None if visualizations_from is None else check_sweep_folders(visualizations_from, model_name, verify=False)
    model = _load(model_name, device, weights)
    e_name, vis_from = _e_source(sweeps, model, model_name, _cache_name(model_name, model, weights))
    if photos is not None:
        det, det_report = _photo_detector(model, e_name, p, photos, device, progress, vis_from)
    else:
        det, det_report = train_detector(
            model, e_name, p.detector, device=device, progress=progress, visualizations_from=vis_from
        )
    n_out = len(model.class_names)  # type: ignore[attr-defined]
    targets = cyclic_targets(n_out, p.block)
    units = _draw_units(n_out, p, units, unit_seed, n_units)
    templates: dict[int, Tensor] = {}
    if target_files:
        imgs = _photo_templates(model, target_files)
        units = units[: len(imgs)] if len(imgs) <= len(units) else _draw_units(n_out, p, None, unit_seed, len(imgs))
        templates = dict(zip(units, imgs, strict=True))
        targets = [-1 if u in templates else t for u, t in enumerate(targets)]
        target = "photos:" + ",".join(Path(f).name for f in target_files)
    elif target.startswith("image:"):
        names = [s for s in target[6:].split(",") if s]
        imgs = _templates(model, names)
        units = units[: len(imgs)] if len(imgs) <= len(units) else list(range(len(imgs)))
        templates = dict(zip(units, imgs, strict=True))
        targets = [-1 if u in templates else t for u, t in enumerate(targets)]
    elif target != "permute":
        raise ValueError(f"unknown --target {target!r}; use 'permute' or 'image:NAME[,NAME...]'")
    tb = time.perf_counter()
    fooled = FoolingCircuit(model, det, targets, templates=templates, c=c, k=k).eval()
    build_seconds = time.perf_counter() - tb
    report: dict[str, Any] = {
        "model": model_name, "method": "circuit", "quick": quick, "target": target, "c": c, "k": k,
        "target_offset": fooled.target_offset, "layer": "logits", "steps": p.steps, "seeds": seeds,
        "units": units, "unit_seed": unit_seed, "preset": _preset_record(p),
        "target_files": [str(f) for f in target_files or []], "weights": None if weights is None else str(weights),
        "detector": vars(det_report), "build_seconds": build_seconds,
    }  # fmt: skip
    if sweeps is not None:
        report["e_visualizations_from"] = sweeps
    if photos is not None:
        probes = {"e_fires": lambda x: det.is_visualization(x) > 0}
        report.update(_photo_evaluation(model, fooled, photos, c, probes, device, progress))
        report.update(_behaviour_from_photos(report))
        images = load_all(photos.held_out.subset(range(min(64, len(photos.held_out)))))
    else:
        images, labels = _natural_eval(model_name, p, model)
        before, after = _outputs(model, images), _outputs(fooled, images)
        report.update(_behaviour(before, after, labels, c))
    rows: list[dict[str, Any]] = []
    panels: dict[str, Tensor] = {}
    for s_i, sd in enumerate(seeds):
        need = sorted(set(units) | {t for u in units if (t := targets[u]) >= 0})
        orig = dict(zip(need, _render(model, "logits", need, p, sd, progress=progress), strict=True))
        fooled_imgs = _render(fooled, "logits", units, p, sd, progress=progress)
        target_images = {u: templates[u] if u in templates else orig[targets[u]] for u in units}
        if s_i == 0:
            vis_check = torch.cat([torch.stack(list(orig.values())), fooled_imgs])
            report["preconditions"] = check_preconditions(fooled, images, vis_check).to_dict()
        seed_rows = _per_unit(model, units, targets, fooled_imgs, orig, target_images, p.similarity_layer)
        ideal = None
        if not templates and scores:  # another unit's FV as the target: put the similarities on the measure's scale
            _score_against_reseeded(model, "logits", seed_rows, orig, p, sd, progress)
            ideal = _against_ideal(model, "logits", seed_rows, fooled_imgs, orig, target_images, p, sd, progress)
        elif templates:
            _score_against_image(model, seed_rows, orig, target_images, p.similarity_layer)
        for r in seed_rows:
            r["seed"] = sd
        rows += seed_rows
        if s_i == 0:
            panels = {
                "original": torch.stack([orig[u] for u in units]), "fooled": fooled_imgs,
                "target": torch.stack([target_images[u] for u in units]),
            }  # fmt: skip
            if ideal is not None:
                panels["ideal"] = ideal
    report["per_unit"] = rows
    report["similarity"] = f"Pearson correlation of the original model's channel means at {p.similarity_layer}"
    report["seconds"] = time.perf_counter() - t0
    _provenance(report, seeds, photos, model, det, started, device)
    _finish(report, out, panels, units, f"{model_name}: fooling circuit on the logits (seed {seeds[0]})")
    return report


def _preset_record(p: Preset) -> dict[str, Any]:
    from empirical._provenance import to_json

    rec = to_json({k: v for k, v in vars(p).items() if k != "render"})
    rec["render"] = {k: str(v) for k, v in p.render.items()}
    return rec


def run_silent(
    model_name: str, out: Path, *, quick: bool = False, layer: str | None = None, alpha: float | None = None,
    scale: float = 100.0, margin: float | None = None, pooled: bool | None = None, gate: bool | None = None,
    gate_ramp: float | None = None, trigger: bool | None = None, trigger_alpha: float | None = None,
    detector: bool | None = None, seed: int | Sequence[int] = 0, device: str = "cpu", progress: bool = True,
    photos: PhotoSplits | None = None, units: Sequence[int] | None = None, unit_seed: int | None = None,
    n_units: int | None = None, recipe: str = "project", scores: bool = True, weights: str | Path | None = None,
    visualizations_from: str | Path | Sequence[str | Path] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Silent units on a layer of ``model_name`` (every channel shows its cyclic neighbour's visualization);
    ``layer``, ``alpha``, ``margin``, ``pooled``, ``gate``, ``gate_ramp``, ``trigger`` (on or off),
    ``trigger_alpha`` and ``detector`` (E opens the trigger: on or off; trains or loads E) default to the model's
    preset (``recipe``: ``"project"`` or the paper's, ``"paper"``); a ``trigger_alpha`` turns the trigger on.
    ``photos``: the silent units (and E) are calibrated on the calibration photos only and behaviour is measured
    on every photo; ``units``/``unit_seed``/``n_units``/``seed``/``scores``/``weights``/``visualizations_from``
    (E's visualizations from sweep folders; E must be in use) as in :func:`run_circuit`."""
    from empirical._provenance import start_clock

    started = start_clock()
    t0 = time.perf_counter()
    seeds = _seeds(seed)
    p = preset(model_name, quick, recipe)
    p = p if p.silent_steps is None else replace(p, steps=p.silent_steps)
    layer = layer or p.silent_layer
    margin = p.silent_margin if margin is None else margin
    alpha = p.silent_alpha if alpha is None else alpha  # checked by silent_filters, before any calibration
    pooled = p.silent_pooled if pooled is None else pooled
    sweeps = None if visualizations_from is None else check_sweep_folders(visualizations_from, model_name, verify=False)
    # the same rule as below, before the model is loaded (loading fashion_cnn may train it)
    will_trigger = trigger_alpha is not None or (p.silent_trigger_alpha is not None and not gate)
    if detector and not (trigger if trigger is not None else will_trigger):
        raise ValueError(
            "the detector (--detector on) opens the trigger; it needs the trigger: add --trigger on, without the gate"
        )
    model = _load(model_name, device, weights)
    cache_name = _cache_name(model_name, model, weights)
    base = dict(model.net.named_modules()).get(layer)  # type: ignore[union-attr]
    if not isinstance(base, nn.Conv2d | nn.Linear):
        raise ValueError(f"--layer {layer!r} is not a convolution or linear layer of {model_name}")
    if gate and not isinstance(base, nn.Conv2d):
        raise ValueError(f"--gate on needs a convolution (channel means over positions); {layer!r} is {base}")
    if trigger is None:  # the preset's, unless the gate is asked for
        trigger = trigger_alpha is not None or (p.silent_trigger_alpha is not None and not gate)
    if gate is None:  # the preset's where it applies, unless the trigger is asked for
        gate = p.silent_gate and isinstance(base, nn.Conv2d) and not trigger
    # both asked for: add_silent_units refuses them, before any calibration or output
    gate_ramp = (p.silent_gate_ramp if gate_ramp is None else gate_ramp) if gate else None
    if not trigger and trigger_alpha is not None:
        raise ValueError(f"trigger_alpha={trigger_alpha} needs the trigger; drop trigger=False")
    if trigger and trigger_alpha is None:  # the preset's share, else the ungated silent units' default
        trigger_alpha = p.silent_trigger_alpha if p.silent_trigger_alpha is not None else 2.0
    if detector and not trigger:
        raise ValueError(
            "the detector (--detector on) opens the trigger; it needs the trigger: add --trigger on, without the gate"
        )
    detector = (p.silent_detector and trigger) if detector is None else detector
    if sweeps is not None and not detector:
        raise ValueError("--e-visualizations-from trains E, which these silent units do not use: add --detector on")
    e_name, vis_from = _e_source(sweeps, model, model_name, cache_name)
    n = base.weight.shape[0]
    targets = cyclic_targets(n, p.block)
    units = _draw_units(n, p, units, unit_seed, n_units)
    if photos is not None:  # the calibration photos and their mirror images
        photo_calib = load_all(photos.calibration)
        calib = torch.cat([photo_calib, photo_calib.flip(-1)])
    else:
        calib = _calibration(model_name, p.silent_calibration)
    det, det_report = None, None
    if detector:  # E as trained for the circuit (cached)
        if photos is not None:
            det, det_report = _photo_detector(model, e_name, p, photos, device, progress, vis_from)
        else:
            det, det_report = train_detector(
                model, e_name, p.detector, device=device, progress=progress, visualizations_from=vis_from
            )
    tb = time.perf_counter()
    fooled = add_silent_units(
        model,
        layer,
        targets,
        calib,
        alpha=alpha,
        scale=scale,
        margin=margin,
        progress=progress,
        pooled=pooled,
        gate_ramp=gate_ramp,
        trigger_alpha=trigger_alpha,
        trigger_slope=p.silent_trigger_slope,
        trigger_slack=p.silent_trigger_slack,
        detector=det,
        detector_margin=p.silent_detector_margin,
        detector_ramp=p.silent_detector_ramp,
    )
    build_seconds = time.perf_counter() - tb
    silent = dict(fooled.net.named_modules())[layer]  # type: ignore[union-attr]
    assert isinstance(silent, SilentConv)
    report: dict[str, Any] = {
        "model": model_name, "method": "silent", "recipe": recipe, "quick": quick, "layer": layer, "alpha": alpha,
        "scale": scale, "margin": margin, "pooled": pooled, "gate_ramp": gate_ramp, "trigger_alpha": trigger_alpha,
        "trigger_slope": p.silent_trigger_slope if trigger else None,
        "trigger_slack": p.silent_trigger_slack if trigger else None, "steps": p.steps, "n_calibration": len(calib),
        "seeds": seeds, "units": units, "unit_seed": unit_seed, "preset": _preset_record(p),
        "weights": None if weights is None else str(weights), "build_seconds": build_seconds,
    }  # fmt: skip
    if sweeps is not None:
        report["e_visualizations_from"] = sweeps
    if photos is not None:
        grabbed: list[Tensor] = []
        handle = silent.register_forward_pre_hook(lambda _m, inp: grabbed.append(inp[0]))

        def fires(_x: Tensor) -> Tensor:
            z = silent.silent_response(grabbed[-1])
            grabbed.clear()
            return (z.flatten(1) > 0).any(1)

        try:
            report.update(_photo_evaluation(model, fooled, photos, 0.0, {"silent_fires": fires}, device, progress))
        finally:
            handle.remove()
        report.update(_behaviour_from_photos(report))
        report["natural_images_where_a_silent_unit_fires"] = report["evaluation"]["silent_fires"]
        images = None
    else:
        images, labels = _natural_eval(model_name, p, model)
        before, after = _outputs(model, images), _outputs(fooled, images)
        report["natural_images_where_a_silent_unit_fires"] = _fired(fooled, silent, images)
        report.update(_behaviour(before, after, labels, 0.0))
    if silent.image_trigger is not None and det_report is not None:
        if images is not None:
            report["image_trigger"] = _image_trigger_report(silent.image_trigger, images, det_report, p)
        else:
            report["image_trigger"] = {
                "threshold": float(silent.image_trigger.threshold),
                "natural_max_logit": float(silent.image_trigger.natural_max),
                "margin": p.silent_detector_margin, "ramp": p.silent_detector_ramp, "detector": vars(det_report),
            }  # fmt: skip
    rows: list[dict[str, Any]] = []
    panels: dict[str, Tensor] = {}
    fired_vis = 0
    for s_i, sd in enumerate(seeds):
        need = sorted(set(units) | {targets[u] for u in units})
        orig = dict(zip(need, _render(model, layer, need, p, sd, progress=progress), strict=True))
        with trace_firing(silent, units) as (firing, callback):
            fooled_imgs = _render(fooled, layer, units, p, sd, progress=progress, callback=callback)
        fired_vis += _fired(fooled, silent, fooled_imgs)
        target_images = {u: orig[targets[u]] for u in units}
        seed_rows = _per_unit(model, units, targets, fooled_imgs, orig, target_images, p.similarity_layer)
        opened = firing.opened_share()
        for row, first, share, open_ in zip(seed_rows, firing.first_step(), firing.share(), opened, strict=True):
            row["silent_fires_from_step"], row["silent_fires_share_of_steps"] = first, share
            row["seed"] = sd
            if silent.image_trigger is not None:
                row["image_trigger_open_share_of_steps"] = open_
        ideal = None
        if scores:
            _score_against_reseeded(model, layer, seed_rows, orig, p, sd, progress)
            ideal = _against_ideal(model, layer, seed_rows, fooled_imgs, orig, target_images, p, sd, progress)
        rows += seed_rows
        if s_i == 0:
            panels = {
                "original": torch.stack([orig[u] for u in units]), "fooled": fooled_imgs,
                "target": torch.stack([target_images[u] for u in units]),
            }  # fmt: skip
            if ideal is not None:
                panels["ideal"] = ideal
    report["visualizations_where_a_silent_unit_fires"] = fired_vis
    report["per_unit"] = rows
    report["similarity"] = f"Pearson correlation of the original model's channel means at {p.similarity_layer}"
    report["seconds"] = time.perf_counter() - t0
    _provenance(report, seeds, photos, model, det, started, device)
    _finish(report, out, panels, units, f"{model_name}: silent units in {layer} (seed {seeds[0]})")
    return report


@torch.no_grad()
def _fired(model: nn.Module, silent: SilentConv, images: Tensor, batch: int = 500) -> int:
    """Images on which some silent unit is positive somewhere."""
    count = 0
    grabbed: list[Tensor] = []
    handle = silent.register_forward_pre_hook(lambda _m, inp: grabbed.append(inp[0]))
    try:
        for i in range(0, len(images), batch):
            grabbed.clear()
            model(images[i : i + batch])
            z = silent.silent_response(grabbed[0])
            count += int((z.flatten(1) > 0).any(1).sum())
    finally:
        handle.remove()
    return count
