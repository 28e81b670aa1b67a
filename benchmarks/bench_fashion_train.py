"""Training benchmark of the project's Fashion-MNIST CNN (a script, not a test).

Trains ``fashion_cnn`` from scratch with the defaults of ``fvtrust train fashion_cnn`` (3 epochs, seed 0) into a
temporary file (the user cache is left alone) and reports the training wall time and CPU time (CPU time stays
meaningful on a loaded machine), the test accuracy on the 10,000 test images, the torch thread count and the
machine's load; also times one inference pass over the test set. Writes ``benchmarks/results/fashion_train.json``
(or ``--out``) with its ``provenance`` record (``empirical._provenance``: commit, settings, seeds, the Fashion-MNIST
files read, sha256 of each trained weights file). Targets: >= 90% test accuracy, training under 4 minutes on 2 cores.

    python benchmarks/bench_fashion_train.py [--epochs 3] [--seeds 0] [--out PATH]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from empirical._provenance import provenance, start_clock
from empirical.data import fashion_mnist
from empirical.data._fashion import _FILES, FASHION_DIR
from empirical.models import evaluate, load_model, train_fashion_cnn

RESULTS = Path(__file__).resolve().parent / "results" / "fashion_train.json"


def _provenance(args: argparse.Namespace, weights: dict[str, bytes], started: tuple[float, float]) -> dict[str, Any]:
    """The result's provenance: every command-line setting plus ``train_fashion_cnn``'s fixed training settings
    (its defaults: batch size, learning rate), the training seeds, the Fashion-MNIST files (training split for
    training, test split for accuracy and inference) and the sha256 of each trained weights file (``weights``: the
    files' bytes, read before the temporary folder is removed)."""
    params = inspect.signature(train_fashion_cnn).parameters
    config = {**vars(args), "model": "fashion_cnn", "batch": params["batch"].default, "lr": params["lr"].default}
    files = [FASHION_DIR / f for split in ("train", "test") for f in _FILES[split]]
    source = f"Fashion-MNIST (train split: training; test split: accuracy, inference; {FASHION_DIR})"
    return provenance(config, args.seeds, source, files, weights, started, device="cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line settings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path, default=RESULTS)
    return ap.parse_args(argv)


def main() -> None:
    started = start_clock()
    args = parse_args()
    load_start = round(os.getloadavg()[0], 2)
    runs = []
    weights: dict[str, bytes] = {}
    x_te, y_te = fashion_mnist("test")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            c0 = time.process_time()  # this process's CPU time, all threads (train_fashion_cnn reports wall time)
            rep = train_fashion_cnn(epochs=args.epochs, seed=seed, progress=False, out=Path(tmp) / f"s{seed}.pt")
            rep["train_cpu_seconds"] = time.process_time() - c0
            model = load_model("fashion_cnn", weights=rep["weights"])
            weights[f"fashion_cnn_seed{seed}"] = Path(rep["weights"]).read_bytes()
            t0 = time.perf_counter()
            acc = evaluate(model, x_te, y_te)
            infer = time.perf_counter() - t0
            runs.append(
                {
                    "seed": seed,
                    "epochs": args.epochs,
                    "train_seconds": round(rep["train_seconds"], 1),
                    "train_cpu_seconds": round(rep["train_cpu_seconds"], 1),
                    "test_accuracy": acc,
                    "test_inference_seconds": round(infer, 2),
                }
            )
            print(f"seed {seed}: {rep['train_seconds']:.0f} s training ({rep['train_cpu_seconds']:.0f} CPU s), "
                  f"test accuracy {acc:.4f}, "
                  f"10k-image inference {infer:.2f} s")  # fmt: skip
    result = {
        "load_average_1min_at_start": load_start,
        "runs": runs,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "provenance": _provenance(args, weights, started),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
