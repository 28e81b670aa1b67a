"""Exact global maximum of random ReLU networks on [0,1]^d: MILP (HiGHS, big-M) against z3 (a script).

For growing widths (two hidden layers) in d = 8, time both exact methods (wall clock and CPU, max and min together)
until each has missed the budget on two consecutive widths; report the largest network each certifies within the
budget and the speed ratio on networks both can do. The load average is recorded: the machine is shared.

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=10.0, help="seconds per network and method (max and min)")
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--widths", type=int, nargs="+", default=[4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "relu_max.json")
    args = ap.parse_args()
    rows, misses = [], {"milp": 0, "z3": 0}  # a method stops after two consecutive widths over budget
    load_before = os.getloadavg()
    for width in args.widths:
        s = spec(args.d, width, seed=width)
        row: dict = {"d": args.d, "hidden": [width, width], "load_average_1min": os.getloadavg()[0]}
        for method in ("milp", "z3"):
            t, cpu, val = timed(method, s, args.budget) if misses[method] < 2 else (None, None, None)
            row[f"{method}_s"], row[f"{method}_cpu_s"], row[f"{method}_max"] = t, cpu, val
            misses[method] = 0 if t is not None else misses[method] + 1
        if row["milp_max"] and row["z3_max"] and row["milp_max"] != row["z3_max"]:
            raise SystemExit(f"MILP and z3 disagree at width {width}: {row['milp_max']} vs {row['z3_max']}")
        rows.append(row)
        fmt = lambda t: f"{t:7.2f} s" if t is not None else "  > budget"  # noqa: E731
        print(f"d={args.d} hidden=2x{width:<4} MILP {fmt(row['milp_s'])}   z3 {fmt(row['z3_s'])}", flush=True)
        if min(misses.values()) >= 2:
            break
    both = [r for r in rows if r["milp_s"] and r["z3_s"]]
    ratio = float(np.median([r["z3_s"] / r["milp_s"] for r in both])) if both else None
    best = {m: max((r["hidden"][0] for r in rows if r[f"{m}_s"]), default=0) for m in ("milp", "z3")}
    print(
        f"largest certified within {args.budget:g} s (max and min): MILP 2x{best['milp']}, z3 2x{best['z3']}; "
        f"median z3/MILP time ratio {ratio}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "budget_s": args.budget,
                "weights": "W, b uniform on multiples of 1/16 in [-1, 1], seed = width",
                "cpus": os.cpu_count(),
                "load_average_before_after": [load_before, os.getloadavg()],
                "rows": rows,
                "largest_width": best,
                "median_z3_over_milp": ratio,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
