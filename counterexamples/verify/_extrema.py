"""Exact global extrema of a ReLU network over [0,1]^d by one of three methods (the dispatcher sits above
``_relu`` and ``_bab`` so that neither imports the other's caller: ``_relu`` <- ``_exact_int`` <- ``_bab`` <- here)."""

from __future__ import annotations

from typing import Any

from counterexamples.verify._bab import bab_extremum
from counterexamples.verify._relu import ReluNet, _milp_certified, _tightened_bounds, _z3_opt, parse_relu_net

__all__ = ["relu_net_extrema"]


def relu_net_extrema(spec: dict[str, Any] | ReluNet, method: str = "milp") -> dict[str, Any]:
    """Exact global max and min of the network over [0,1]^d with their argmax/argmin (rationals).

    ``method``: "milp" (one big-M MILP over the whole box, HiGHS), "z3" (optimisation over the reals) or "bab"
    (branch and bound on the input box with MILP leaves, ``_bab``: far faster in low input dimension)."""
    net = spec if isinstance(spec, ReluNet) else parse_relu_net(spec)
    out: dict[str, Any] = {"method": method}
    bounds = _tightened_bounds(net) if method == "milp" else None
    for sense in ("max", "min"):
        if method == "milp":
            val, ys, rounds = _milp_certified(net, sense, bounds)  # type: ignore[arg-type]
            out[sense], out[f"arg{sense}"], out[f"{sense}_confirmed"] = val, ys, True
            out[f"{sense}_milp_solves"] = rounds
        elif method == "z3":
            val, ys = _z3_opt(net, sense)
            out[sense], out[f"arg{sense}"], out[f"{sense}_confirmed"] = val, ys, True
        elif method == "bab":
            val, ys, stats = bab_extremum(net, sense)
            out[sense], out[f"arg{sense}"], out[f"{sense}_confirmed"] = val, ys, True
            out[f"{sense}_search"] = stats
        else:
            raise ValueError(f"method {method!r} is not one of 'milp', 'z3', 'bab'")
    return out
