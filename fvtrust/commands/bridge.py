"""``fvtrust bridge``: how much the Lipschitz theory certifies about one unit of a real network.

``fvtrust bridge --model fashion_cnn --unit features.3:5 --out DIR [--exemplars K] [--images N] [--steps S]``
treats the unit as f on [0,1]^d, takes its feature visualizations (max and min) and optionally top-/bottom-K
exemplars as observations, bounds its Lipschitz constant (certified upper, sampled lower), and writes
``DIR/bridge.json``, ``DIR/bridge.png`` and ``DIR/bridge.md`` (also printed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from torch import nn

__all__ = ["register", "run"]

#: Defaults per model: (test images, exemplar pool, random points), full and ``--quick``.
DEFAULTS = {
    "fashion_cnn": {"full": (1000, 10000, 256), "quick": (200, 2000, 32)},
    "mobilenet_v2": {"full": (64, 128, 8), "quick": (12, 24, 2)},
}
QUICK_STEPS = 64


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "bridge",
        help="certified value ranges of one unit of a real network (Lipschitz theory on image space)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help="fashion_cnn or mobilenet_v2")
    p.add_argument("--unit", required=True, metavar="LAYER:INDEX", help="e.g. features.17:42 or logits:3")
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--exemplars", type=int, default=0, help="top-K and bottom-K natural exemplars as observations")
    p.add_argument("--images", type=int, default=None, help="natural test images (default 1000 / 64; quick 200 / 12)")
    p.add_argument("--steps", type=int, default=None, help="visualization steps (default 512; quick 64)")
    p.add_argument("--quick", action="store_true", help="fewer steps, images and sample points")
    p.add_argument("--seed", type=int, default=0, help="seed of the visualizations, crops and random points")
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _load_model(name: str, device: str) -> nn.Module:
    from empirical.models import load_model

    return load_model(name, device=device)


def _check(args: argparse.Namespace) -> None:
    from fvtrust.bridge import MODELS

    if args.model not in MODELS:
        raise ValueError(f"--model {args.model!r} is not supported; choose one of {', '.join(MODELS)}")
    for name, low in (("exemplars", 0), ("images", 1), ("steps", 1), ("seed", 0)):
        value = getattr(args, name)
        if value is not None and value < low:
            raise ValueError(f"--{name} must be >= {low}, got {value}")


def run(args: argparse.Namespace) -> int:
    from fvtrust.bridge import analyse, load_bridge_data, markdown, write_outputs
    from fvtrust.commands.visualize import parse_unit

    layer, index = parse_unit(args.unit)
    _check(args)
    n_images, pool, random_points = DEFAULTS[args.model]["quick" if args.quick else "full"]
    n_images = args.images or n_images
    steps = args.steps or (QUICK_STEPS if args.quick else 512)
    started = time.perf_counter()
    model = _load_model(args.model, args.device)
    data = load_bridge_data(args.model, n_images, pool if args.exemplars else 0, args.seed)
    result = analyse(
        model, layer, index, data, exemplars=args.exemplars, steps=steps, seed=args.seed,
        random_points=random_points, progress=not args.no_progress,
    )  # fmt: skip
    result.report.update(model=args.model, device=args.device, seconds=round(time.perf_counter() - started, 1))
    paths = write_outputs(result, args.out, f"{args.model} {layer}:{index}")
    print(markdown(result.report))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    return 0
