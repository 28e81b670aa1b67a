"""Exact global maximum of random ReLU networks on [0,1]^d: MILP (HiGHS, big-M), branch and bound on the input
box (MILP leaves) and z3, side by side (a script).

For growing widths (two hidden layers) in d = 8 and three networks per width, time each exact method (max and min
together, one process per run, pinned to one CPU core) until it has missed the budget at two consecutive widths.
The budget is in CPU seconds of that process (all its threads; the machine is shared, so wall clock is recorded
but not judged; a run is stopped at 6 x the budget in wall clock). Every run records its wall and CPU seconds and
the largest number of threads the process had (HiGHS starts threads of its own whatever ``OMP_NUM_THREADS`` says;
pinned to one core they share it, so CPU <= wall).

Reported per method: the largest width certified for every network within the budget, and within half the budget
(``largest_width_with_margin``: the claim to quote, so that a slower machine or a slower network of the same width
does not break it), the slowest network's share of the budget at each width, and the median speed ratios on
networks both methods finish.

    python benchmarks/bench_relu_max.py [--budget 10] [--seeds 3]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import multiprocessing as mp
import os
import platform
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from counterexamples.verify import relu_net_extrema


def spec(d: int, width: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    sizes = [d, width, width, 1]
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        W = rng.integers(-16, 17, size=(n_out, n_in)) / 16
        b = rng.integers(-16, 17, size=n_out) / 16
        layers.append({"W": [[str(Fraction(v)) for v in r] for r in W], "b": [str(Fraction(v)) for v in b]})
    return {"kind": "relu_net", "layers": layers}


def _run(method: str, s: dict, q: mp.Queue, core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    t0, c0 = time.perf_counter(), time.process_time()
    out = relu_net_extrema(s, method)
    q.put((time.perf_counter() - t0, time.process_time() - c0, str(out["max"])))


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a running process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def timed(method: str, s: dict, budget: float, core: int | None) -> dict:
    """Wall-clock and CPU seconds (max and min together), the max, and the most threads the process had; the
    seconds and the max are None when the run used more than ``budget`` CPU seconds (stopped just past it) or
    6 x budget wall clock."""
    q: mp.Queue = mp.Queue()
    p = mp.Process(target=_run, args=(method, s, q, core))
    p.start()
    threads, stop = 0, time.perf_counter() + 6 * budget
    while p.is_alive() and time.perf_counter() < stop and _cpu_seconds(p.pid) <= budget + 0.5:
        threads = max(threads, _threads(p.pid))
        p.join(0.05)
    if p.is_alive():
        stopped = "cpu" if _cpu_seconds(p.pid) > budget else "wall"  # which limit ended the run
        p.terminate()
        p.join()
        return {"s": None, "cpu_s": None, "max": None, "threads": threads, "stopped": stopped}
    wall, cpu, value = q.get() if not q.empty() else (None, None, None)
    if cpu is not None and cpu > budget:
        wall = cpu = value = None
    return {"s": wall, "cpu_s": cpu, "max": value, "threads": threads, "stopped": None}


METHODS = ("milp", "bab", "z3")


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=10.0, help="CPU seconds per network and method (max and min)")
    ap.add_argument("--core", type=int, default=0, help="CPU core the runs are pinned to (-1: not pinned)")
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument(
        "--widths", type=int, nargs="+", default=[4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128, 160]
    )
    ap.add_argument("--seeds", type=int, default=3, help="networks per width (seeds width, width + 1, ...)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "relu_max.json")
    args = ap.parse_args()
    core = None if args.core < 0 else args.core
    rows: list[dict] = []
    misses = dict.fromkeys(METHODS, 0)  # a method stops after two consecutive widths with a network over budget
    load_before = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    fmt = lambda t: f"{t:7.2f} s" if t is not None else "  > budget"  # noqa: E731
    for width in args.widths:
        missed = dict.fromkeys(METHODS, False)
        for seed in range(width, width + args.seeds):
            s = spec(args.d, width, seed=seed)
            row: dict = {"d": args.d, "hidden": [width, width], "seed": seed, "load_average_1min": os.getloadavg()[0]}
            for method in METHODS:
                res = timed(method, s, args.budget, core) if misses[method] < 2 else None
                for key in ("s", "cpu_s", "max", "threads", "stopped"):
                    row[f"{method}_{key}"] = res[key] if res else None
                missed[method] |= row[f"{method}_cpu_s"] is None
            values = {row[f"{m}_max"] for m in METHODS if row[f"{m}_max"] is not None}
            if len(values) > 1:
                raise SystemExit(f"exact methods disagree at width {width}, seed {seed}: {row}")
            rows.append(row)
            times = "   ".join(f"{m} {fmt(row[f'{m}_cpu_s'])} CPU" for m in METHODS)
            print(f"d={args.d} hidden=2x{width:<4} seed {seed:<4} {times}", flush=True)
        for m in METHODS:
            misses[m] = misses[m] + 1 if missed[m] else 0
        if min(misses.values()) >= 2:
            break

    def ratio(a: str, b: str) -> float | None:
        both = [r[f"{a}_cpu_s"] / r[f"{b}_cpu_s"] for r in rows if r[f"{a}_cpu_s"] and r[f"{b}_cpu_s"]]
        return float(np.median(both)) if both else None

    widths = sorted({r["hidden"][0] for r in rows})

    def largest(m: str, limit: float) -> int:
        ok = [w for w in widths if all((r[f"{m}_cpu_s"] or math.inf) <= limit for r in rows if r["hidden"][0] == w)]
        return max(ok, default=0)

    best = {m: largest(m, args.budget) for m in METHODS}
    best_margin = {m: largest(m, args.budget / 2) for m in METHODS}
    share = {
        m: {
            str(w): max((r[f"{m}_cpu_s"] or math.inf) / args.budget for r in rows if r["hidden"][0] == w)
            for w in widths
            if any(r[f"{m}_threads"] is not None for r in rows if r["hidden"][0] == w)
        }
        for m in METHODS
    }
    threads = {m: max((r[f"{m}_threads"] or 0 for r in rows), default=0) for m in METHODS}
    print(
        f"largest certified within {args.budget:g} CPU s (max and min, every seed): "
        + ", ".join(f"{m} 2x{best[m]}" for m in METHODS)
        + f"; within half the budget: {', '.join(f'{m} 2x{best_margin[m]}' for m in METHODS)}"
        + f"; most threads {threads}; median CPU ratios z3/milp {ratio('z3', 'milp')}, milp/bab {ratio('milp', 'bab')}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "budget_s": args.budget,
                "weights": "W, b uniform on multiples of 1/16 in [-1, 1], seeds width, width + 1, ...",
                "methods": {
                    "milp": "one big-M MILP over [0,1]^d (HiGHS), relu_net_extrema(method='milp')",
                    "bab": "branch and bound on the input box with MILP leaves, relu_net_extrema(method='bab')",
                    "z3": "z3 optimisation over the reals, relu_net_extrema(method='z3')",
                },
                "criterion": "CPU seconds of the run's process (all threads) <= budget; stopped at 6 x budget wall",
                "pinned_core": core,
                "cpus": os.cpu_count(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "load_average_before_after": [load_before, os.getloadavg()],
                "provenance": {
                    "commit": _commit(),
                    "python": platform.python_version(),
                    "highspy": _version("highspy"),
                    "z3-solver": _version("z3-solver"),
                    "wall_s": round(time.perf_counter() - wall0, 1),
                    "cpu_s_parent": round(time.process_time() - cpu0, 1),
                },
                "rows": rows,
                "largest_width": best,
                "largest_width_with_margin": best_margin,
                "slowest_share_of_budget": {
                    m: {w: (v if math.isfinite(v) else None) for w, v in d.items()} for m, d in share.items()
                },
                "most_threads": threads,
                "median_z3_over_milp": ratio("z3", "milp"),
                "median_milp_over_bab": ratio("milp", "bab"),
                "median_z3_over_bab": ratio("z3", "bab"),
                "ratios": "medians of CPU-time ratios over networks both methods finish",
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
