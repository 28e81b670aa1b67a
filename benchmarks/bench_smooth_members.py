"""How often the L-smooth engine decides in d = 2 (a script, not a test): instance verdicts on random visualizations.

Draws ``--visualizations`` random feature visualizations on [0,1]^2 (each coordinate of x_min and x_max on the
boundary half of the time, else a multiple of 1/100; Delta uniform in [0.02, 0.6] to 3 decimals; seed ``--seed``),
classifies each as consistent, inconsistent or undecided, and asks ``check_class("smooth", fv=..., x=...)`` at 5
random points of each consistent one (L = 1, eps = 0.1). Writes the verdicts, their counts and a provenance record
(the commit of the ``theory`` package that ran, which may be another checkout on PYTHONPATH) to ``--out``.

With ``--baseline OLD.json`` (the same script run against another commit, same settings) the file also gets
``paired``: instance by instance, what the change decided (a "yes" turning into "no" or back would be a bug: both
are proved). docs/results.md prints it.

    PYTHONPATH=/path/to/old/checkout python benchmarks/bench_smooth_members.py --out /tmp/old.json
    python benchmarks/bench_smooth_members.py --baseline /tmp/old.json --out benchmarks/results/smooth_members.json
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

QUESTIONS = ("exact", "approx", "min_or_max")


def run(n_fv: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from theory import FeatureVisualization, check_class
    from theory.classes.smooth import Smooth, UndecidedConsistency

    rng = random.Random(seed)

    def point() -> list[float]:
        return [rng.choice([0.0, 1.0]) if rng.random() < 0.5 else round(rng.random(), 2) for _ in range(2)]

    rows: list[list[Any]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    while n < n_fv:
        xmin, xmax = point(), point()
        if xmin == xmax:
            continue
        delta = round(rng.uniform(0.02, 0.6), 3)
        xs = [[round(rng.random(), 2), round(rng.random(), 2)] for _ in range(5)]
        n += 1
        fv = FeatureVisualization(np.array(xmax), delta, np.array(xmin), 0.0)
        try:
            status = "consistent" if Smooth(2, 1.0).is_consistent(fv) else "inconsistent"
        except UndecidedConsistency:
            status = "undecided"
        if status != "consistent":
            rows.append([n, status])
            continue
        for j, x in enumerate(xs):
            r = check_class("smooth", fv=fv, x=x, L=1.0, eps=0.1)
            rows.append([n, j, *(r[q].verdict for q in QUESTIONS)])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    status_counts = Counter(r[1] for r in rows if len(r) == 2)
    status_counts["consistent"] = len({r[0] for r in rows if len(r) > 2})
    return {
        "provenance": _provenance(n_fv, seed, wall, cpu),
        "visualizations": dict(status_counts),
        "instances": sum(1 for r in rows if len(r) > 2),
        "verdicts": {q: dict(Counter(r[2 + i] for r in rows if len(r) > 2)) for i, q in enumerate(QUESTIONS)},
        "rows": rows,
    }


def config(n_fv: int, seed: int) -> dict[str, Any]:
    """The settings a run records (and a baseline must share)."""
    return {"visualizations": n_fv, "seed": seed, "L": 1.0, "eps": 0.1, "points_per_visualization": 5}


def _provenance(n_fv: int, seed: int, wall: float, cpu: float) -> dict[str, Any]:
    """The commit and state of the checkout whose ``theory`` ran, settings, versions and times."""
    import platform
    from importlib.metadata import version

    import theory

    root = Path(theory.__file__).resolve().parents[1]

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, check=False).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty_theory": bool(git("status", "--porcelain", "--", "theory", "counterexamples")),
        "config": config(n_fv, seed),
        "seeds": [seed],
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("numpy", "scipy", "sympy", "z3-solver")},
        "wall_s": wall,
        "cpu_s": cpu,
    }


def paired(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Instance by instance: the verdict counts of both runs on the instances consistent in both, the changes
    (old verdict, new verdict), and the verdicts on visualizations only the new run shows consistent."""
    if old["provenance"]["config"] != new["provenance"]["config"]:  # main checks this before the run
        raise ValueError(f"different settings: {old['provenance']['config']} vs {new['provenance']['config']}")

    def index(d: dict[str, Any]) -> tuple[dict[tuple[int, int], list[str]], dict[int, str]]:
        inst, status = {}, {}
        for r in d["rows"]:
            if len(r) == 2:
                status[r[0]] = r[1]
            else:
                inst[(r[0], r[1])] = r[2:]
                status[r[0]] = "consistent"
        return inst, status

    (oi, os_), (ni, ns) = index(old), index(new)
    both = [k for k in oi if k in ni]
    fresh = [k for k in ni if k not in oi]
    return {
        "baseline_commit": old["provenance"]["commit"],
        "baseline_wall_s": old["provenance"]["wall_s"],
        "visualizations": {f"{a} -> {b}": n for (a, b), n in Counter((os_[k], ns[k]) for k in os_).items()},
        "instances_in_both": len(both),
        "questions": {
            q: {
                "before": dict(Counter(oi[k][i] for k in both)),
                "after": dict(Counter(ni[k][i] for k in both)),
                "changes": {
                    f"{a} -> {b}": n for (a, b), n in Counter((oi[k][i], ni[k][i]) for k in both).items() if a != b
                },
                "newly_consistent": dict(Counter(ni[k][i] for k in fresh)),
            }
            for i, q in enumerate(QUESTIONS)
        },
        "instances_newly_consistent": len(fresh),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--visualizations", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--baseline", type=Path, help="a run of this script against another commit, same settings")
    args = ap.parse_args(argv)
    if args.visualizations < 1:
        ap.error(f"--visualizations {args.visualizations}: must be >= 1")
    old = None
    if args.baseline is not None:  # checked before the run: same settings, rows of this script
        try:
            old = json.loads(args.baseline.read_text())
        except (OSError, json.JSONDecodeError) as e:
            ap.error(f"--baseline {args.baseline}: not a result file of this script ({e})")
        want = config(args.visualizations, args.seed)
        got = old.get("provenance", {}).get("config") if isinstance(old, dict) else None
        if got != want or not isinstance(old.get("rows"), list):
            ap.error(f"--baseline {args.baseline}: settings {got} (and rows) must match this run's {want}")
    res = run(args.visualizations, args.seed)
    if old is not None:
        res["paired"] = paired(old, res)
    args.out.write_text(json.dumps(res))
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
