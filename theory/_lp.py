"""Small helpers around cvxpy for the LP-based value ranges."""

from __future__ import annotations

import warnings
from typing import Any

_BANNER_SILENCED = False


def silence_highs_banner() -> None:
    """HiGHS writes its banner ("Running HiGHS ...") straight to file descriptor 1 when the first ``Highs`` object
    of the process is built, before any option can be set (cvxpy builds one only to read ``inf``). Build that first
    object here with fd 1 pointed at /dev/null, once: later objects print nothing, and solves run with
    ``verbose=False`` (HiGHS ``log_to_console`` off), so stdout stays clean for JSON and stderr holds only our
    own messages."""
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        return
    _BANNER_SILENCED = True
    try:
        import highspy
    except ImportError:  # no HiGHS: nothing to silence
        return
    import os
    import sys

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def solve(problem: Any) -> str:
    """Solve a cvxpy problem, an LP with HiGHS (fallback Clarabel), a conic one (dual 2-norm bounds) with
    Clarabel; return the name of the solver that ran.

    Raises RuntimeError if the solver fails for reasons other than infeasibility (the status is returned
    through ``problem.status`` for the caller to interpret)."""
    import cvxpy as cp

    silence_highs_banner()
    installed = cp.installed_solvers()
    order = ("HIGHS", "CLARABEL", "SCS") if problem.is_lp() else ("CLARABEL", "SCS")  # HiGHS: LPs only
    for name in order:
        if name in installed:
            try:
                with warnings.catch_warnings():  # "solution may be inaccurate": problem.status says so to the caller
                    warnings.simplefilter("ignore", UserWarning)
                    problem.solve(solver=name, verbose=False)
            except cp.error.SolverError:
                continue
            return name
    raise RuntimeError(f"no LP solver could solve the problem (installed: {installed})")
