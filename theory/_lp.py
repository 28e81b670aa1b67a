"""Small helpers around cvxpy for the LP-based value ranges."""

from __future__ import annotations

from typing import Any


def solve(problem: Any) -> str:
    """Solve a cvxpy LP with HiGHS (fallback Clarabel); return the name of the solver that ran.

    Raises RuntimeError if the solver fails for reasons other than infeasibility (the status is returned
    through ``problem.status`` for the caller to interpret)."""
    import cvxpy as cp

    installed = cp.installed_solvers()
    for name in ("HIGHS", "CLARABEL", "SCS"):
        if name in installed:
            try:
                problem.solve(solver=name)
            except cp.error.SolverError:
                continue
            return name
    raise RuntimeError(f"no LP solver could solve the problem (installed: {installed})")
