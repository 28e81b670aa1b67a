"""``fvtrust paths``: path similarity of class visualizations to natural images, layer by layer (BRIEF section 3).

``fvtrust paths --model fashion_cnn --out DIR [--metric spearman|pearson|cosine]`` renders one logit visualization
per class (and seed), streams natural images of every class through the model, and writes ``DIR/paths.json``
(``layers``, ``score`` per layer with bootstrap CIs, ``control_same_class``, ``control_other_class``, settings),
``DIR/paths.csv``, ``DIR/paths.png`` (normalised similarity across depth with CI bands), ``DIR/visualizations.png``
and ``DIR/visualizations.pt`` (reusable with ``--visualizations``).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["imagenet_folder", "load_natural", "load_visualizations", "plot_paths", "register", "run"]

_MODELS = ("fashion_cnn", "mobilenet_v2")
_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "paths",
        help="path similarity: are class visualizations processed like natural images of the class?",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, choices=_MODELS, help="zoo model")
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--metric", default="spearman", choices=("spearman", "pearson", "cosine"))
    p.add_argument("--pooling", default="mean", choices=("mean", "flatten"), help="spatial pooling (default mean)")
    p.add_argument("--layers", nargs="+", default=None, help="layers (default: the model's list in docs/paths.md)")
    p.add_argument("--images-per-class", type=int, default=None, help="natural images per class and role")
    p.add_argument("--steps", type=int, default=None, help="visualization steps (default: per model)")
    p.add_argument("--fv-per-class", type=int, default=None, help="visualizations (seeds) per class")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap replicates (default %(default)s)")
    p.add_argument(
        "--image-buckets", type=int, default=10,
        help="buckets of images per class and role resampled by the bootstrap; 1: classes only (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--visualizations", type=Path, default=None,
        help="reuse visualizations saved by an earlier run (its visualizations.pt) instead of rendering",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="few steps and images: a smoke run in about a minute")
    p.add_argument("--imagenet-dir", type=Path, default=None, help="folder of class subfolders (index or name)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _load_image(path: Path, size: int) -> Tensor:
    import numpy as np
    from PIL import Image

    from empirical.data import to_tensor

    with Image.open(path) as img:
        return to_tensor(np.asarray(img.convert("RGB")), size)


def imagenet_folder(root: Path, class_names: list[str]) -> dict[int, list[Path]]:
    """``root/<class>/*.jpg`` with ``<class>`` an index or a class name of the model -> {class index: files}."""
    if not root.is_dir():
        raise ValueError(f"--imagenet-dir {root} is not a directory")
    lookup = {n.lower(): i for i, n in enumerate(class_names)}
    out: dict[int, list[Path]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        key = sub.name.strip().lower()
        idx = int(key) if key.isdigit() else lookup.get(key.replace("_", " "), lookup.get(key))
        if idx is None or not 0 <= idx < len(class_names):
            raise ValueError(f"--imagenet-dir: folder {sub.name!r} is neither a class index nor a class name")
        files = sorted(f for f in sub.iterdir() if f.suffix.lower() in _IMAGE_EXTS)
        if files:
            out[idx] = files
    if len(out) < 2:
        raise ValueError(f"--imagenet-dir {root}: need image folders of at least 2 classes, found {len(out)}")
    return out


def _folder_stream(
    files: dict[int, list[Path]], per_class: int, size: int, batch: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """Batches of images read from disk on demand, classes interleaved, at most ``3 * per_class`` per class."""
    todo = [(k, f) for k, fs in files.items() for f in fs[: 3 * per_class]]
    todo.sort(key=lambda kf: files[kf[0]].index(kf[1]))  # interleave classes
    for i in range(0, len(todo), batch):
        chunk = todo[i : i + batch]
        yield torch.stack([_load_image(f, size) for _, f in chunk]), torch.tensor([k for k, _ in chunk])


def load_natural(
    model: nn.Module, per_class: int, seed: int, imagenet_dir: Path | None, batch: int
) -> tuple[Any, Tensor | None, list[int], dict[str, Any]]:
    """Natural images for ``model``: (images or a batch stream, labels or None, classes, description)."""
    from empirical.data import natural_images, random_crops

    if model.name == "fashion_cnn":
        d = natural_images("fashion")
        return d.images, d.labels, list(range(10)), {"source": "Fashion-MNIST test split", "n": len(d)}
    size = model.input_size[1]
    if imagenet_dir is not None:
        files = imagenet_folder(imagenet_dir, model.class_names)
        classes = sorted(files)
        info = {"source": f"image folder {imagenet_dir}", "files": {str(k): len(v) for k, v in files.items()}}
        return _folder_stream(files, per_class, size, batch), None, classes, info
    d = natural_images("imagenet", size=size)
    keep = [i for i, lab in enumerate(d.labels.tolist()) if lab >= 0]
    images, labels = [], []
    for j, i in enumerate(keep):
        photo = d.images[i : i + 1]
        crops = random_crops(photo, 3 * per_class - 1, size=size, seed=seed + j)
        images.append(torch.cat([photo, crops]))
        labels.append(torch.full((3 * per_class,), int(d.labels[i])))
    classes = [int(d.labels[i]) for i in keep]
    info = {
        "source": "bundled photos with an ImageNet label, each plus random crops of itself",
        "photos": {d.names[i]: int(d.labels[i]) for i in keep},
    }
    return torch.cat(images), torch.cat(labels), classes, info


def plot_paths(result: dict[str, Any], path: Path, title: str) -> None:
    """Normalised similarity across depth with CI bands, visualizations and both controls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = result["layers"]
    x = list(range(len(layers)))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(layers) + 3), 4.2))
    for key, label, colour in (
        ("score", "feature visualization of class c", "C3"),
        ("control_same_class", "control: other images of class c", "C2"),
        ("control_other_class", "control: images of other classes", "C7"),
    ):
        y = [result[key][n]["score"] for n in layers]
        lo = [result[key][n]["ci"][0] for n in layers]
        hi = [result[key][n]["ci"][1] for n in layers]
        ax.plot(x, y, "o-", color=colour, label=label, ms=4)
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
    ax.axhline(0, color="k", lw=0.5)
    ax.axhline(1, color="k", lw=0.5, ls=":")
    ax.set_xticks(x, layers, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"normalised {result['settings']['metric']} similarity")
    ax.set_xlabel("layer (input -> output)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _save_grid(images: Tensor, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k, n = images.shape[:2]
    fig, axes = plt.subplots(n, k, figsize=(1.3 * k, 1.4 * n), squeeze=False)
    for i in range(k):
        for j in range(n):
            img = images[i, j].permute(1, 2, 0).numpy()
            axes[j][i].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            axes[j][i].axis("off")
        axes[0][i].set_title(names[i][:14], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_visualizations(path: Path, classes: list[int]) -> tuple[Tensor, dict[str, Any]]:
    """``visualizations.pt`` of an earlier run: ``{"images": (K, n, C, H, W), "classes": [...], ...}`` or a bare
    tensor; the classes must match this run's."""
    if not path.is_file():
        raise ValueError(f"--visualizations {path}: no such file")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(data, Tensor):
        data = {"images": data, "classes": classes}
    images = data["images"]
    if images.ndim == 4:
        images = images[:, None]
    if list(data.get("classes", classes)) != list(classes) or images.shape[0] != len(classes):
        raise ValueError(f"--visualizations {path}: classes {data.get('classes')} do not match this run's {classes}")
    meta = {k: v for k, v in data.items() if k not in ("images", "classes") and isinstance(v, int | float | str | bool)}
    return images.float(), meta


def run(args: argparse.Namespace) -> int:
    from empirical.models import load_model
    from empirical.paths import IMAGES_PER_CLASS, PATH_DEFAULTS, class_visualizations, fv_settings, path_similarity

    for name in ("images_per_class", "steps", "fv_per_class"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "steps" else 1):
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.image_buckets < 1:
        raise ValueError(f"--image-buckets must be >= 1, got {args.image_buckets}")
    progress = not args.no_progress
    model = load_model(args.model, device=args.device)
    layers = args.layers
    if layers is not None:
        for layer in layers:
            model.get_layer(layer)  # ValueError naming valid layers
    fv = fv_settings(args.model)
    per_class = args.images_per_class or IMAGES_PER_CLASS.get(args.model, PATH_DEFAULTS.images_per_class)
    if args.quick:
        fv = replace(fv, steps=min(fv.steps, 48), fv_per_class=1)
        per_class = min(per_class, 50 if args.model == "fashion_cnn" else 8)
    fv = replace(fv, steps=args.steps if args.steps is not None else fv.steps, seed=args.seed)
    if args.fv_per_class is not None:
        fv = replace(fv, fv_per_class=args.fv_per_class)
    settings = replace(
        PATH_DEFAULTS, metric=args.metric, pooling=args.pooling, images_per_class=per_class,
        n_bootstrap=args.bootstrap, image_buckets=args.image_buckets, seed=args.seed,
        batch_size=250 if args.model == "fashion_cnn" else 32,
    )  # fmt: skip
    natural, labels, classes, info = load_natural(model, per_class, args.seed, args.imagenet_dir, settings.batch_size)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    fv_meta: dict[str, Any] = {"fv_steps": fv.steps, "fv_per_class": fv.fv_per_class}
    if args.visualizations is not None:
        vis, loaded = load_visualizations(args.visualizations, classes)
        fv_meta = {"fv_file": str(args.visualizations), "fv_per_class": int(vis.shape[1]), **loaded}
    else:
        vis = class_visualizations(model, classes, fv, progress=progress)
        torch.save({"images": vis, "classes": classes, "steps": fv.steps}, args.out / "visualizations.pt")
    t_fv = time.perf_counter() - t0
    names = [model.class_names[c] for c in classes]
    res = path_similarity(model, vis, natural, labels, classes, layers, settings, names, progress)
    t_all = time.perf_counter() - t0

    out = res.to_json()
    out["model"] = args.model
    out["natural_images"] = info
    out["settings"].update(
        {**fv_meta, "fv_small_transforms": fv.small_transforms, "fv_crop": fv.crop, "quick": args.quick,
         "device": args.device},
    )  # fmt: skip
    out["seconds"] = {"visualizations": round(t_fv, 2), "total": round(t_all, 2)}
    (args.out / "paths.json").write_text(json.dumps(out, indent=1))
    rows = res.rows()
    with (args.out / "paths.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    steps = fv_meta.get("steps", fv_meta.get("fv_steps", "?"))
    title = f"{args.model}: {len(classes)} classes, {steps}-step logit FVs, {args.metric}, {args.pooling} pooling"
    plot_paths(out, args.out / "paths.png", title)
    _save_grid(vis, names, args.out / "visualizations.png")
    for row in rows:
        print(
            f"{row['layer']:>14}  FV {row['score']:+.3f} [{row['score_ci_low']:+.3f}, {row['score_ci_high']:+.3f}]"
            f"  same-class {row['same_class']:+.3f}  other-class {row['other_class']:+.3f}"
        )
    print(f"wrote {args.out}/paths.json, paths.csv, paths.png ({t_all:.1f} s)")
    return 0
