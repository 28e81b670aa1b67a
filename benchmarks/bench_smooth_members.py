"""How often the L-smooth engine decides in d >= 2 (a script, not a test): instance verdicts on random visualizations.

Draws ``--visualizations`` random feature visualizations on [0,1]^d (``--dim``, default 2; each coordinate of x_min
and x_max on the boundary half of the time, else a multiple of 1/100; Delta uniform in [0.02, 0.6] to 3 decimals;
seed ``--seed``), classifies each as consistent, inconsistent or undecided, and asks
``check_class("smooth", fv=..., x=...)`` at 5 random points of each consistent one (L = 1, eps = 0.1). Writes the
verdicts, their counts and a provenance record (the commit of the ``theory`` package that ran, which may be another
checkout on PYTHONPATH) to ``--out``.

With ``--baseline OLD.json`` (the same script run against another commit, same settings) the file also gets
``paired``: instance by instance, what the change decided (a "yes" turning into "no" or back would be a bug: both
are proved). docs/results.md prints it.

With ``--fine-grid N`` the file also gets ``fine_grid``: for every instance left "open", the two-point LP's float
optimum (``theory._smooth_lp.relaxation``, no certificate) on a grid of N points per axis plus the points near x,
on each side where the range is open, and whether that bound would decide the instance. This is a diagnostic of
where the gap lies, not a verdict: the LP bound decreases to the exact end of the range as nested grids are
refined (docs/theory.md), so an instance a much finer grid still leaves open points to members that fall short.

    PYTHONPATH=/path/to/old/checkout python benchmarks/bench_smooth_members.py --out /tmp/old.json
    python benchmarks/bench_smooth_members.py --baseline /tmp/old.json --fine-grid 11 \
        --out benchmarks/results/smooth_members.json
    # d = 4: --dim 4 (both runs), --out benchmarks/results/smooth_members_d4.json
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
Open = tuple[int, int, Any, list[float], list[str]]  # visualization number, point number, fv, x, open questions


def run(n_fv: int, seed: int, d: int = 2) -> dict[str, Any]:
    import numpy as np

    from theory import FeatureVisualization, check_class
    from theory.classes.smooth import Smooth, UndecidedConsistency

    rng = random.Random(seed)

    def point() -> list[float]:
        return [rng.choice([0.0, 1.0]) if rng.random() < 0.5 else round(rng.random(), 2) for _ in range(d)]

    rows: list[list[Any]] = []
    opened: list[Open] = []  # the open instances and their open questions, for ``fine_grid``
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    while n < n_fv:
        xmin, xmax = point(), point()
        if xmin == xmax:
            continue
        delta = round(rng.uniform(0.02, 0.6), 3)
        xs = [[round(rng.random(), 2) for _ in range(d)] for _ in range(5)]
        n += 1
        fv = FeatureVisualization(np.array(xmax), delta, np.array(xmin), 0.0)
        try:
            status = "consistent" if Smooth(d, 1.0).is_consistent(fv) else "inconsistent"
        except UndecidedConsistency:
            status = "undecided"
        if status != "consistent":
            rows.append([n, status])
            continue
        for j, x in enumerate(xs):
            r = check_class("smooth", fv=fv, x=x, L=1.0, eps=0.1)
            rows.append([n, j, *(r[q].verdict for q in QUESTIONS)])
            if any(r[q].verdict == "open" for q in QUESTIONS):
                opened.append((n, j, fv, x, [q for q in QUESTIONS if r[q].verdict == "open"]))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    status_counts = Counter(r[1] for r in rows if len(r) == 2)
    status_counts["consistent"] = len({r[0] for r in rows if len(r) > 2})
    return {
        "provenance": _provenance(n_fv, seed, d, wall, cpu),
        "visualizations": dict(status_counts),
        "instances": sum(1 for r in rows if len(r) > 2),
        "verdicts": {q: dict(Counter(r[2 + i] for r in rows if len(r) > 2)) for i, q in enumerate(QUESTIONS)},
        "rows": rows,
        "_open": opened,
    }


def fine_grid(opened: list[Open], d: int, n: int, eps: float = 0.1) -> dict[str, Any]:
    """At each open instance, the float LP optimum on a grid of n points per axis (plus the points near x) on each
    side where the range is open, and whether the tighter outer range would decide each open question (the members
    are unchanged, so an open answer could only turn "yes")."""
    import numpy as np

    from theory._smooth_lp import relaxation
    from theory.classes.smooth import Smooth

    t0, c0 = time.perf_counter(), time.process_time()
    rows: list[list[Any]] = []
    decided: Counter[str] = Counter()
    still: Counter[str] = Counter()
    for i, j, fv, x, questions in opened:
        xa = np.array(x)
        vr = Smooth(d, 1.0).value_range(fv, xa)
        lo, hi = vr.extra["outer"]
        delta, c = fv.delta, fv.midpoint
        if hi - vr.hi > 1e-12 * delta and (v := relaxation(fv.x_min, fv.x_max, 1.0 / delta, xa, 1, n)) is not None:
            hi = min(hi, fv.f_min + delta * v)
        if vr.lo - lo > 1e-12 * delta and (v := relaxation(fv.x_min, fv.x_max, 1.0 / delta, xa, -1, n)) is not None:
            lo = max(lo, fv.f_min - delta * v)
        yes = {"approx": (hi - lo) / 2 <= eps * delta, "min_or_max": hi < c or lo > c, "exact": hi - lo <= 0}
        row: list[Any] = [i, j, (hi - vr.hi) / delta, (vr.lo - lo) / delta]  # the gaps left, in units of Delta
        for q in questions:
            (decided if yes[q] else still)[q] += 1
            row.append([q, "decided" if yes[q] else "open"])
        rows.append(row)
    return {
        "n": n,
        "note": "float LP optima, no certificates: where the gap lies, not verdicts",
        "decided": dict(decided),
        "still_open": dict(still),
        "rows": rows,
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
    }


def config(n_fv: int, seed: int, d: int = 2) -> dict[str, Any]:
    """The settings a run records (and a baseline must share)."""
    return {"visualizations": n_fv, "seed": seed, "d": d, "L": 1.0, "eps": 0.1, "points_per_visualization": 5}


def _provenance(n_fv: int, seed: int, d: int, wall: float, cpu: float) -> dict[str, Any]:
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
        "config": config(n_fv, seed, d),
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
    ap.add_argument("--dim", type=int, default=2, help="the input dimension d (2 to 8)")
    ap.add_argument("--baseline", type=Path, help="a run of this script against another commit, same settings")
    ap.add_argument("--fine-grid", type=int, default=0, help="points per axis of the diagnostic LP (0: none; 3-15)")
    args = ap.parse_args(argv)
    if args.visualizations < 1:
        ap.error(f"--visualizations {args.visualizations}: must be >= 1")
    if not 2 <= args.dim <= 8:
        ap.error(f"--dim {args.dim}: must be in 2..8")
    if args.fine_grid and not 3 <= args.fine_grid <= 15:
        ap.error(f"--fine-grid {args.fine_grid}: must be 0 (none) or in 3..15")
    old = None
    if args.baseline is not None:  # checked before the run: same settings, rows of this script
        try:
            old = json.loads(args.baseline.read_text())
        except (OSError, json.JSONDecodeError) as e:
            ap.error(f"--baseline {args.baseline}: not a result file of this script ({e})")
        want = config(args.visualizations, args.seed, args.dim)
        got = old.get("provenance", {}).get("config") if isinstance(old, dict) else None
        if got != want or not isinstance(old.get("rows"), list):
            ap.error(f"--baseline {args.baseline}: settings {got} (and rows) must match this run's {want}")
    res = run(args.visualizations, args.seed, args.dim)
    opened = res.pop("_open")
    if old is not None:
        res["paired"] = paired(old, res)
    if args.fine_grid:
        res["fine_grid"] = fine_grid(opened, args.dim, args.fine_grid, res["provenance"]["config"]["eps"])
    args.out.write_text(json.dumps(res))
    print(json.dumps({k: v for k, v in res.items() if k != "rows"} | {"fine_grid": "(see the file)"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
