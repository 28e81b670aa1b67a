"""Small helpers around cvxpy for the LP-based value ranges."""

from __future__ import annotations

from typing import Any


def solve(problem: Any) -> str:
    """Solve a cvxpy problem, an LP with HiGHS (fallback Clarabel), a conic one (dual 2-norm bounds) with
    Clarabel; return the name of the solver that ran.

    Raises RuntimeError if the solver fails for reasons other than infeasibility (the status is returned
    through ``problem.status`` for the caller to interpret)."""
    import cvxpy as cp

    installed = cp.installed_solvers()
    order = ("HIGHS", "CLARABEL", "SCS") if problem.is_lp() else ("CLARABEL", "SCS")  # HiGHS: LPs only
    for name in order:
        if name in installed:
            try:
                problem.solve(solver=name)
            except cp.error.SolverError:
                continue
            return name
    raise RuntimeError(f"no LP solver could solve the problem (installed: {installed})")
