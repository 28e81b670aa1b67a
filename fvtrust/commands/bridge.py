"""``fvtrust bridge``: how much the Lipschitz theory certifies about one unit of a real network.

``fvtrust bridge --model fashion_cnn --unit features.3:5 --out DIR [--exemplars K] [--images N] [--steps S]``
treats the unit as f on [0,1]^d, takes its feature visualizations (max and min) and optionally top-/bottom-K
exemplars as observations, bounds its Lipschitz constant (certified upper, sampled lower), and writes
``DIR/bridge.json``, ``DIR/bridge.png`` and ``DIR/bridge.md`` (also printed). The library call is
:func:`empirical.bridge.bridge_unit`.
"""

from __future__ import annotations

import argparse

from fvtrust.errors import path_arg

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "bridge",
        help="certified value ranges of one unit of a real network (Lipschitz theory on image space)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help="fashion_cnn, mobilenet_v2 or inceptionv1 (with --weights)")
    p.add_argument(
        "--weights", default=None,
        help="weights file, for models whose weights do not ship (inceptionv1: Lucent's inception5h.pth; 'random' "
        "for an untrained net); loaded first, so a bad file fails before any work",
    )  # fmt: skip
    p.add_argument("--unit", required=True, metavar="LAYER:INDEX", help="e.g. features.17:42 or logits:3")
    p.add_argument("--out", required=True, type=path_arg, help="output directory (created)")
    p.add_argument("--exemplars", type=int, default=0, help="top-K and bottom-K natural exemplars as observations")
    p.add_argument("--images", type=int, default=None, help="natural test images (default 1000 / 64; quick 200 / 12)")
    p.add_argument("--steps", type=int, default=None, help="visualization steps (default 512; quick 64)")
    p.add_argument("--quick", action="store_true", help="fewer steps, images and sample points")
    p.add_argument("--seed", type=int, default=0, help="seed of the visualizations, crops and random points")
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fvtrust.errors import check_output_dir

    check_output_dir(args.out, "--out")  # creatable and writable (probed: os.access says yes to root in /proc)
    from empirical.bridge import bridge_unit  # torch: loaded only when this command runs

    result = bridge_unit(
        args.model, args.unit, args.out, exemplars=args.exemplars, images=args.images, steps=args.steps,
        quick=args.quick, seed=args.seed, device=args.device, progress=not args.no_progress, weights=args.weights,
    )  # fmt: skip
    print(result.markdown)
    print(f"\nwrote {', '.join(str(p) for p in result.paths.values())}")
    return 0
