"""Exact global maximum of random ReLU networks on [0,1]^d: MILP (HiGHS, big-M), branch and bound on the input
box (MILP leaves) and z3, side by side (a script).

For growing widths (two hidden layers) in d = 8 and two networks per width, time each exact method (wall clock and
CPU, max and min together, one process per run) until it has missed the budget at two consecutive widths; report
the largest width each certifies for every network within the budget and the median speed ratios on networks
both methods finish. The load average is recorded: the machine is shared.

    python benchmarks/bench_relu_max.py [--budget 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
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


def _run(method: str, s: dict, q: mp.Queue) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    out = relu_net_extrema(s, method)
    q.put((time.perf_counter() - t0, time.process_time() - c0, str(out["max"])))


def timed(method: str, s: dict, budget: float) -> tuple[float | None, float | None, str | None]:
    """Wall-clock and CPU seconds (max and min together) and the max, or Nones past the budget (wall clock)."""
    q: mp.Queue = mp.Queue()
    p = mp.Process(target=_run, args=(method, s, q))
    p.start()
    p.join(budget)
    if p.is_alive():
        p.terminate()
        p.join()
        return None, None, None
    return q.get() if not q.empty() else (None, None, None)


METHODS = ("milp", "bab", "z3")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=10.0, help="seconds per network and method (max and min)")
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument(
        "--widths", type=int, nargs="+", default=[4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128, 160]
    )
    ap.add_argument("--seeds", type=int, default=2, help="networks per width (seeds width, width + 1, ...)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "relu_max.json")
    args = ap.parse_args()
    rows: list[dict] = []
    misses = dict.fromkeys(METHODS, 0)  # a method stops after two consecutive widths with a network over budget
    load_before = os.getloadavg()
    fmt = lambda t: f"{t:7.2f} s" if t is not None else "  > budget"  # noqa: E731
    for width in args.widths:
        missed = dict.fromkeys(METHODS, False)
        for seed in range(width, width + args.seeds):
            s = spec(args.d, width, seed=seed)
            row: dict = {"d": args.d, "hidden": [width, width], "seed": seed, "load_average_1min": os.getloadavg()[0]}
            for method in METHODS:
                t, cpu, val = timed(method, s, args.budget) if misses[method] < 2 else (None, None, None)
                row[f"{method}_s"], row[f"{method}_cpu_s"], row[f"{method}_max"] = t, cpu, val
                missed[method] |= t is None
            values = {row[f"{m}_max"] for m in METHODS if row[f"{m}_max"] is not None}
            if len(values) > 1:
                raise SystemExit(f"exact methods disagree at width {width}, seed {seed}: {row}")
            rows.append(row)
            times = "   ".join(f"{m} {fmt(row[f'{m}_s'])}" for m in METHODS)
            print(f"d={args.d} hidden=2x{width:<4} seed {seed:<4} {times}", flush=True)
        for m in METHODS:
            misses[m] = misses[m] + 1 if missed[m] else 0
        if min(misses.values()) >= 2:
            break

    def ratio(a: str, b: str) -> float | None:
        both = [r[f"{a}_s"] / r[f"{b}_s"] for r in rows if r[f"{a}_s"] and r[f"{b}_s"]]
        return float(np.median(both)) if both else None

    best = {}
    for m in METHODS:
        done = [w for w in {r["hidden"][0] for r in rows} if all(r[f"{m}_s"] for r in rows if r["hidden"][0] == w)]
        best[m] = max(done, default=0)
    print(
        f"largest certified within {args.budget:g} s (max and min, every seed): "
        + ", ".join(f"{m} 2x{best[m]}" for m in METHODS)
        + f"; median time ratios z3/milp {ratio('z3', 'milp')}, milp/bab {ratio('milp', 'bab')}"
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
                "cpus": os.cpu_count(),
                "load_average_before_after": [load_before, os.getloadavg()],
                "rows": rows,
                "largest_width": best,
                "median_z3_over_milp": ratio("z3", "milp"),
                "median_milp_over_bab": ratio("milp", "bab"),
                "median_z3_over_bab": ratio("z3", "bab"),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
