"""``fvtrust paths``: path similarity of class visualizations to natural images, layer by layer (BRIEF section 3).

Renders the class-logit visualizations of classes that have at least ``--min-photos`` images in ``--imagenet-dir``,
streams those photos through the model (split across processes under ``torchrun``), compares activations at every
layer with each of ``--metrics``, and writes ``paths.json``, ``paths.csv``, ``paths.png`` and ``visualizations.png``
to ``--out``. Method, limits and the JSON schema: ``docs/paths.md``.
"""

from __future__ import annotations

import argparse

from fvtrust.errors import check_output_dir, path_arg

__all__ = ["register", "run"]


def _metrics(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "paths",
        help="path similarity: are class visualizations processed like natural images of the class?",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--model", required=True, help="zoo model (mobilenet_v2, efficientnet_lite0, fashion_cnn, ...)")
    p.add_argument("--weights", type=path_arg, default=None, help="weights file, for models that do not ship them")
    p.add_argument("--imagenet-dir", type=path_arg, default=None, help="ImageNet class folders (required for ImageNet)")
    p.add_argument("--out", required=True, type=path_arg, help="output folder (created; holds a resumable FV cache)")
    p.add_argument("--classes", type=int, default=None, help="number of classes (default: all)")
    p.add_argument("--min-photos", type=int, default=5, help="classes need this many images (default %(default)s)")
    p.add_argument("--images-per-class", type=int, default=None, help="images per class and role (default: all)")
    p.add_argument("--seeds", type=int, default=3, help="visualizations per class (default %(default)s)")
    p.add_argument("--steps", type=int, default=512, help="optimisation steps (default %(default)s)")
    p.add_argument("--metrics", type=_metrics, default=("spearman", "pearson", "cosine"),
                   help="comma-separated: spearman,pearson,cosine (default all three)")  # fmt: skip
    p.add_argument("--pooling", default="mean", help="mean (per channel, default) or flatten")
    p.add_argument("--layers", nargs="+", default=None, help="layers (default: the model's list in docs/paths.md)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap replicates (default %(default)s)")
    p.add_argument("--image-buckets", type=int, default=10, help="image buckets per class and role (default 10)")
    p.add_argument("--seed", type=int, default=0, help="first visualization seed, class draw, roles, bootstrap")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=0, help="image-decoding processes (default %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from empirical._device import resolve_device
    from empirical.paths import PathsConfig, run_paths

    check_output_dir(args.out, "--out")  # before any work: a folder that exists or can be created, writable
    try:
        resolve_device(args.device)  # one line naming the device and those present
    except ValueError as err:
        raise ValueError(f"--device: {err}") from None
    config = PathsConfig(
        model=args.model, out=args.out, imagenet_dir=args.imagenet_dir, weights=args.weights, classes=args.classes,
        min_photos=args.min_photos, images_per_class=args.images_per_class, seeds=args.seeds, steps=args.steps,
        metrics=args.metrics, pooling=args.pooling, layers=tuple(args.layers) if args.layers else None,
        bootstrap=args.bootstrap, image_buckets=args.image_buckets, seed=args.seed, batch_size=args.batch_size,
        workers=args.workers, device=args.device, progress=not args.no_progress,
    )  # fmt: skip
    report = run_paths(config, log=print)
    if report.main:
        print("\n".join(report.summary))
        print(f"wrote {', '.join(str(f) for f in report.files)}")
    return 0
