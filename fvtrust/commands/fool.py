"""``fvtrust fool``: a network whose behaviour on natural images is unchanged but whose feature visualizations
show what the attacker chose (fooling circuit or silent units), with measurements.

``fvtrust fool --model fashion_cnn --method circuit --out DIR [--quick]`` writes ``DIR/report.json`` (accuracy
before/after, largest output change, preconditions, per-unit similarity to target and original) and
``DIR/fooling.png`` (original visualizations, fooled visualizations, targets).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register", "run"]

MODELS = ("fashion_cnn", "mobilenet_v2")
METHODS = ("circuit", "silent")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fool",
        help="fool feature visualizations (fooling circuit or silent units) and measure it",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help=f"zoo model: {' or '.join(MODELS)}")
    p.add_argument("--method", required=True, help=f"manipulation: {' or '.join(METHODS)}")
    p.add_argument(
        "--target", default="permute",
        help="permute (each unit shows its cyclic neighbour's visualization) or image:NAME[,NAME...] "
        "(circuit: template units showing bundled photos or Fashion-MNIST test images testN)",
    )  # fmt: skip
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--quick", action="store_true", help="small but real version (a few minutes on a CPU)")
    p.add_argument("--layer", default=None, help="silent units: the conv/linear layer (default per model)")
    p.add_argument("--c", type=float, default=100.0, help="circuit constant c (default %(default)s)")
    p.add_argument("--k", type=float, default=250.0, help="circuit constant k (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="visualization seed (default %(default)s)")
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.model not in MODELS:
        raise ValueError(f"--model {args.model!r} is not supported; use one of: {', '.join(MODELS)}")
    if args.method not in METHODS:
        raise ValueError(f"--method {args.method!r} is not one of: {', '.join(METHODS)}")
    if args.target != "permute" and not args.target.startswith("image:"):
        raise ValueError(f"--target {args.target!r}: use 'permute' or 'image:NAME[,NAME...]'")
    if args.method == "silent" and args.target != "permute":
        raise ValueError("--method silent supports --target permute only")
    if args.k <= 0:
        raise ValueError(f"--k must be positive, got {args.k}")
    from empirical.fooling import run_circuit, run_silent

    common = dict(quick=args.quick, seed=args.seed, device=args.device, progress=not args.no_progress)
    if args.method == "circuit":
        report = run_circuit(args.model, args.out, target=args.target, c=args.c, k=args.k, **common)
    else:
        report = run_silent(args.model, args.out, layer=args.layer, **common)
    keys = (
        "accuracy_before", "accuracy_after", "accuracy_before_top5", "accuracy_after_top5", "top1_agreement",
        "max_output_change", "max_output_change_minus_shift", "mean_similarity_to_target",
        "mean_similarity_to_original", "units_closer_to_target",
    )  # fmt: skip
    print(json.dumps({k: report[k] for k in keys if k in report}, indent=1))
    print(f"wrote {args.out / 'report.json'} and {args.out / 'fooling.png'}")
    return 0
