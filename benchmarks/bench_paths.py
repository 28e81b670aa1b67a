"""Benchmark of the path-similarity analysis on the Fashion-MNIST CNN (a script, not a test).

* time of the full analysis with the defaults of ``fvtrust paths --model fashion_cnn`` (logit visualizations of
  the 10 classes, then 3 x 300 natural test images per class streamed through 5 layers, 2000 bootstrap samples),
  split into rendering and the streamed natural-image pass;
* memory of the streamed pass for 1,000 and 10,000 natural images (training split, uint8, converted per batch;
  ``flatten`` pooling, the largest activations: 12,544 values per image at conv1), each size in a fresh
  subprocess, with the default 10 image buckets per (role, class): peak of Python allocations (``tracemalloc``;
  numpy/Python objects) and growth of the process's peak resident set (``ru_maxrss``; includes torch's tensors,
  which tracemalloc does not see), against the size that holding all pooled activations at once would take.

Writes ``benchmarks/results/paths.json`` (or ``--out``) with its ``provenance`` record (``empirical._provenance``:
commit, settings, seeds, the Fashion-MNIST files read, sha256 of the CNN's cached weights file; ``cpu_s`` is this
process's CPU time, ``children_cpu_s`` that of the memory runs' subprocesses).

    python benchmarks/bench_paths.py [--sizes 1000 10000] [--skip-full] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import torch

from empirical._provenance import start_clock

RESULTS = Path(__file__).resolve().parent / "results" / "paths.json"
LAYERS = ["conv1", "conv2", "conv3", "fc1", "logits"]
POOLING = "flatten"  # of the memory runs
BATCH_SIZE = 250  # of the memory runs


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def memory_run(n_images: int, pooling: str = POOLING) -> dict[str, Any]:
    """Stream ``n_images`` training images (10 classes x 3 roles x n/30) and measure peak memory."""
    from empirical.data import fashion_mnist
    from empirical.models import load_model
    from empirical.paths import PathSettings, natural_means

    model = load_model("fashion_cnn")
    images, labels = fashion_mnist("train")
    images, labels = images[:n_images], labels[:n_images]
    per_class = max(1, n_images // 30)
    settings = PathSettings(images_per_class=per_class, pooling=pooling, n_bootstrap=0, batch_size=BATCH_SIZE)
    buckets = settings.image_buckets
    with torch.no_grad():  # warm-up: one batch, so allocator pools and lazy imports are in the baseline
        model.activations(images[:250].float() / 255, LAYERS)
    dims = {n: a[0].numel() for n, a in model.activations(images[:1].float() / 255, LAYERS).items()}
    rss0 = _rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    _, counts = natural_means(model, images, labels, list(range(10)), LAYERS, settings, progress=False)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n_images": n_images,
        "images_used": int(counts.sum()),
        "pooling": pooling,
        "seconds": round(seconds, 2),
        "tracemalloc_peak_mb": round(peak / 2**20, 3),
        "rss_peak_growth_mb": round(_rss_mb() - rss0, 1),
        "all_at_once_activations_mb": round(n_images * sum(dims.values()) * 8 / 2**20, 1),
        "image_buckets": buckets,
        "running_sums_mb": round(30 * buckets * sum(dims.values()) * 8 / 2**20, 2),
    }


def full_run() -> dict[str, Any]:
    """The full fashion_cnn analysis with the command's defaults."""
    from empirical.data import natural_images
    from empirical.models import load_model
    from empirical.paths import PATH_DEFAULTS, class_visualizations, fv_settings, path_similarity

    model = load_model("fashion_cnn")
    d = natural_images("fashion")
    fv = fv_settings("fashion_cnn")
    t0 = time.perf_counter()
    vis = class_visualizations(model, range(10), fv, progress=False)
    t1 = time.perf_counter()
    res = path_similarity(model, vis, d.images, d.labels, settings=PATH_DEFAULTS, progress=False)
    t2 = time.perf_counter()
    return {
        "visualizations_seconds": round(t1 - t0, 2),
        "natural_and_bootstrap_seconds": round(t2 - t1, 2),
        "total_seconds": round(t2 - t0, 2),
        "fv_steps": fv.steps,
        "fv_per_class": fv.fv_per_class,
        "images_per_class": PATH_DEFAULTS.images_per_class,
        "score": {n: round(res.score[n].score, 3) for n in res.layers},
    }


def _provenance(
    args: argparse.Namespace, full_ran: bool, started: tuple[float, float], children_cpu_s: float
) -> dict[str, Any]:
    """The result's provenance: every command-line setting plus the fixed ones (layers, the memory runs' pooling
    and batch size, the full run's settings), the seeds (the memory runs shuffle with ``PathSettings.seed``; the
    full run also renders ``fv_per_class`` visualizations per class with seeds ``seed, seed + 1, ...``), the
    Fashion-MNIST files read (training split; test split for the full run) and the sha256 of the fashion_cnn
    weights file (the cache entry, which the runs loaded and checked)."""
    from empirical._cache import cache_path
    from empirical._provenance import provenance
    from empirical.data._fashion import _FILES, FASHION_DIR
    from empirical.models._fashion_cnn import WEIGHTS_KEY
    from empirical.paths import PATH_DEFAULTS, PathSettings, fv_settings

    memory_settings = PathSettings(pooling=POOLING, n_bootstrap=0, batch_size=BATCH_SIZE)
    config: dict[str, Any] = {
        **vars(args), "model": "fashion_cnn", "layers": LAYERS,
        "memory_runs": {**memory_settings.as_dict(), "images_per_class": "max(1, n_images // 30)"},
    }  # fmt: skip
    seeds = {memory_settings.seed}
    splits = ["train"]
    if full_ran:
        fv = fv_settings("fashion_cnn")
        config["full_run"] = {"paths": PATH_DEFAULTS.as_dict(), "visualizations": fv}
        seeds |= {PATH_DEFAULTS.seed, *range(fv.seed, fv.seed + fv.fv_per_class)}
        splits.append("test")
    files = [FASHION_DIR / f for split in splits for f in _FILES[split]]
    source = f"Fashion-MNIST {' and '.join(splits)} split{'s' if len(splits) > 1 else ''} ({FASHION_DIR})"
    weights = {"fashion_cnn": cache_path(WEIGHTS_KEY)}
    rec = provenance(config, sorted(seeds), source, files, weights, started, device="cpu")
    rec["children_cpu_s"] = round(children_cpu_s, 3)
    return rec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="result file (default benchmarks/results/)")
    return parser.parse_args(argv)


def main() -> None:
    started = start_clock()
    children0 = _children_cpu_s()
    args = parse_args()
    if args.child is not None:
        print(json.dumps(memory_run(args.child)))
        return
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    }
    memory = []
    for n in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
        memory.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(memory[-1])
    out["memory"] = memory
    if not args.skip_full:
        out["full_fashion_cnn"] = full_run()
        print(out["full_fashion_cnn"])
    elif args.out.exists():  # keep the last full timing, marked as such
        old = json.loads(args.out.read_text()).get("full_fashion_cnn")
        if old is not None:
            out["full_fashion_cnn"] = {**old, "note": "from an earlier run (this run used --skip-full)"}
    out["provenance"] = _provenance(args, not args.skip_full, started, _children_cpu_s() - children0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
