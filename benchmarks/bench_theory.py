"""Benchmark of the theory engine (a script, not a test).

Measures, on this machine: `value_range` and `check_class` per class for d = 1..8 (median of repeats, wall
time and process CPU time: on a shared machine the CPU time is the figure that does not count other jobs; the
load average is recorded), and the whole table with every certificate computed and verified. Targets (issue 2):
closed-form calls under 50 ms, LP-based ones under 1 s, the verified table under 30 s.

    python benchmarks/bench_theory.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from theory import FeatureVisualization, check_class, value_range

CLASSES = {
    "black_box": {},
    "neural_network": {},
    "erm_network": {},
    "piecewise_affine": {},
    "lipschitz": {"L": 1.0},
    "monotonic": {},
    "convex": {},
    "affine": {},
}


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time of ``fn()``, in ms."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "theory.json")
    args = ap.parse_args()
    from theory._lp import silence_highs_banner

    silence_highs_banner()
    started = (time.perf_counter(), time.process_time())
    load_before = list(os.getloadavg())
    check_class("convex", d=1)  # warm up cvxpy's import and first canonicalisation
    rows = []
    for name, params in CLASSES.items():
        for d in (1, 2, 4, 8):
            fv = FeatureVisualization(np.ones(d), 1.0, np.zeros(d), 0.0)
            if name == "lipschitz":
                fv = FeatureVisualization(np.ones(d), 0.5, np.zeros(d), 0.0)
            x = np.full(d, 0.3)
            vr_ms, vr_cpu = _median_ms(
                lambda n=name, p=params, d=d, fv=fv, x=x: value_range(n, fv, x, d=d, **p), args.repeats
            )
            cc_ms, cc_cpu = _median_ms(lambda n=name, p=params, d=d: check_class(n, d=d, **p), args.repeats)
            rows.append(
                {
                    "class": name,
                    "d": d,
                    "value_range_ms": vr_ms,
                    "value_range_cpu_ms": vr_cpu,
                    "check_class_ms": cc_ms,
                    "check_class_cpu_ms": cc_cpu,
                }
            )
            print(
                f"{name:<17} d={d}  value_range {vr_ms:8.2f} ms (cpu {vr_cpu:7.2f})   "
                f"check_class {cc_ms:8.1f} ms (cpu {cc_cpu:7.1f})",
                flush=True,
            )
    from counterexamples import verified_table
    from theory.table import build_table

    t0 = time.perf_counter()
    build_table()
    unverified = time.perf_counter() - t0
    t0 = time.perf_counter()
    verified_table()
    verified = time.perf_counter() - t0
    print(f"table: {unverified:.2f} s computed, {verified:.2f} s computed and verified")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "provenance": _provenance(args.repeats, load_before, started),
        "load_average_after": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "calls": rows,
        "table_s": unverified,
        "table_verified_s": verified,
    }
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


def _provenance(repeats: int, load_before: list[float], started: tuple[float, float]) -> dict:
    """Commit, configuration, library versions, threads, load and total wall/CPU time (no torch: theory layer)."""
    import platform
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    root = Path(__file__).resolve().parents[1]

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    versions = {}
    for pkg in ("numpy", "scipy", "cvxpy", "highspy", "sympy", "z3-solver"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty_theory": bool(git("status", "--porcelain", "--", "theory")),
        "config": {"repeats": repeats, "classes": CLASSES, "d": [1, 2, 4, 8], "seeds": "none (deterministic)"},
        "python": platform.python_version(),
        "versions": versions,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "load_average_before": load_before,
        "wall_s": time.perf_counter() - started[0],
        "cpu_s": time.process_time() - started[1],
    }


if __name__ == "__main__":
    main()
