"""``fvtrust visualize``: feature visualizations of units of a zoo model, as PNGs and JSON records.

``fvtrust visualize --model mobilenet_v2 --unit features.17:42 --unit logits:967 --steps 512 --out DIR``
renders every unit (units of one layer in one batch), writes ``DIR/<model>_<layer>_<unit>.png`` and ``.json``
per unit and ``DIR/grid.png`` when there are several units. Each record holds the settings and
``objective_start``, ``objective_final`` and ``natural_max`` (the unit's largest value over the first
``--natural`` images of the model's natural-image set, at the render size). The library call is
:func:`empirical.visualize.visualize_to_folder`.
"""

from __future__ import annotations

import argparse

from fvtrust.errors import path_arg

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
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
        "--steps", type=int, default=None,
        help="Adam steps, 0..100000 (default: the paper's, empirical.visualize.PAPER_DEFAULTS.steps)",
    )  # fmt: skip
    p.add_argument("--out", required=True, type=path_arg, help="output directory (created)")
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


def run(args: argparse.Namespace) -> int:
    from empirical.visualize import VisualizeConfig, visualize_to_folder

    steps = {} if args.steps is None else {"steps": args.steps}  # none given: the config's default (the paper's)
    config = VisualizeConfig(
        model=args.model, units=tuple(args.unit), out=args.out, **steps, seed=args.seed, size=args.size,
        device=args.device, weights=args.weights, neuron=args.neuron, crop=args.crop, fuse=not args.no_fuse,
        redirect_relu=args.redirect_relu, redirect_rule=args.redirect_rule, natural=args.natural,
        progress=not args.no_progress,
    )  # fmt: skip
    visualize_to_folder(config, log=print)
    return 0
