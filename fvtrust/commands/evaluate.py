"""``fvtrust evaluate``: top-1 and top-5 accuracy of a zoo model on an ImageNet folder, with 95% intervals.

``fvtrust evaluate --model mobilenet_v2 --imagenet-dir DIR [--json]`` reads every image of DIR (class folders
named by WordNet id, class index or class name), checks each file first, and prints accuracy with n and Wilson
95% intervals; ``--json`` prints the full record (n_images, top1, top5, intervals, source, preprocessing,
provenance). Under ``torchrun`` the images are split across processes and the counts summed.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from fvtrust.errors import check_output_file, path_arg

__all__ = ["register", "run"]

MAX_BATCH = 4096  # help text only (the limits are empirical.data.LIMITS; the command line loads no torch)
MAX_WORKERS = 64


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "evaluate",
        help="top-1/top-5 accuracy of a zoo model on an ImageNet folder (with 95%% intervals)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help="zoo model (see `fvtrust models`)")
    p.add_argument("--weights", type=path_arg, default=None, help="weights file (models whose weights do not ship)")
    p.add_argument("--imagenet-dir", required=True, type=path_arg, help="ImageNet folder: one sub-folder per class")
    p.add_argument("--json", action="store_true", help="print the full JSON record")
    p.add_argument("--out", type=path_arg, default=None, help="also write the JSON record to this file")
    p.add_argument("--batch-size", type=int, default=64, help=f"images per batch, 1..{MAX_BATCH} (default 64)")
    p.add_argument("--workers", type=int, default=0, help=f"decoding processes, 0..{MAX_WORKERS} (default 0)")
    p.add_argument(
        "--device", default="cpu",
        help="cpu, cuda or cuda:N (default cpu); under torchrun, cuda is each rank's LOCAL_RANK GPU",
    )  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _check_out(out: Path | None) -> None:
    if out is None:
        return
    if out.is_dir() or not out.resolve().parent.is_dir():
        raise ValueError(f"--out {str(out)!r}: must be a file in an existing directory")
    check_output_file(out, "--out")  # writable (also where os.access cannot tell, e.g. root in /proc)


def run(args: argparse.Namespace) -> int:
    from empirical.data import check_evaluate_settings, evaluate_folder

    settings = dict(weights=args.weights, batch_size=args.batch_size, workers=args.workers, device=args.device)
    check_evaluate_settings(args.model, args.imagenet_dir, **settings)  # every setting before any work
    _check_out(args.out)
    rec = evaluate_folder(args.model, args.imagenet_dir, **settings, progress=not args.no_progress)
    if rec is None:  # a rank other than 0 under torchrun: rank 0 prints
        return 0
    text = json.dumps(rec, indent=1)
    if args.out is not None:
        args.out.write_text(text + "\n")
    if args.json:
        print(text)
        return 0
    n = rec["n_labelled"]

    def pct(x: float) -> str:
        return f"{100 * x:.1f}%" if math.isfinite(x) else "n/a"

    lo1, hi1 = rec["top1_interval"]
    lo5, hi5 = rec["top5_interval"]
    print(f"{args.model} on {rec['source']} ({rec['n_images']} images, {n} with a label of the model)")
    print(f"  top-1 {pct(rec['top1'])}  (95% Wilson interval {pct(lo1)}-{pct(hi1)}, n={n})")
    print(f"  top-5 {pct(rec['top5'])}  (95% Wilson interval {pct(lo5)}-{pct(hi5)}, n={n})")
    return 0
