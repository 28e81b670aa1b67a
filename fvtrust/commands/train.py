"""``fvtrust train fashion_cnn``: train the project's Fashion-MNIST CNN and cache its weights.

Checked before any work: ``--out`` a file that can be written (not a folder, not below a regular file) here;
``--epochs`` in 1..100 and ``--seed`` in 0..2**32-1 by ``train_fashion_cnn`` (``MAX_EPOCHS``, ``MAX_SEED``)."""

from __future__ import annotations

import argparse

from fvtrust.errors import check_output_file, path_arg


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="train a model the project trains itself (fashion_cnn)")
    p.add_argument("model", choices=("fashion_cnn",), help="the model to train")
    p.add_argument("--epochs", type=int, default=3, help="training epochs, 1..100 (default 3)")
    p.add_argument("--seed", type=int, default=0, help="training seed, 0..2**32-1 (default 0)")
    p.add_argument("--out", type=path_arg, default=None, help="weights file (default: the user cache)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from empirical.models import train_fashion_cnn

    if args.out is not None:
        check_output_file(args.out, "--out")
    rep = train_fashion_cnn(epochs=args.epochs, seed=args.seed, out=args.out)
    print(
        f"fashion_cnn: test accuracy {rep['test_accuracy']:.4f} on the 10,000 Fashion-MNIST test images "
        f"after {rep['epochs']} epochs in {rep['train_seconds']:.0f} s; weights {rep['weights']}"
    )
    return 0
