"""How often the L-smooth engine decides in d = 2 (a script, not a test): instance verdicts on random visualizations.

Draws ``--visualizations`` random feature visualizations on [0,1]^2 (each coordinate of x_min and x_max on the
boundary half of the time, else a multiple of 1/100; Delta uniform in [0.02, 0.6] to 3 decimals; seed ``--seed``),
classifies each as consistent, inconsistent or undecided, and asks ``check_class("smooth", fv=..., x=...)`` at 5
random points of each consistent one (L = 1, eps = 0.1). Writes the verdicts, their counts, the wall time and the
commit to ``--out``. Run it in two checkouts and ``--compare`` the files to see, instance by instance, what a change
to the members or bounds decided (a "yes" turning into "no" or back would be a bug: both are proved).

    python benchmarks/bench_smooth_members.py --out NEW.json [--visualizations 400] [--seed 2026]
    python benchmarks/bench_smooth_members.py --compare OLD.json NEW.json
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
    t0 = time.perf_counter()
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
    wall = time.perf_counter() - t0
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    status_counts = Counter(r[1] for r in rows if len(r) == 2)
    status_counts["consistent"] = len({r[0] for r in rows if len(r) > 2})
    return {
        "commit": commit,
        "config": {"visualizations": n_fv, "seed": seed, "L": 1.0, "eps": 0.1, "points_per_visualization": 5},
        "wall_seconds": wall,
        "visualizations": dict(status_counts),
        "verdicts": {q: dict(Counter(r[2 + i] for r in rows if len(r) > 2)) for i, q in enumerate(QUESTIONS)},
        "rows": rows,
    }


def compare(old: dict[str, Any], new: dict[str, Any]) -> str:
    if old["config"] != new["config"]:
        raise SystemExit(f"the two files have different configs: {old['config']} vs {new['config']}")

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
    lines = [
        f"old {old['commit'][:7]} ({old['wall_seconds']:.0f} s), new {new['commit'][:7]} ({new['wall_seconds']:.0f} s)"
    ]
    lines.append(f"visualizations old -> new: {dict(Counter((os_[k], ns[k]) for k in os_))}")
    both = [k for k in oi if k in ni]
    lines.append(f"instances consistent in both: {len(both)}")
    for i, q in enumerate(QUESTIONS):
        before, after = Counter(oi[k][i] for k in both), Counter(ni[k][i] for k in both)
        changes = Counter((oi[k][i], ni[k][i]) for k in both if oi[k][i] != ni[k][i])
        lines.append(f"  {q}: {dict(before)} -> {dict(after)}; changes {dict(changes)}")
    fresh = [k for k in ni if k not in oi]
    lines.append(f"instances of newly consistent visualizations: {len(fresh)}")
    for i, q in enumerate(QUESTIONS):
        lines.append(f"  {q}: {dict(Counter(ni[k][i] for k in fresh))}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--visualizations", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = ap.parse_args(argv)
    if args.compare:
        old, new = (json.loads(p.read_text()) for p in args.compare)
        print(compare(old, new))
        return 0
    if args.out is None:
        ap.error("give --out FILE (or --compare OLD NEW)")
    if args.visualizations < 1:
        ap.error(f"--visualizations {args.visualizations}: must be >= 1")
    res = run(args.visualizations, args.seed)
    args.out.write_text(json.dumps(res))
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
