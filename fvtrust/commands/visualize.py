"""``fvtrust visualize``: feature visualizations of units of a zoo model, as PNGs and JSON records.

``fvtrust visualize --model mobilenet_v2 --unit features.17:42 --unit logits:967 --steps 512 --out DIR``
renders every unit (units of one layer in one batch), writes ``DIR/<model>_<layer>_<unit>.png`` and ``.json``
per unit and ``DIR/grid.png`` when there are several units. Each record holds the settings and
``objective_start``, ``objective_final`` and ``natural_max`` (the unit's largest value over the first
``--natural`` images of the model's natural-image set, at the render size).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fvtrust.errors import check_int, check_output_dir

__all__ = ["parse_unit", "register", "run"]

MAX_NATURAL = 100_000  # natural images for natural_max (the bundled sets hold far fewer; all are used then)
MAX_SEED = 2**63 - 1

_UNIT = re.compile(r"^(?P<layer>[^:\s]+):(?P<index>\d+)$")


def parse_unit(text: str) -> tuple[str, int]:
    """``"features.17:42"`` -> ``("features.17", 42)``; anything else: ``ValueError`` with a one-line message."""
    match = _UNIT.match(text.strip())
    if match is None:
        raise ValueError(
            f"bad --unit {text!r}: expected LAYER:INDEX with INDEX >= 0, e.g. features.17:42 or logits:967"
        )
    return match["layer"], int(match["index"])


def register(subparsers: argparse._SubParsersAction) -> None:
    from empirical.visualize import PAPER_DEFAULTS

    p = subparsers.add_parser(
        "visualize",
        help="feature visualizations of units of a zoo model (PNG + JSON per unit)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help="zoo model name, e.g. mobilenet_v2 (see `fvtrust models`)")
    p.add_argument(
        "--unit", action="append", required=True, metavar="LAYER:INDEX",
        help="unit to visualise, e.g. features.17:42 or logits:967 (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--steps", type=int, default=PAPER_DEFAULTS.steps, help="Adam steps, 0..100000 (default %(default)s)"
    )
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--seed", type=int, default=0, help="run seed; each unit's image seed derives from it")
    p.add_argument(
        "--size", type=int, default=None,
        help="image side in pixels, 1..4096 and within memory (default: the model's input size)",
    )  # fmt: skip
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default %(default)s)")
    p.add_argument("--weights", default=None, help="weights file for models without bundled weights")
    p.add_argument("--neuron", action="store_true", help="maximise the centre neuron instead of the channel mean")
    p.add_argument(
        "--crop", action="store_true",
        help="feed the model the centre of the transformed frame (faster; the paper fed the padded frame)",
    )  # fmt: skip
    p.add_argument(
        "--no-fuse", action="store_true",
        help="optimise the model as given (default: a copy with batch norms folded into convolutions, same function)",
    )  # fmt: skip
    p.add_argument(
        "--redirect-relu", type=int, default=None, metavar="STEPS",
        help="redirect ReLU gradients for the first STEPS steps (default: the model's; 16 for inceptionv1, else 0)",
    )  # fmt: skip
    p.add_argument(
        "--redirect-rule", choices=("lucid", "lucent"), default=None,
        help="redirected-ReLU rule: lucid (only where no gradient gets through) or lucent (0.1 x gradient below 0)",
    )  # fmt: skip
    p.add_argument("--natural", type=int, default=64, help="natural images used for natural_max (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _load_model(name: str, weights: str | None, device: str) -> nn.Module:
    from empirical.models import load_model

    return load_model(name, weights=weights, device=device)


def _natural_images(kind: str) -> Tensor:
    from empirical.data import natural_images

    return natural_images(kind).images


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _to_pil(image: Tensor) -> Any:
    from PIL import Image

    array = (image.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)


def _grid(images: Tensor, columns: int = 8, gap: int = 2) -> Tensor:
    """Images (N, C, H, W) tiled row by row on a white background."""
    n, c, h, w = images.shape
    cols = min(columns, n)
    rows = -(-n // cols)
    grid = torch.ones(c, rows * (h + gap) - gap, cols * (w + gap) - gap)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        grid[:, r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = image
    return grid


def _natural_max(
    model: nn.Module, layer: str, units: list[int], neuron: bool, kind: str, count: int, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Largest value of each unit over the first ``count`` natural images (resized to ``size``), its index,
    and the number of images used."""
    from empirical.visualize import ActivationCapture, channel
    from empirical.visualize import neuron as neuron_objective

    images = _natural_images(kind)[:count]
    if images.shape[-2:] != size:
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    device, dtype = next(iter(model.parameters())).device, next(iter(model.parameters())).dtype
    objectives = [(neuron_objective if neuron else channel)(layer, u) for u in units]
    values = []
    with torch.no_grad(), ActivationCapture(model, [layer]) as capture:
        for batch in images.split(16):
            acts = capture.run(batch.to(device=device, dtype=dtype))
            values.append(torch.stack([o(acts) for o in objectives], dim=1).double().cpu())
    table = torch.cat(values).numpy()
    return table.max(axis=0), table.argmax(axis=0), int(table.shape[0])


def run(args: argparse.Namespace) -> int:
    from empirical._device import resolve_device
    from empirical.visualize import (
        MAX_STEPS,
        PAPER_DEFAULTS,
        check_render_limits,
        image_seed,
        standard_transforms,
        visualize_units,
    )

    units = [parse_unit(u) for u in args.unit]
    largest_batch = max(Counter(layer for layer, _ in set(units)).values())  # units of one layer render together
    # limits (docs/reliability.md): steps and size, and the batch's estimated memory, before any allocation
    check_render_limits(args.steps, args.size, largest_batch, resolve_device(args.device))
    check_int("--natural", args.natural, 1, MAX_NATURAL)
    check_int("--seed", args.seed, 0, MAX_SEED)
    if args.redirect_relu is not None:
        check_int("--redirect-relu", args.redirect_relu, 0, MAX_STEPS)
    check_output_dir(args.out, "--out")
    args.device = str(resolve_device(args.device))
    model = _load_model(args.model, args.weights, args.device)
    model.eval()
    input_size = tuple(int(v) for v in getattr(model, "input_size", (3, 224, 224)))
    size = (args.size, args.size) if args.size else input_size[1:]
    kind = "fashion" if input_size[0] == 1 else "imagenet"
    args.out.mkdir(parents=True, exist_ok=True)

    by_layer: dict[str, list[int]] = {}
    for layer, index in units:
        by_layer.setdefault(layer, [])
        if index not in by_layer[layer]:
            by_layer[layer].append(index)
    rendered: dict[tuple[str, int], Tensor] = {}
    for layer, indices in by_layer.items():
        started = time.perf_counter()
        res = visualize_units(
            model, layer, indices, steps=args.steps, seed=args.seed, size=size, device=args.device,
            neuron_objective=args.neuron, crop=args.crop, progress=not args.no_progress,
            fuse=not args.no_fuse, redirect_relu=args.redirect_relu, redirect_rule=args.redirect_rule,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        nat_max, nat_arg, nat_count = _natural_max(model, layer, indices, args.neuron, kind, args.natural, size)
        for b, index in enumerate(indices):
            stem = f"{_safe(args.model)}_{_safe(layer)}_{index}"
            _to_pil(res.images[b]).save(args.out / f"{stem}.png")
            rendered[(layer, index)] = res.images[b]
            record = {
                "model": args.model,
                "layer": layer,
                "unit": index,
                "objective": "centre neuron" if args.neuron else "channel mean",
                "image": f"{stem}.png",
                "steps": args.steps,
                "seed": args.seed,
                "image_seed": image_seed(args.seed, index),
                "input_shape": [input_size[0], *size],
                "lr": PAPER_DEFAULTS.lr,
                "param": PAPER_DEFAULTS.param,
                "decorrelate": input_size[0] == 3,
                "transforms": [repr(t) for t in standard_transforms()],
                "crop": args.crop,
                "fused": not args.no_fuse,
                "redirect_relu": {"steps": res.redirect_relu[0], "rule": res.redirect_relu[1] or None},
                "device": args.device,
                "objective_start": float(res.objective_start[b]),
                "objective_final": float(res.objective_final[b]),
                "natural_max": float(nat_max[b]),
                "natural_max_image": int(nat_arg[b]),
                "natural_images": {"kind": kind, "count": nat_count},
                "render_seconds_batch": round(seconds, 3),
                "batch_units": indices,
            }
            (args.out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
            print(
                f"{layer}:{index}  objective {record['objective_start']:.4g} -> {record['objective_final']:.4g}"
                f"  (natural max {record['natural_max']:.4g})  {args.out / (stem + '.png')}"
            )
    if len(rendered) > 1:
        ordered = [rendered[u] for u in dict.fromkeys(units)]
        _to_pil(_grid(torch.stack(ordered))).save(args.out / "grid.png")
        print(f"grid: {args.out / 'grid.png'}")
    return 0
