"""``fvtrust models``: the model zoo, with input sizes, classes and layer names.

Listing builds nothing: a model trained here (fashion_cnn) whose weights are not cached yet, or are damaged, is
listed as such (its architecture, untrained), never trained."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("models", help="list the zoo's models and their layers")
    p.add_argument("--model", help="show one model with all its layer names")
    p.add_argument(
        "--weights", help="weights file (inception_v1, resnet50, inceptionv1); 'random' for an untrained net"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from empirical.models import MODEL_NAMES, USER_WEIGHTS, load_model

    if args.model is not None and args.model not in MODEL_NAMES:
        raise ValueError(f"unknown model {args.model!r}; models: {', '.join(MODEL_NAMES)}")
    if args.weights is not None and args.model is None:
        raise ValueError("--weights needs --model: the weights of which model?")
    for name in [args.model] if args.model else MODEL_NAMES:
        weights = args.weights if args.model else None
        if name in USER_WEIGHTS and weights is None:
            weights = "random"
            note = " (architecture only: no weights ship offline; pass --weights PATH)"
        else:
            note = ""
        m = load_model(name, weights=weights, build=False)
        layers = m.layer_names()
        print(f"{name}: input {m.input_size}, {len(m.class_names)} classes, {len(layers)} layers{note}")
        print(f"  weights: {m.source}")
        if m.wnids is not None:
            print(f"  classes: {m.label_source}")
        shown = layers if args.model else [n for n in layers if n.count(".") <= 1][:25]
        print("  layers: " + ", ".join(shown) + ("" if args.model or len(shown) == len(layers) else ", ..."))
    return 0
