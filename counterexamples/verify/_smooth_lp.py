"""Check a ``smooth_lp_bound`` certificate: an outer bound for L-smooth functions on the box, proved by weak LP
duality over finitely many points, in exact rational arithmetic (no solver, nothing from ``theory``).

In units of Delta (f_min = 0, f_max = 1, L the certificate's ``L_over_delta``), every member satisfies at any two
listed points p_i, p_j (the segment lies in the box; the derivative along it is (L |p_j - p_i|^2)-Lipschitz)

    up(i, j):   f_j - f_i - g_i.(p_j - p_i) <= L |p_j - p_i|^2 / 2,   down(i, j): the same with f_i - f_j + g_i.(...)

and floor(i): -f_i <= 0, ceil(i): f_i <= 1, eq_min: f(x_min) = 0, eq_max: f(x_max) = 1 (only when the objective
pins f_max), and the first-order conditions at the extrema (cone_min(k), cone_max(k): g_k = 0 where the point is
interior, else a sign). Each row is rebuilt here from its kind and the points; the multipliers must be >= 0 on the
inequalities, and sum_r y_r row_r must equal the objective (sign * f at the objective point) in every variable.
Then sign * f(point) <= sum_r y_r rhs_r = ``bound`` for every member.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from counterexamples.verify._exact import frac
from counterexamples.verify._report import Report

KINDS = ("up", "down", "floor", "ceil", "eq_min", "eq_max", "cone_min", "cone_max")


def _cone(c: Fraction, at_max: bool) -> int | None:
    if 0 < c < 1:
        return None
    s = -1 if c == 0 else 1
    return -s if at_max else s


def _row(kind: list[Any], pts: list[list[Fraction]], imin: int, imax: int, L: Fraction) -> tuple[dict, Fraction, bool]:
    """(coefficients, right-hand side, is an equality) of one row, rebuilt from its kind."""
    name = kind[0]
    if name in ("up", "down"):
        i, j = int(kind[1]), int(kind[2])
        if i == j:
            raise ValueError(f"row {kind[:3]}: the two points must differ")
        diff = [b - a for a, b in zip(pts[i], pts[j], strict=True)]
        s = 1 if name == "up" else -1
        coef = {("f", j): Fraction(s), ("f", i): Fraction(-s)}
        for k, v in enumerate(diff):
            if v:
                coef[("g", i, k)] = -s * v
        return coef, L * sum(v * v for v in diff) / 2, False
    if name == "floor":
        return {("f", int(kind[1])): Fraction(-1)}, Fraction(0), False
    if name == "ceil":
        return {("f", int(kind[1])): Fraction(1)}, Fraction(1), False
    if name == "eq_min":
        return {("f", imin): Fraction(1)}, Fraction(0), True
    if name == "eq_max":
        return {("f", imax): Fraction(1)}, Fraction(1), True
    at, k = (imin if name == "cone_min" else imax), int(kind[1])
    s = _cone(pts[at][k], name == "cone_max")
    return {("g", at, k): Fraction(1 if s is None else s)}, Fraction(0), s is None


def verify_smooth_lp_bound(cert: dict[str, Any]) -> tuple[Report, Fraction | None]:
    """The report and the proved bound in units of Delta (None if any check fails).

    The certificate names its claim: the visualization ``fv`` (x_max, f_max, x_min, f_min), the class's ``L`` and
    the ``side``: "hi" (f(x) <= f_min + bound Delta at the point ``x``), "lo" (f(x) >= f_min - bound Delta) or
    "consistency" (f(x_max) - f_min <= bound Delta without the condition f(x_max) = f_max; the claim is that no
    member exists, so the bound must be < 1). The points at ``x_min``, ``x_max`` and the objective must be those
    of the claim, ``L_over_delta`` must be L / (f_max - f_min) exactly, and the objective's sign and f_max
    condition must match the side."""
    rep = Report("L-smooth outer bound (LP duality)")
    try:
        L = frac(cert["L_over_delta"])
        pts = [[frac(v) for v in p] for p in cert["points"]]
        imin, imax = int(cert["x_min"]), int(cert["x_max"])
        obj = cert["objective"]
        it, sign, pinned = int(obj["point"]), int(obj["sign"]), obj["f_max_pinned"]
        claimed = frac(cert["bound"])
        rows = [(list(r[:-1]), frac(r[-1])) for r in cert["rows"]]
        fv, side = cert["fv"], cert["side"]
        xmax, xmin = [frac(v) for v in fv["x_max"]], [frac(v) for v in fv["x_min"]]
        fmax, fmin, L_class = frac(fv["f_max"]), frac(fv["f_min"]), frac(cert["L"])
        x = None if side == "consistency" else [frac(v) for v in cert["x"]]
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as err:
        rep.add("certificate parses", False, f"{err.__class__.__name__}: {err}")
        return rep, None
    d = len(pts[0]) if pts else 0
    ok_pts = d > 0 and all(len(p) == d and all(0 <= v <= 1 for v in p) for p in pts)
    ok_idx = all(0 <= i < len(pts) for i in (imin, imax, it)) and imin != imax and sign in (1, -1)
    if not rep.add("points in [0,1]^d, indices valid and distinct", ok_pts and ok_idx, f"{len(pts)} points, d = {d}"):
        return rep, None
    if not isinstance(pinned, bool) or side not in ("hi", "lo", "consistency"):
        rep.add("objective and side", False, f"f_max_pinned = {pinned!r}, side = {side!r}")
        return rep, None
    rep.add("x_min and x_max are the visualization's", pts[imin] == xmin and pts[imax] == xmax, f"{xmin}, {xmax}")
    rep.add(
        "L_over_delta = L / (f_max - f_min)",
        fmax > fmin and L_class >= 0 and L_class / (fmax - fmin) == L,
        f"{L} vs {L_class} / ({fmax} - {fmin})",
    )
    want = {"hi": (x, 1, True), "lo": (x, -1, True), "consistency": (xmax, 1, False)}[side]
    rep.add(
        f"the objective is the claim's ({side})",
        (pts[it], sign, pinned) == want,
        f"point {pts[it]}, sign {sign}, f_max pinned {pinned}",
    )
    total: dict[Any, Fraction] = {}
    rhs = Fraction(0)
    for kind, y in rows:
        if not kind or kind[0] not in KINDS or (kind[0] == "eq_max" and not pinned):
            rep.add("row kinds", False, f"row {kind} is not allowed here")
            return rep, None
        try:
            coef, b, equality = _row(kind, pts, imin, imax, L)
        except (ValueError, IndexError, TypeError, OverflowError) as err:
            rep.add("rows rebuild", False, f"{err.__class__.__name__}: {err}")
            return rep, None
        if y < 0 and not equality:
            rep.add("multipliers of inequalities >= 0", False, f"row {kind} has multiplier {y}")
            return rep, None
        for var, v in coef.items():
            total[var] = total.get(var, Fraction(0)) + y * v
        rhs += y * b
    target = {("f", it): Fraction(sign)}
    diff = {var for var in set(total) | set(target) if total.get(var, Fraction(0)) != target.get(var, Fraction(0))}
    rep.add(
        "sum of y_r row_r equals the objective exactly",
        not diff,
        f"{len(rows)} rows; mismatched variables: {sorted(diff)[:4]}" if diff else f"{len(rows)} rows",
    )
    rep.add("sum of y_r rhs_r equals the stated bound", rhs == claimed, f"{rhs} vs {claimed}")
    if side == "consistency":
        rep.add("the bound is below 1: no member has the visualization", claimed < 1, f"bound {claimed}")
    return rep, (claimed if rep.ok else None)
