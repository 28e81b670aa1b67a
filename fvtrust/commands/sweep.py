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
from pathlib import Path

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
    p.add_argument("--out", required=True, type=Path, help="sweep folder (created; reruns resume it)")
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


def run(args: argparse.Namespace) -> int:
    from empirical.sweep import SweepConfig, SweepFailed, run_sweep

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
