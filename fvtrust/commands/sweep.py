"""``fvtrust sweep``: feature visualizations of many (unit, seed) pairs of one layer, one file per pair.

``fvtrust sweep --model M --layer L --units SPEC --seeds SPEC --steps N --batch B --out DIR`` renders every pair
of ``--units`` x ``--seeds`` (``0-99``, ``1,5,9``, ``random:64[@SEED]``) in batches of ``B``, writes
``DIR/pairs/<layer>_<unit>_s<seed>.pt`` (a dict with key ``image``, loadable with ``torch.load(...,
weights_only=True)``) and ``DIR/manifest.json``; a rerun renders only the pairs that are missing or damaged.
Under ``torchrun --nproc_per_node N -m fvtrust sweep ...`` the batches are split across the ranks.
"""

from __future__ import annotations

import argparse
import sys

from fvtrust.errors import check_output_dir, path_arg

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="render many (unit, seed) feature visualizations, one file per pair (sharded under torchrun)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help="zoo model name, e.g. mobilenet_v2 (see `fvtrust models`)")
    p.add_argument("--weights", default=None, help="weights file (or 'random') for models without bundled weights")
    p.add_argument("--layer", required=True, help="layer whose units are visualised, e.g. features.17 or logits")
    p.add_argument("--units", required=True, metavar="SPEC", help="units: 0-99, 1,5,9, or random:64[@SEED]")
    p.add_argument("--seeds", default="0", metavar="SPEC", help="run seeds: 0-4 or 1,5,9 (default %(default)s)")
    p.add_argument("--steps", type=int, default=512, help="Adam steps, 1..100000 (default %(default)s)")
    p.add_argument("--batch", type=int, default=8, help="pairs per batch, 1..4096 (default %(default)s)")
    p.add_argument("--out", required=True, type=path_arg, help="sweep folder (created; reruns resume it)")
    p.add_argument("--size", type=int, default=None, help="image side in pixels (default: the model's input size)")
    p.add_argument(
        "--device", default="cpu",
        help="cpu, cuda or cuda:N (default %(default)s); under torchrun 'cuda' is each rank's LOCAL_RANK GPU",
    )  # fmt: skip
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast for the model (faster on GPUs)")
    p.add_argument("--neuron", action="store_true", help="maximise the centre neuron instead of the channel mean")
    p.add_argument("--crop", action="store_true", help="feed the model the centre of the transformed frame")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def _check_memory(args: argparse.Namespace) -> None:
    """The estimated memory of one batch (``--batch`` pairs, or fewer when the sweep has fewer) at ``--size`` (default:
    the model's input size, read from its architecture without loading user weights) within the device's memory,
    as ``fvtrust visualize`` (``check_render_limits``); settings and specs are checked first by ``validate``."""
    from empirical._device import resolve_device
    from empirical.sweep import SweepConfig, validate
    from empirical.visualize import check_render_limits

    cfg = SweepConfig(
        model=args.model, layer=args.layer, units=args.units, seeds=args.seeds, steps=args.steps, out=args.out,
        batch=args.batch, weights=args.weights, device=args.device, amp=args.amp, size=args.size,
    )  # fmt: skip
    units, seeds = validate(cfg)
    n_units = units.random_count if units.is_random else len(units.indices or ())
    pairs = min(args.batch, n_units * len(seeds.indices or ()))
    size = args.size
    if size is None:
        from empirical.models import USER_WEIGHTS, load_model

        weights = "random" if args.model in USER_WEIGHTS else None
        size = int(load_model(args.model, weights=weights, build=False).input_size[-1])
    try:
        check_render_limits(args.steps, size, max(pairs, 1), resolve_device(args.device))
    except ValueError as err:
        raise ValueError(f"--{err}".replace("fewer units per layer", "a smaller --batch")) from None


def run(args: argparse.Namespace) -> int:
    from empirical.sweep import SweepConfig, SweepFailed, run_sweep

    check_output_dir(args.out, "--out")  # before any work: a folder that exists or can be created, writable
    _check_memory(args)
    cfg = SweepConfig(
        model=args.model, layer=args.layer, units=args.units, seeds=args.seeds, steps=args.steps, out=args.out,
        batch=args.batch, weights=args.weights, device=args.device, amp=args.amp, size=args.size,
        neuron=args.neuron, crop=args.crop,
    )  # fmt: skip
    try:
        run_sweep(cfg, log=None if args.quiet else print)
    except SweepFailed as err:
        print(f"fvtrust sweep: error: {' '.join(str(err).split())}", file=sys.stderr, flush=True)
        return 1
    return 0
