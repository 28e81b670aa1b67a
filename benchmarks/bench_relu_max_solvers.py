"""Is the exact ReLU maximum slow because of HiGHS or because of the big-M relaxation? The same MILP, two solvers.

For the random networks of ``bench_relu_max.py`` (d = 8, two hidden layers), build the verifier's big-M encoding once
(same tightened bounds, same one-sided last layer, same exact incumbent and cutoff row f >= v + 1e-9 max(1, |v|))
and time the proof with HiGHS (the verifier's solver, its options) and with Gurobi (``gurobipy``'s size-limited
pip licence, if installed; one thread, MIPGap 0), side by side in one run, max and min separately. Gurobi is not a
dependency of the project: this only measures whether a stronger solver would close the gap. Writes
``benchmarks/results/relu_max_solvers.json`` (or ``--out``) with its ``provenance`` record (``empirical._provenance``:
commit, settings, solver options and versions, the networks' seeds and the sha256 of each network's specification).

    pip install gurobipy   # optional
    python benchmarks/bench_relu_max_solvers.py [--widths 16 32 48 64] [--limit 300] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import highspy
import numpy as np
from bench_relu_max import spec

from counterexamples.verify._relu import (
    _MILP_OPTIONS,
    _cutoff_level,
    _encode,
    _floats,
    _highs,
    _incumbent,
    _Model,
    _tightened_bounds,
    _with_cutoff_row,
    parse_relu_net,
)
from empirical._provenance import provenance, start_clock

HIDDEN_LAYERS = 2
GUROBI_PARAMS = {"Threads": 1, "MIPGap": 0.0}  # and TimeLimit = --limit


def _cutoff_model(net, sense: str) -> tuple[_Model, np.ndarray, float]:  # noqa: ANN001
    """The verifier's MILP for one extremum with its cutoff row (maximise c . x = gain . a_out >= level), the
    objective c and the level, from the same exact incumbent as the verifier."""
    Ws, bs = _floats(net)
    sign = 1.0 if sense == "max" else -1.0
    gain = sign * Ws[-1][0]
    val, _ = _incumbent(net, sense)
    level = _cutoff_level(val, sign, sign * bs[-1][0])
    model = _with_cutoff_row(_encode(Ws, bs, _tightened_bounds(net), len(Ws) - 1, relax=False, gain=gain), gain, level)
    c = np.zeros(model.A.shape[1])
    c[model.out] = gain
    return model, c, level


def highs_time(model: _Model, c: np.ndarray, level: float, limit: float) -> tuple[float | None, str]:
    h = _highs(model, -c, {**_MILP_OPTIONS, "time_limit": limit, "objective_bound": -level})
    t0 = time.perf_counter()
    h.run()
    t = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus())
    return (None if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit else t), status


def gurobi_time(model: _Model, c: np.ndarray, level: float, limit: float) -> tuple[float | None, str]:
    import gurobipy as gp

    m = gp.Model(env=gp.Env(params={"OutputFlag": 0}))
    m.Params.Threads, m.Params.MIPGap, m.Params.TimeLimit = GUROBI_PARAMS["Threads"], GUROBI_PARAMS["MIPGap"], limit
    x = m.addMVar(model.A.shape[1], lb=model.clb, ub=model.cub,
                  vtype=np.where(model.integer, gp.GRB.BINARY, gp.GRB.CONTINUOUS))  # fmt: skip
    A = model.A.tocsr()
    eq = model.rlo == model.rhi
    ge = np.isfinite(model.rlo) & ~eq
    le = np.isfinite(model.rhi) & ~eq
    for rows, sense, rhs in ((eq, "=", model.rlo), (ge, ">", model.rlo), (le, "<", model.rhi)):
        if rows.any():
            m.addMConstr(A[rows], x, sense, rhs[rows])  # the cutoff row included
    m.setObjective(c @ x, gp.GRB.MAXIMIZE)
    t0 = time.perf_counter()
    m.optimize()
    t = time.perf_counter() - t0
    return (None if m.Status == gp.GRB.TIME_LIMIT else t), {2: "optimal", 3: "infeasible"}.get(m.Status, str(m.Status))


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _provenance(args: argparse.Namespace, solvers: list[str], started: tuple[float, float]) -> dict[str, Any]:
    """The result's provenance: every command-line setting plus the fixed ones (two hidden layers, HiGHS's options,
    Gurobi's parameters, the solvers timed and their versions); the seeds are the networks' (``spec(d, width,
    seed=width)``), their weights hashed as their specifications (sorted JSON)."""
    gurobi = "gurobi" in solvers
    config = {
        **vars(args), "hidden_layers": HIDDEN_LAYERS, "solvers": solvers,
        "solver_versions": {"highspy": _version("highspy"), "gurobipy": _version("gurobipy") if gurobi else None},
        "highs_options": _MILP_OPTIONS, "gurobi_params": {**GUROBI_PARAMS, "TimeLimit": args.limit} if gurobi else None,
        "network_seeds": "seed = width",
    }  # fmt: skip
    weights = {
        f"d{args.d}_{HIDDEN_LAYERS}x{w}": json.dumps(spec(args.d, w, seed=w), sort_keys=True).encode()
        for w in args.widths
    }
    return provenance(config, args.widths, None, None, weights, started, device="cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line settings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 24, 32, 40, 48, 64])
    ap.add_argument("--limit", type=float, default=300.0, help="seconds per solve before it counts as a miss")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "relu_max_solvers.json")
    return ap.parse_args(argv)


def main() -> None:
    started = start_clock()
    args = parse_args()
    try:
        import gurobipy  # noqa: F401

        solvers = {"highs": highs_time, "gurobi": gurobi_time}
    except ImportError:
        print("gurobipy is not installed: timing HiGHS only")
        solvers = {"highs": highs_time}
    rows = []
    for width in args.widths:
        net = parse_relu_net(spec(args.d, width, seed=width))
        for sense in ("max", "min"):
            model, c, level = _cutoff_model(net, sense)
            row = {"hidden": [width, width], "sense": sense, "binaries": int(model.integer.sum()),
                   "load_average_1min": os.getloadavg()[0]}  # fmt: skip
            for name, fn in solvers.items():
                row[f"{name}_s"], row[f"{name}_status"] = fn(model, c, level, args.limit)
            rows.append(row)
            cells = "   ".join(
                f"{n} " + (f"{row[f'{n}_s']:7.2f} s" if row[f"{n}_s"] is not None else f"> {args.limit:g} s")
                for n in solvers
            )
            print(f"d={args.d} 2x{width:<3} {sense}  binaries {row['binaries']:3d}   {cells}", flush=True)
    result = {"limit_s": args.limit, "cpus": os.cpu_count(), "rows": rows}
    result["provenance"] = _provenance(args, list(solvers), started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
