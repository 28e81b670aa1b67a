r"""The path-similarity experiment end to end: inputs checked, visualizations rendered, natural images streamed
(split across ``torchrun`` ranks), every metric scored, the paper's finding tested, results written.

:func:`run_paths` is what ``fvtrust paths`` calls; from Python it gives the same files and numbers. Classes are
those with at least ``min_photos`` images in the folder (``classes`` of them drawn with ``seed`` when fewer are
asked for). The natural images of each class are dealt into the three roles of :func:`path_similarity`
(reference, held-out, control) by :func:`assign_roles` before any image is read, so the statistics do not depend
on the number of processes: rank ``r`` of ``w`` streams every ``w``-th used image and the per-role sums are added
with ``all_reduce`` (the same numbers as one process, up to float summation order).
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from empirical import _distributed as dist
from empirical.paths._analysis import NaturalStats, PathResult, assign_roles, depth_summary, score_layers
from empirical.paths._defaults import PATH_DEFAULTS, default_layers, fv_settings
from empirical.paths._fv import small_transforms
from empirical.paths._metrics import METRICS
from empirical.paths._render import render_visualizations, write_atomic
from empirical.paths._stream import GroupMeans, embed_images_multi

__all__ = [
    "LIMITS",
    "PathsConfig",
    "PathsReport",
    "check_config",
    "choose_classes",
    "natural_stats_sharded",
    "run_paths",
    "write_outputs",
]

#: Allowed ranges (inclusive) of the integer settings.
LIMITS: dict[str, tuple[int, int]] = {
    "classes": (2, 100_000),
    "min_photos": (3, 1_000_000),
    "images_per_class": (1, 1_000_000),
    "seeds": (1, 1_000),
    "steps": (0, 100_000),
    "bootstrap": (0, 1_000_000),
    "image_buckets": (1, 1_000),
    "batch_size": (1, 4_096),
    "workers": (0, 64),
    "chunk": (1, 4_096),
    "seed": (0, 2**31 - 1),
}
_NO_FOLDER = ("fashion_cnn",)


@dataclass(frozen=True)
class PathsConfig:
    """Every setting of one path-similarity run (``fvtrust paths`` flags of the same names).

    Attributes:
        model: zoo model name; ``weights``: its weights file for models that do not ship them.
        out: output folder (``paths.json``, ``paths.csv``, ``paths.png``, ``visualizations.png`` and the
            resumable visualization cache ``visualizations/``).
        imagenet_dir: ImageNet class folders (:func:`empirical.data.image_folder`); required for ImageNet models,
            unused for ``fashion_cnn`` (Fashion-MNIST test split).
        classes: how many of the eligible classes to use (None: all); drawn with ``seed`` when fewer.
        min_photos: a class is eligible with at least this many images (>= 3: one per role).
        images_per_class: natural images per class and role (None: all images of the class, dealt into 3 roles).
        seeds, steps: visualizations per class (seeds ``seed .. seed + seeds - 1``) and optimisation steps.
        metrics, pooling, layers: similarity measures, spatial pooling, layers (None: :func:`default_layers`).
        bootstrap, image_buckets, confidence: replicates, image buckets per (role, class), interval level.
        early_fraction: the share of the layers (from the input) compared with the paper's "first two thirds".
        batch_size, workers, device, chunk: batches of natural images, loader processes, torch device, classes
            rendered per visualization batch (and cache file).
    """

    model: str
    out: Path
    imagenet_dir: Path | None = None
    weights: Path | None = None
    classes: int | None = None
    min_photos: int = 5
    images_per_class: int | None = None
    seeds: int = 3
    steps: int = 512
    metrics: tuple[str, ...] = ("spearman", "pearson", "cosine")
    pooling: str = "mean"
    layers: tuple[str, ...] | None = None
    bootstrap: int = 2000
    image_buckets: int = 10
    confidence: float = 0.95
    early_fraction: float = 2 / 3
    seed: int = 0
    batch_size: int = 32
    workers: int = 0
    device: str = "cpu"
    chunk: int = 10
    progress: bool = False

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


@dataclass
class PathsReport:
    """What :func:`run_paths` wrote: the result dict (``paths.json``), the files, one summary line per metric."""

    result: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    #: True in the process that wrote the files and should print (rank 0 under ``torchrun``).
    main: bool = True


def _writable_dir(path: Path) -> None:
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"--out {path}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path}: {probe} is not writable")


def check_config(config: PathsConfig) -> None:
    """Raise ValueError (one line naming the setting and what is allowed) before any work."""
    from empirical.models import MODEL_NAMES

    if config.model not in MODEL_NAMES:
        raise ValueError(f"--model {config.model!r}: choose one of {', '.join(MODEL_NAMES)}")
    for name, (lo, hi) in LIMITS.items():
        v = getattr(config, name)
        if v is None and name in ("classes", "images_per_class"):
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"--{name.replace('_', '-')} must be an integer in {lo}..{hi}, got {v!r}")
    if not config.metrics or len(set(config.metrics)) != len(config.metrics):
        raise ValueError(f"--metrics: give distinct metrics among {', '.join(METRICS)}, got {list(config.metrics)}")
    bad = [m for m in config.metrics if m not in METRICS]
    if bad:
        raise ValueError(f"--metrics: unknown {bad[0]!r}; choose among {', '.join(METRICS)}")
    if config.pooling not in ("mean", "flatten"):
        raise ValueError(f"--pooling {config.pooling!r}: choose 'mean' or 'flatten'")
    for name in ("confidence", "early_fraction"):
        v = getattr(config, name)
        if not isinstance(v, float | int) or not 0 < v < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be in (0, 1), got {v!r}")
    if config.model in _NO_FOLDER:
        if config.imagenet_dir is not None:
            raise ValueError(f"--imagenet-dir: {config.model} is not an ImageNet model (it uses Fashion-MNIST)")
    else:
        if config.imagenet_dir is None:
            raise ValueError(
                f"--imagenet-dir is required for {config.model} (ImageNet class folders, >= 3 photos each)"
            )
        if not Path(config.imagenet_dir).is_dir() or not os.access(config.imagenet_dir, os.R_OK | os.X_OK):
            raise ValueError(f"--imagenet-dir {config.imagenet_dir}: not a readable directory")
    if config.weights is not None and not (Path(config.weights).is_file() and os.access(config.weights, os.R_OK)):
        raise ValueError(f"--weights {config.weights}: not a readable file")
    try:
        device = torch.device(config.device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"--device {config.device!r}: {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {config.device}: CUDA is not available here")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {config.device!r}: choose cpu, cuda or cuda:N")
    _writable_dir(Path(config.out))


@dataclass
class _Natural:
    """Labelled natural images: model output index per item, and a reader of batches ``(images, indices)``."""

    labels: Tensor
    source: str
    files: Any
    read: Any  # Callable[[list[int]], Iterable[tuple[Tensor, Tensor]]]
    wnids: list[str] | None = None


def _natural(config: PathsConfig, model: nn.Module, folder: Any) -> _Natural:
    if folder is None:
        from empirical.data import natural_images

        d = natural_images("fashion")

        def read(idx: list[int]) -> Iterator[tuple[Tensor, Tensor]]:
            for i in range(0, len(idx), config.batch_size):
                j = torch.tensor(idx[i : i + config.batch_size], dtype=torch.long)
                yield d.images[j], j

        assert d.labels is not None
        return _Natural(d.labels.long(), "Fashion-MNIST test split", None, read)
    data = folder
    labels = data.labels_for(model)

    def read_folder(idx: list[int]) -> Iterable[tuple[Tensor, Tensor]]:
        return data.loader(config.batch_size, config.workers, idx) if idx else iter(())

    return _Natural(labels, f"image folder {data.root}", data, read_folder, list(data.wnids))


def choose_classes(labels: Tensor, min_photos: int, n: int | None, seed: int) -> tuple[list[int], int]:
    """Sorted class indices with at least ``min_photos`` items (``n`` of them drawn with ``seed`` if given) and the
    number of eligible classes; ValueError when there are fewer than 2 (or than ``n``)."""
    values, counts = torch.unique(labels[labels >= 0], return_counts=True)
    eligible = [int(v) for v, c in zip(values.tolist(), counts.tolist(), strict=True) if c >= min_photos]
    if len(eligible) < 2:
        raise ValueError(f"--min-photos {min_photos}: only {len(eligible)} classes have that many images (need 2)")
    if n is None or n == len(eligible):
        return eligible, len(eligible)
    if n > len(eligible):
        raise ValueError(f"--classes {n}: only {len(eligible)} classes have >= {min_photos} images")
    pick = np.random.default_rng(seed).choice(len(eligible), size=n, replace=False)
    return sorted(eligible[i] for i in pick), len(eligible)


def natural_stats_sharded(
    model: nn.Module,
    natural: _Natural,
    groups: Tensor,
    buckets: Tensor,
    n_classes: int,
    layers: Sequence[str],
    metrics: Sequence[str],
    pooling: str,
    n_buckets: int,
    progress: bool = False,
) -> dict[str, NaturalStats]:
    """Per metric, the bucketed role sums of the used images (``groups >= 0``): this rank streams its share
    (:func:`empirical._distributed.shard`), one forward pass per batch for all metrics, then sums and counts are
    added over ranks."""
    from tqdm import tqdm

    used = torch.nonzero(groups >= 0).flatten().tolist()
    mine = [used[i] for i in dist.shard(len(used))]
    accs = {m: GroupMeans(3 * n_classes, n_buckets) for m in metrics}
    c, h, w = getattr(model, "input_size", (3, 224, 224))
    probe = embed_images_multi(model, torch.zeros(1, c, h, w), layers, metrics[:1], pooling)[metrics[0]]
    dims = {name: e.shape[1] for name, e in probe.items()}
    for images, idx in tqdm(natural.read(mine), desc="natural images", disable=not progress, leave=False):
        idx = torch.as_tensor(idx, dtype=torch.long)
        emb = embed_images_multi(model, images, layers, metrics, pooling)
        for m in metrics:
            accs[m].add(emb[m], groups[idx], buckets[idx])
    out = {}
    for m, acc in accs.items():
        sums = acc.bucket_sums()
        total = {
            name: dist.all_reduce_sum(
                sums.get(name, torch.zeros(3 * n_classes, n_buckets, dims[name], dtype=torch.float64))
            )
            for name in layers
        }
        counts = dist.all_reduce_sum(acc.bucket_counts().clone())
        out[m] = NaturalStats(
            {name: s.view(3, n_classes, n_buckets, -1) for name, s in total.items()},
            counts.view(3, n_classes, n_buckets),
        )
    return out


def _round(x: Any, digits: int = 6) -> Any:
    if isinstance(x, float):
        return round(x, digits) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _round(v, digits) for k, v in x.items()}
    if isinstance(x, list):
        return [_round(v, digits) for v in x]
    return x


def _metric_block(res: PathResult, summary: dict[str, Any]) -> dict[str, Any]:
    full = res.to_json()
    means = {n: {t: float(np.mean(v)) for t, v in res.terms[n].items()} for n in res.layers}
    return {
        "score": full["score"],
        "control_same_class": full["control_same_class"],
        "control_other_class": full["control_other_class"],
        "mean_terms": means,
        "paper_comparison": summary,
    }


def run_paths(config: PathsConfig, log: Any = None) -> PathsReport:
    """Run the experiment of ``config`` and write its files to ``config.out`` (rank 0 under ``torchrun``).

    Returns the result dict written as ``paths.json`` (schema ``fvtrust.paths/2``, see ``docs/paths.md``). Under
    ``torchrun`` every rank leaves the process group before it returns (a rank that exits with the group still
    open can abort in gloo's teardown)."""
    try:
        return _run_paths(config, log)
    finally:
        dist.finish()


def _run_paths(config: PathsConfig, log: Any) -> PathsReport:
    from empirical._provenance import provenance, start_clock
    from empirical.models import load_model

    check_config(config)
    started = start_clock()
    dist.init_from_env(config.device)
    say = (lambda s: None) if log is None or not dist.is_main() else log
    folder = None
    if config.imagenet_dir is not None:
        from empirical.data import image_folder

        folder = image_folder(Path(config.imagenet_dir))  # every file checked before the model is loaded
    model = load_model(config.model, weights=config.weights, device=config.device)
    layers = list(config.layers) if config.layers else default_layers(model)
    for layer in layers:
        if layer != "logits":
            model.get_layer(layer)  # ValueError naming the valid layers
    natural = _natural(config, model, folder)
    classes, n_eligible = choose_classes(natural.labels, config.min_photos, config.classes, config.seed)
    k = len(classes)
    photos = [int((natural.labels == c).sum()) for c in classes]
    per_role = config.images_per_class or math.ceil(max(photos) / 3)
    settings = replace(
        PATH_DEFAULTS, metric=config.metrics[0], pooling=config.pooling, images_per_class=per_role,
        n_bootstrap=config.bootstrap, image_buckets=config.image_buckets, confidence=float(config.confidence),
        seed=config.seed, batch_size=config.batch_size,
    )  # fmt: skip
    groups, buckets = assign_roles(natural.labels, classes, per_role, config.image_buckets, config.seed)
    say(f"{k} classes (of {n_eligible} with >= {config.min_photos} images), {int((groups >= 0).sum())} natural images")

    fv = fv_settings(config.model)
    seeds = [config.seed + j for j in range(config.seeds)]
    t_fv = time.perf_counter()
    vis, chunks = render_visualizations(
        model, classes, seeds, config.steps, Path(config.out) / "visualizations", chunk=config.chunk,
        transforms=small_transforms() if fv.small_transforms else None, crop=fv.crop, progress=config.progress,
        log=say,
    )  # fmt: skip
    t_fv = time.perf_counter() - t_fv
    t_nat = time.perf_counter()
    stats = natural_stats_sharded(
        model, natural, groups, buckets, k, layers, config.metrics, config.pooling, config.image_buckets,
        config.progress,
    )  # fmt: skip
    t_nat = time.perf_counter() - t_nat
    vis_emb: dict[str, dict[str, list[Tensor]]] = {m: {n: [] for n in layers} for m in config.metrics}
    flat = vis.flatten(0, 1)
    for i in range(0, len(flat), config.batch_size):
        e = embed_images_multi(model, flat[i : i + config.batch_size], layers, config.metrics, config.pooling)
        for m in config.metrics:
            for n in layers:
                vis_emb[m][n].append(e[m][n].cpu())
    names = [model.class_names[c] for c in classes]
    blocks, results, summary = {}, {}, []
    for m in config.metrics:
        emb = {n: torch.cat(vis_emb[m][n]).view(k, len(seeds), -1) for n in layers}
        res = score_layers(emb, stats[m], classes, layers, replace(settings, metric=m), names)
        comp = depth_summary(res, config.early_fraction, config.confidence)
        results[m], blocks[m] = res, _metric_block(res, comp)
        e, late, d = comp["early"], comp["late"], comp["late_minus_early"]
        summary.append(
            f"{m:>8}: first {len(e['layers'])} layers {e['mean']:+.3f} [{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}], "
            f"last {len(late['layers'])} {late['mean']:+.3f} [{late['ci'][0]:+.3f}, {late['ci'][1]:+.3f}], "
            f"late - early {d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"
        )
    weights: dict[str, Any] = {"model": Path(config.weights)} if config.weights else {"model": model.state_dict()}
    n_files = len(natural.files) if natural.files is not None else len(natural.labels)
    result: dict[str, Any] = {
        "schema": "fvtrust.paths/2",
        "model": config.model,
        "layers": layers,
        "n_early_layers": len(next(iter(blocks.values()))["paper_comparison"]["early"]["layers"]),
        "classes": classes,
        "class_names": names,
        "wnids": [natural.wnids[int(torch.nonzero(natural.labels == c)[0])] for c in classes]
        if natural.wnids
        else None,
        "natural_images": {
            "source": natural.source,
            "n_files": n_files,
            "n_eligible_classes": n_eligible,
            "n_classes": k,
            "photos_per_class": {"min": min(photos), "max": max(photos), "total": sum(photos)},
            "images_per_role": per_role,
            "used_file_list_sha256": (
                natural.files.subset(torch.nonzero(groups >= 0).flatten().tolist()).file_list_sha256()
                if natural.files is not None
                else None
            ),
            "used_per_role": {
                r: int(stats[config.metrics[0]].counts[i].sum())
                for i, r in enumerate(("reference", "heldout", "control"))
            },
        },
        "visualizations": {
            "objective": "class logit",
            "steps": config.steps,
            "seeds": seeds,
            "transforms": "small (28 px)" if fv.small_transforms else "paper (Lucent)",
            "crop": fv.crop,
            "chunks_rendered_this_run": chunks["rendered"],
            "chunks_loaded_from_cache": chunks["loaded"],
        },
        "metrics": blocks,
        "settings": config.as_dict(),
        "seconds": {"visualizations": round(t_fv, 2), "natural_images": round(t_nat, 2)},
        "world_size": dist.world_size(),
    }
    files = natural.files if natural.files is not None else None
    result["provenance"] = provenance(
        config.as_dict(), seeds, natural.source, files, weights, started, device=config.device
    )
    result = _round(result)
    report = PathsReport(result, [], summary, dist.is_main())
    if dist.is_main():
        report.files = write_outputs(result, results, vis, Path(config.out))
    dist.barrier()
    return report


def write_outputs(result: dict[str, Any], results: dict[str, PathResult], vis: Tensor, out: Path) -> list[Path]:
    """``paths.json``, ``paths.csv`` (one row per metric and layer), ``paths.png`` and ``visualizations.png``,
    each written to a temporary name first and renamed (no partial file)."""
    from empirical.paths._plot import plot_metrics, save_grid

    out.mkdir(parents=True, exist_ok=True)
    written = []

    def publish(name: str, write: Any) -> None:
        written.append(write_atomic(out / name, write))  # fresh mkstemp name, then os.replace

    publish("paths.json", lambda p: p.write_text(json.dumps(result, indent=1)))

    def write_csv(p: Path) -> None:
        with p.open("w", newline="") as f:
            rows = [{"metric": m, **row} for m, res in results.items() for row in res.rows()]
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    publish("paths.csv", write_csv)
    publish("paths.png", lambda p: plot_metrics(result, p))
    publish("visualizations.png", lambda p: save_grid(vis[:10], result["class_names"][:10], p))
    return written
