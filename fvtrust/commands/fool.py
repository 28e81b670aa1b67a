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
import math
from pathlib import Path

from fvtrust.errors import check_output_dir

__all__ = ["register", "run"]

MODELS = ("fashion_cnn", "mobilenet_v2", "inceptionv1")
METHODS = ("circuit", "silent")


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
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
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
        "--imagenet-dir", type=Path, default=None,
        help="ImageNet folder (class sub-folders): calibration split for E and thresholds, every photo evaluated",
    )  # fmt: skip
    p.add_argument(
        "--extra-dir", type=Path, default=None,
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
        "--e-visualizations-from", type=Path, nargs="+", default=None, metavar="DIR",
        help="fvtrust sweep folder(s) of --model whose visualizations E is trained on instead of rendering its own "
        "(circuit, or silent units with E); every file's checksum is verified before any work",
    )  # fmt: skip
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


N_FASHION_TEST = 10000
MAX_UNITS = 64
MAX_SEED = 2**31 - 1
MAX_SEEDS = 100  # visualization seeds per run: each renders every unit again


def _check_target(target: str) -> None:
    """``permute``, ``photos`` (drawn from --extra-dir) or ``image:NAME[,NAME...]`` with every NAME a bundled photo
    or ``testN`` (N < 10,000)."""
    if target in ("permute", "photos"):
        return
    if not target.startswith("image:"):
        raise ValueError(f"--target {target!r}: use 'permute' or 'image:NAME[,NAME...]'")
    from empirical.data import PHOTOS

    names = target[len("image:") :].split(",")
    for name in names:
        test_image = name.startswith("test") and name[4:].isdigit() and int(name[4:]) < N_FASHION_TEST
        if name not in PHOTOS and not test_image:
            raise ValueError(
                f"--target {target!r}: unknown target image {name!r}; use a bundled photo "
                f"({', '.join(PHOTOS)}) or testN with N < {N_FASHION_TEST} (a Fashion-MNIST test image)"
            )


def run(args: argparse.Namespace) -> int:
    if args.model not in MODELS:
        raise ValueError(f"--model {args.model!r} is not supported; use one of: {', '.join(MODELS)}")
    if args.method not in METHODS:
        raise ValueError(f"--method {args.method!r} is not one of: {', '.join(METHODS)}")
    _check_target(args.target)
    if args.method == "silent" and args.target != "permute":
        raise ValueError("--method silent supports --target permute only")
    silent_only = (
        args.per_position or args.layer is not None or args.gate is not None or args.gate_ramp is not None
        or args.alpha is not None or args.trigger is not None or args.trigger_alpha is not None
        or args.detector is not None
    )  # fmt: skip
    if args.method != "silent" and silent_only:
        raise ValueError(
            "--per-position, --layer, --alpha, --gate, --gate-ramp, --trigger, --trigger-alpha and --detector "
            "apply to --method silent only"
        )
    if args.alpha is not None and not args.alpha >= 0:
        raise ValueError(f"--alpha must be >= 0, got {args.alpha}")
    if args.trigger_alpha is not None and not args.trigger_alpha >= 0:
        raise ValueError(f"--trigger-alpha must be >= 0, got {args.trigger_alpha}")
    if args.trigger == "off" and args.trigger_alpha is not None:
        raise ValueError("--trigger-alpha needs the trigger; drop --trigger off")
    asks_gate = args.gate == "on" or args.gate_ramp is not None
    if asks_gate and (args.trigger == "on" or args.trigger_alpha is not None):
        raise ValueError("silent units take the gate or the trigger, not both; drop one")
    if args.detector == "on" and (asks_gate or args.trigger == "off"):
        raise ValueError("--detector on opens the trigger; it needs the trigger (drop --trigger off / the gate)")
    if args.gate_ramp is not None and not args.gate_ramp > 0:
        raise ValueError(f"--gate-ramp must be positive, got {args.gate_ramp}")
    if args.gate == "off" and args.gate_ramp is not None:
        raise ValueError("--gate-ramp needs the gate; drop --gate off")
    if args.k <= 0:
        raise ValueError(f"--k must be positive, got {args.k}")
    if args.c <= 0:
        raise ValueError(f"--c must be positive (natural input needs F + c > 0), got {args.c}")
    for name in ("k", "c", "alpha", "trigger_alpha", "gate_ramp"):
        v = getattr(args, name)
        if v is not None and not math.isfinite(v):
            raise ValueError(f"--{name.replace('_', '-')} must be a finite number, got {v}")
    if args.k > 1e6 or args.c > 1e6:
        raise ValueError("--c and --k must be at most 1e6")
    if len(args.seed) > MAX_SEEDS:
        raise ValueError(f"--seed: at most {MAX_SEEDS} seeds per run, got {len(args.seed)}")
    if any(not 0 <= s <= MAX_SEED for s in args.seed) or len(set(args.seed)) != len(args.seed):
        raise ValueError(f"--seed: distinct integers in 0..{MAX_SEED}, got {args.seed}")
    if args.unit_seed is not None and not 0 <= args.unit_seed <= MAX_SEED:
        raise ValueError(f"--unit-seed must be in 0..{MAX_SEED}, got {args.unit_seed}")
    if args.units is not None and not 2 <= args.units <= MAX_UNITS:
        raise ValueError(f"--units must be in 2..{MAX_UNITS}, got {args.units}")
    if (args.detector_rule is not None or args.detector_fpr is not None) and args.method != "circuit":
        raise ValueError("--detector-rule and --detector-fpr apply to --method circuit only")
    if args.detector_fpr is not None:
        if args.detector_rule != "quantile":
            raise ValueError("--detector-fpr needs --detector-rule quantile")
        if not 0 < args.detector_fpr < 0.5:
            raise ValueError(f"--detector-fpr must be in (0, 0.5), got {args.detector_fpr}")
    if args.recipe == "paper" and args.method != "silent":
        raise ValueError("--recipe paper applies to --method silent only")
    if args.imagenet_dir is not None:
        if args.model == "fashion_cnn":
            raise ValueError("--imagenet-dir applies to ImageNet models, not fashion_cnn")
        if not args.imagenet_dir.is_dir():
            raise ValueError(f"--imagenet-dir {str(args.imagenet_dir)!r} is not a directory")
    if args.extra_dir is not None and args.imagenet_dir is None:
        raise ValueError("--extra-dir needs --imagenet-dir")
    if args.extra_dir is not None and not args.extra_dir.is_dir():
        raise ValueError(f"--extra-dir {str(args.extra_dir)!r} is not a directory")
    if args.target == "photos" and (args.extra_dir is None or args.method != "circuit"):
        raise ValueError(
            "--target photos draws template photos from --extra-dir: it needs --extra-dir and --method circuit"
        )
    if args.e_visualizations_from is not None and args.method == "silent":  # E must be in use
        from empirical.fooling import preset

        e_default = preset(args.model, args.quick, args.recipe).silent_detector and args.trigger != "off"
        if args.detector == "off" or (args.detector is None and (asks_gate or not e_default)):
            raise ValueError(
                "--e-visualizations-from trains E, which these silent units do not use: add --detector on"
            )
    check_output_dir(args.out, "--out")  # a folder, or creatable as one (not below a regular file), writable
    from empirical._device import resolve_device

    try:
        args.device = str(resolve_device(args.device))
    except ValueError as err:
        raise ValueError(f"--device: {err}") from None
    from empirical.fooling import check_sweep_folders, check_weights, photo_splits, run_circuit, run_silent

    check_weights(args.model, args.weights)  # missing, unreadable or wrong weights: one line, before any work
    if args.e_visualizations_from is not None:  # a sweep of --model, every file's checksum verified: one line
        check_sweep_folders(args.e_visualizations_from, args.model)

    photos = None
    if args.imagenet_dir is not None:  # every photo checked before any model work
        photos = photo_splits(args.imagenet_dir, args.extra_dir)
    seed = args.seed[0] if len(args.seed) == 1 else args.seed
    common = dict(
        quick=args.quick, seed=seed, device=args.device, progress=not args.no_progress, photos=photos,
        unit_seed=args.unit_seed, n_units=args.units, weights=args.weights,
        visualizations_from=args.e_visualizations_from,
    )  # fmt: skip
    if args.method == "circuit":
        report = run_circuit(
            args.model, args.out, target=args.target, c=args.c, k=args.k,
            detector_rule=args.detector_rule, detector_fpr=args.detector_fpr, **common,
        )  # fmt: skip
    else:
        pooled = False if args.per_position else None  # None: the model's preset
        gate = None if args.gate is None else args.gate == "on"  # None: the model's preset
        gate = True if gate is None and args.gate_ramp is not None else gate  # a ramp asks for the gate
        trigger = None if args.trigger is None else args.trigger == "on"  # None: the model's preset
        report = run_silent(
            args.model, args.out, layer=args.layer, alpha=args.alpha, pooled=pooled, gate=gate,
            gate_ramp=args.gate_ramp, trigger=trigger, trigger_alpha=args.trigger_alpha,
            detector=None if args.detector is None else args.detector == "on", recipe=args.recipe, **common,
        )  # fmt: skip
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
