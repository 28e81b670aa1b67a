"""``fvtrust fool``: a network whose behaviour on natural images is unchanged but whose feature visualizations
show what the attacker chose (fooling circuit or silent units), with measurements.

``fvtrust fool --model fashion_cnn --method circuit --out DIR [--quick]`` writes ``DIR/report.json`` (accuracy
before/after, largest output change, preconditions, per-unit similarity to target and original) and
``DIR/fooling.png`` (original visualizations, fooled visualizations, targets). With ``--imagenet-dir DIR``
(ImageNet models) E, the silent units and every threshold are calibrated on the folder's calibration split and
original and fooled model are evaluated on every photo (``evaluation`` in report.json). With
``--e-visualizations-from DIR [DIR ...]`` E learns from the visualizations of ``fvtrust sweep`` folders of the model
instead of rendering its own (every file's checksum verified first; recorded in report.json).
"""

from __future__ import annotations

import argparse
import json

from fvtrust.errors import path_arg

__all__ = ["register", "run"]

# the library's names and limits, repeated here only as help text (torch-free import of the command line)
MODELS = ("fashion_cnn", "mobilenet_v2", "inceptionv1")
METHODS = ("circuit", "silent")
MAX_UNITS = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fool",
        help="fool feature visualizations (fooling circuit or silent units) and measure it",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help=f"zoo model: {', '.join(MODELS)}")
    p.add_argument(
        "--weights", default=None,
        help="weights file, for models whose weights do not ship (inceptionv1: Lucent's inception5h.pth; "
        "'random' for an untrained net); checked before any work",
    )  # fmt: skip
    p.add_argument("--method", required=True, help=f"manipulation: {' or '.join(METHODS)}")
    p.add_argument(
        "--target", default="permute",
        help="permute (each unit shows its cyclic neighbour's visualization), photos (circuit: template units "
        "showing photos drawn from --extra-dir with --unit-seed) or image:NAME[,NAME...] "
        "(circuit: template units showing bundled photos or Fashion-MNIST test images testN)",
    )  # fmt: skip
    p.add_argument("--out", required=True, type=path_arg, help="output directory (created)")
    p.add_argument("--quick", action="store_true", help="small but real version (a few minutes on a CPU)")
    p.add_argument("--layer", default=None, help="silent units: the conv/linear layer (default per model)")
    p.add_argument(
        "--per-position", action="store_true",
        help="silent units: one per position, as in the paper (default: pooled over positions, see docs/fooling.md)",
    )  # fmt: skip
    p.add_argument(
        "--gate", choices=("on", "off"), default=None,
        help="silent units: behind the off-manifold gate (on) or not (off); default per model, see docs/fooling.md",
    )  # fmt: skip
    p.add_argument(
        "--gate-ramp",
        type=float,
        default=None,
        help="silent units: ramp of the gate, implies --gate on (default 0.01)",
    )
    p.add_argument(
        "--trigger", choices=("on", "off"), default=None,
        help="silent units: latched by a trigger with a small orthogonal share (on) or not (off); default per "
        "model, see docs/fooling.md",
    )  # fmt: skip
    p.add_argument(
        "--trigger-alpha", type=float, default=None,
        help="silent units: orthogonal share of the trigger, implies --trigger on (default per model: 1 for "
        "mobilenet_v2, else 2)",
    )  # fmt: skip
    p.add_argument(
        "--detector", choices=("on", "off"), default=None,
        help="silent units: the trigger is also opened by the natural-vs-visualization classifier E on the "
        "network's input (on; trains or loads E) or not (off); needs the trigger; default per model (on for "
        "mobilenet_v2), see docs/fooling.md",
    )  # fmt: skip
    p.add_argument(
        "--alpha", type=float, default=None,
        help="silent units: orthogonal share alpha of the silent filters (default per model, see docs/fooling.md)",
    )  # fmt: skip
    p.add_argument(
        "--detector-rule", choices=("max_margin", "quantile"), default=None,
        help="circuit with --imagenet-dir: how E's threshold is set on the calibration photos (default: the "
        "preset's, max_margin; quantile: at most --detector-fpr of them above it); see docs/fooling.md",
    )  # fmt: skip
    p.add_argument(
        "--detector-fpr", type=float, default=None,
        help="with --detector-rule quantile: the share of calibration photos allowed above E's threshold, in "
        "(0, 0.5) (default: the preset's, 0.0025)",
    )  # fmt: skip
    p.add_argument("--c", type=float, default=100.0, help="circuit constant c (default %(default)s)")
    p.add_argument("--k", type=float, default=250.0, help="circuit constant k (default %(default)s)")
    p.add_argument("--seed", type=int, nargs="+", default=[0], help="visualization seed(s) (default %(default)s)")
    p.add_argument(
        "--imagenet-dir", type=path_arg, default=None,
        help="ImageNet folder (class sub-folders): calibration split for E and thresholds, every photo evaluated",
    )  # fmt: skip
    p.add_argument(
        "--extra-dir", type=path_arg, default=None,
        help="with --imagenet-dir: a folder of further natural photos (e.g. classes outside the 1,000), evaluated "
        "and the source of --target photos",
    )  # fmt: skip
    p.add_argument(
        "--units", type=int, default=None, help=f"number of units measured, 2..{MAX_UNITS} (default per model)"
    )
    p.add_argument("--unit-seed", type=int, default=None, help="draw the measured units at random with this seed")
    p.add_argument(
        "--recipe", choices=("project", "paper"), default="project", help="silent units: preset or the paper's"
    )
    p.add_argument(
        "--e-visualizations-from", type=path_arg, nargs="+", default=None, metavar="DIR",
        help="fvtrust sweep folder(s) of --model whose visualizations E is trained on instead of rendering its own "
        "(circuit, or silent units with E); every file's checksum is verified before any work",
    )  # fmt: skip
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from empirical.fooling import FoolingConfig, run_fooling

    def on_off(value: str | None) -> bool | None:  # None: the model's preset
        return None if value is None else value == "on"

    config = FoolingConfig(
        model=args.model, method=args.method, out=args.out, target=args.target, quick=args.quick,
        weights=args.weights, layer=args.layer, per_position=args.per_position, gate=on_off(args.gate),
        gate_ramp=args.gate_ramp, trigger=on_off(args.trigger), trigger_alpha=args.trigger_alpha,
        detector=on_off(args.detector), alpha=args.alpha, recipe=args.recipe, detector_rule=args.detector_rule,
        detector_fpr=args.detector_fpr, c=args.c, k=args.k, seeds=tuple(args.seed), units=args.units,
        unit_seed=args.unit_seed, imagenet_dir=args.imagenet_dir, extra_dir=args.extra_dir,
        e_visualizations_from=None if args.e_visualizations_from is None else tuple(args.e_visualizations_from),
        device=args.device, progress=not args.no_progress,
    )  # fmt: skip
    report = run_fooling(config)
    keys = (
        "accuracy_before", "accuracy_after", "accuracy_before_top5", "accuracy_after_top5", "top1_agreement",
        "max_output_change", "max_output_change_minus_shift", "mean_similarity_to_target",
        "mean_similarity_to_original", "units_closer_to_target", "units_closer_to_target_by_pixels",
        "mean_fooling_score", "median_fooling_score", "units_closer_to_target_ideal", "mean_similarity_to_ideal",
    )  # fmt: skip
    shown = {k: report[k] for k in keys if k in report}
    if "evaluation" in report:
        shown["evaluation"] = {k: v for k, v in report["evaluation"].items() if not k.endswith("_interval")}
    print(json.dumps(shown, indent=1))
    print(f"wrote {args.out / 'report.json'} and {args.out / 'fooling.png'}")
    return 0
