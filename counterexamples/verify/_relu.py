"""Exact global extrema of a ReLU network over [0,1]^d, by MILP (big-M, HiGHS) and by z3, which must agree.

A spec ``{"kind": "relu_net", "layers": [{"W", "b"}, ...]}`` computes h_0 = y, h_{l+1} = relu(W_l h_l + b_l) for
hidden layers and f(y) = W_L h_L + b_L (one output). MILP encoding (Tjeng et al. 2019): for a neuron with
pre-activation z in [l, u], a = relu(z) is a >= z, a >= 0, a <= z - l (1 - s), a <= u s, s in {0, 1}; neurons
with u <= 0 or l >= 0 are linear. Bounds come from interval arithmetic, tightened for deeper layers by the LP
relaxation of the layers before them (optimisation-based bound tightening). The optimiser's argmax is
re-evaluated in exact rational arithmetic, and a second solve confirms that nothing 1e-5 (relative) above it is
feasible. z3 encodes relu as If(z > 0, z, 0) and proves "no y in the box has f(y) > v" (unsat).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import z3
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from counterexamples.verify._exact import frac


@dataclass(frozen=True)
class ReluNet:
    weights: list[list[list[Fraction]]]
    biases: list[list[Fraction]]

    @property
    def d(self) -> int:
        return len(self.weights[0][0])

    def shapes(self) -> list[tuple[int, int]]:
        return [(len(W), len(W[0])) for W in self.weights]


def parse_relu_net(spec: dict[str, Any]) -> ReluNet:
    layers = spec.get("layers")
    if spec.get("kind") != "relu_net" or not layers:
        raise ValueError("a relu_net spec needs kind 'relu_net' and a non-empty list of layers")
    Ws = [[[frac(v) for v in row] for row in layer["W"]] for layer in layers]
    bs = [[frac(v) for v in layer["b"]] for layer in layers]
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        if len(W) != len(b) or len({len(r) for r in W}) != 1:
            raise ValueError(f"layer {i}: W must be rectangular with as many rows as b has entries")
        if i and len(W[0]) != len(Ws[i - 1]):
            raise ValueError(f"layer {i} takes {len(W[0])} inputs but layer {i - 1} has {len(Ws[i - 1])} outputs")
    if len(Ws[-1]) != 1:
        raise ValueError("the network must have one output")
    return ReluNet(Ws, bs)


def evaluate(net: ReluNet, y: list[Fraction]) -> Fraction:
    """f(y) in exact rational arithmetic."""
    h = list(y)
    for i, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = [sum((w * v for w, v in zip(row, h, strict=True)), Fraction(0)) + bb for row, bb in zip(W, b, strict=True)]
        h = z if i == len(net.weights) - 1 else [max(v, Fraction(0)) for v in z]
    return h[0]


def _region(net: ReluNet, y: list[Fraction]) -> tuple[list[tuple[list[Fraction], Fraction, bool]], list[Fraction]]:
    """The activation region of y, exactly: for every hidden neuron its pre-activation as an affine function of the
    input (coefficients, constant) and whether it is active at y; and the gradient of f on that region."""
    d = net.d
    A = [[Fraction(int(i == k)) for k in range(d)] for i in range(d)]  # h = A y + c
    c = [Fraction(0)] * d
    h = list(y)
    cons = []
    for i, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        ZA = [[sum((w * A[m][k] for m, w in enumerate(row) if w), Fraction(0)) for k in range(d)] for row in W]
        Zc = [sum((w * c[m] for m, w in enumerate(row) if w), Fraction(0)) + bb for row, bb in zip(W, b, strict=True)]
        z = [sum((w * v for w, v in zip(row, h, strict=True)), Fraction(0)) + bb for row, bb in zip(W, b, strict=True)]
        if i == len(net.weights) - 1:
            return cons, ZA[0]
        act = [v > 0 for v in z]
        cons += [(ZA[j], Zc[j], act[j]) for j in range(len(W))]
        A = [ZA[j] if act[j] else [Fraction(0)] * d for j in range(len(W))]
        c = [Zc[j] if act[j] else Fraction(0) for j in range(len(W))]
        h = [max(v, Fraction(0)) for v in z]
    raise AssertionError("unreachable")


def _solve_exact(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """The unique solution of a square rational linear system (Gauss-Jordan), or None if it is singular."""
    n = len(rows)
    M = [list(r) + [v] for r, v in zip(rows, rhs, strict=True)]
    for col in range(n):
        piv = next((r for r in range(col, n) if M[r][col] != 0), None)
        if piv is None:
            return None
        M[col], M[piv] = M[piv], M[col]
        inv = 1 / M[col][col]
        M[col] = [v * inv for v in M[col]]
        for r in range(n):
            if r != col and M[r][col] != 0:
                f = M[r][col]
                M[r] = [a - f * b for a, b in zip(M[r], M[col], strict=True)]
    return [M[r][n] for r in range(n)]


def _snap(net: ReluNet, y: np.ndarray, sense: str) -> tuple[Fraction, list[Fraction]]:
    """An exact optimiser near the solver's float point y: the best, in exact arithmetic, of y rounded to a few
    precisions and of the exact vertex of y's activation region that optimises f on that region (its float LP
    solution, snapped to the rational solution of its tight constraints)."""
    better = (lambda a, b: a > b) if sense == "max" else (lambda a, b: a < b)
    cands = [[Fraction(float(v)).limit_denominator(10**k) for v in np.clip(y, 0, 1)] for k in (9, 6, 3)]
    try:
        cons, grad = _region(net, cands[0])
        d = net.d
        # rows r.y <= q: region sign conditions and the box
        rows = [([-v for v in a], cst) if act else (list(a), -cst) for a, cst, act in cons]
        rows += [([Fraction(int(i == k)) for k in range(d)], Fraction(1)) for i in range(d)]
        rows += [([Fraction(-int(i == k)) for k in range(d)], Fraction(0)) for i in range(d)]
        g = np.array([float(v) for v in grad])
        R = np.array([[float(v) for v in r] for r, _ in rows])
        q = np.array([float(v) for _, v in rows])
        lp = linprog(-g if sense == "max" else g, A_ub=R, b_ub=q, bounds=[(None, None)] * d, method="highs")
        if lp.status == 0:
            slack = q - R @ lp.x
            order = np.argsort(np.abs(slack) / (1 + np.abs(R).sum(axis=1)))
            basis: list[int] = []
            for i in order[: 4 * d + 8]:
                trial = [rows[j][0] for j in (*basis, i)]
                if _rank(trial) == len(trial):
                    basis.append(int(i))
                if len(basis) == d:
                    break
            if len(basis) == d:
                v = _solve_exact([rows[j][0] for j in basis], [rows[j][1] for j in basis])
                if v is not None and all(0 <= t <= 1 for t in v):
                    cands.insert(0, v)
    except (ValueError, ZeroDivisionError):  # the float LP is only a guide: fall back to the rounded points
        pass
    best_v, best_y = None, None
    for cand in cands:
        val = evaluate(net, cand)
        if best_v is None or better(val, best_v):
            best_v, best_y = val, cand
    return best_v, best_y  # type: ignore[return-value]


def _rank(rows: list[list[Fraction]]) -> int:
    M = [list(r) for r in rows]
    rank, ncol = 0, len(M[0]) if M else 0
    for col in range(ncol):
        piv = next((r for r in range(rank, len(M)) if M[r][col] != 0), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        for r in range(len(M)):
            if r != rank and M[r][col] != 0:
                f = M[r][col] / M[rank][col]
                M[r] = [a - f * b for a, b in zip(M[r], M[rank], strict=True)]
        rank += 1
    return rank


def _interval_bounds(net: ReluNet) -> list[tuple[np.ndarray, np.ndarray]]:
    lo, hi = np.zeros(net.d), np.ones(net.d)
    out = []
    for W, b in zip(net.weights, net.biases, strict=True):
        Wf = np.array([[float(v) for v in r] for r in W])
        bf = np.array([float(v) for v in b])
        zl = np.maximum(Wf, 0) @ lo + np.minimum(Wf, 0) @ hi + bf
        zu = np.maximum(Wf, 0) @ hi + np.minimum(Wf, 0) @ lo + bf
        out.append((zl - 1e-9, zu + 1e-9))
        lo, hi = np.maximum(zl, 0), np.maximum(zu, 0)
    return out


def _encode(
    net: ReluNet,
    bounds: list[tuple[np.ndarray, np.ndarray]],
    layers: int,
    relax: bool,
    gain: list[float] | None = None,
) -> dict[str, Any]:
    """Big-M encoding of the first ``layers`` hidden layers. Variables: y, then per hidden layer z, a, s.
    Stable neurons (l >= 0 or u <= 0) are linear; ``relax`` drops integrality (the LP relaxation).

    ``gain`` (the objective's coefficients on the last encoded layer, signed so that the solver maximises) makes
    the last layer one-sided: a neuron the objective wants small (gain < 0) keeps only a >= z, a >= 0, which at
    the optimum, and in any point with a given objective level, can be lowered to a = relu(z) without hurting the
    objective, so it needs no binary; a neuron with gain 0 is dropped. This is exact, not a relaxation."""
    d = net.d
    idx, layout = d, []
    for W in net.weights[:layers]:
        n = len(W)
        layout.append((idx, idx + n, idx + 2 * n))  # z, a, s offsets
        idx += 3 * n
    nvar = idx
    rows: list[np.ndarray] = []
    lbs: list[float] = []
    ubs: list[float] = []
    lb, ub = np.full(nvar, -np.inf), np.full(nvar, np.inf)
    lb[:d], ub[:d] = 0, 1
    integrality = np.zeros(nvar)

    def row(coefs: dict[int, float], lo: float, hi: float) -> None:
        r = np.zeros(nvar)
        for k, v in coefs.items():
            r[k] = v
        rows.append(r)
        lbs.append(lo)
        ubs.append(hi)

    prev = list(range(d))
    for li in range(layers):
        W, b = net.weights[li], net.biases[li]
        zo, ao, so = layout[li]
        zl, zu = bounds[li]
        for j, (wrow, bb) in enumerate(zip(W, b, strict=True)):
            a, z, s_ = ao + j, zo + j, so + j
            coefs = {p: float(v) for p, v in zip(prev, wrow, strict=True) if v}
            coefs[z] = -1.0
            row(coefs, -float(bb), -float(bb))  # W h - z = -b
            lb[z], ub[z] = zl[j], zu[j]
            lb[s_], ub[s_] = 0, 1
            g = gain[j] if gain is not None and li == layers - 1 else None
            if g == 0:  # the objective ignores this neuron
                lb[a], ub[a], lb[s_], ub[s_] = 0, 0, 0, 0
            elif g is not None and g < 0 and zl[j] < 0 < zu[j]:  # a >= max(z, 0) suffices
                lb[a], ub[s_] = 0, 0
                row({a: 1, z: -1}, 0, np.inf)
            elif zl[j] >= 0:  # always active: a = z
                row({a: 1, z: -1}, 0, 0)
                lb[s_] = 1
            elif zu[j] <= 0:  # never active: a = 0
                lb[a], ub[a], ub[s_] = 0, 0, 0
            else:
                lb[a] = 0
                integrality[s_] = 0 if relax else 1
                row({a: 1, z: -1}, 0, np.inf)  # a >= z
                row({a: 1, z: -1, s_: -zl[j]}, -np.inf, -zl[j])  # a <= z - l (1 - s)
                row({a: 1, s_: -zu[j]}, -np.inf, 0)  # a <= u s
        prev = list(range(ao, ao + len(W)))
    return {
        "rows": rows,
        "lbs": lbs,
        "ubs": ubs,
        "lb": lb,
        "ub": ub,
        "integrality": integrality,
        "prev": prev,
        "nvar": nvar,
    }


def _solve(
    enc: dict[str, Any],
    c: np.ndarray,
    extra: list[tuple[np.ndarray, float, float]] = (),  # type: ignore[assignment]
    time_limit: float = 600,
) -> Any:
    rows = enc["rows"] + [r for r, _, _ in extra]
    lbs = enc["lbs"] + [lo for _, lo, _ in extra]
    ubs = enc["ubs"] + [hi for _, _, hi in extra]
    return milp(
        c,
        constraints=LinearConstraint(np.array(rows), lbs, ubs) if rows else None,
        integrality=enc["integrality"],
        bounds=Bounds(enc["lb"], enc["ub"]),
        options={"time_limit": time_limit, "mip_rel_gap": 0},
    )


def _tightened_bounds(net: ReluNet) -> list[tuple[np.ndarray, np.ndarray]]:
    """Interval bounds, then for every hidden layer after the first, each pre-activation's min and max over the
    LP relaxation of the layers before it (sound: the relaxation contains every reachable point)."""
    bounds = _interval_bounds(net)
    for li in range(1, len(net.weights) - 1):
        enc = _encode(net, bounds, li, relax=True)
        zl, zu = bounds[li]
        for j, (wrow, bb) in enumerate(zip(net.weights[li], net.biases[li], strict=True)):
            c = np.zeros(enc["nvar"])
            c[enc["prev"]] = [float(v) for v in wrow]
            lo, hi = _solve(enc, c), _solve(enc, -c)
            if lo.status == 0:
                zl[j] = max(zl[j], lo.fun + float(bb) - 1e-7)
            if hi.status == 0:
                zu[j] = min(zu[j], -hi.fun + float(bb) + 1e-7)
        bounds[li] = (zl, zu)
    return bounds


def _milp_opt(
    net: ReluNet, sense: str, above: float | None = None, bounds: list[tuple[np.ndarray, np.ndarray]] | None = None
) -> tuple[bool, np.ndarray | None, float | None]:
    """Maximise (sense "max") or minimise f over the box; with ``above``, subject to f >= above (max) or
    f <= above (min). Returns (False, None, None) only when HiGHS proves the problem infeasible."""
    out_w = [float(v) for v in net.weights[-1][0]]
    gain = out_w if sense == "max" else [-v for v in out_w]
    enc = _encode(net, bounds or _tightened_bounds(net), len(net.weights) - 1, relax=False, gain=gain)
    c = np.zeros(enc["nvar"])
    c[enc["prev"]] = out_w
    const = float(net.biases[-1][0])
    extra = []
    if above is not None:
        extra.append(
            (c.copy(), above - const if sense == "max" else -np.inf, np.inf if sense == "max" else above - const)
        )
    res = _solve(enc, -c if sense == "max" else c, extra)
    if res.x is not None:  # optimal, or a feasible point found before a limit
        return True, res.x[: net.d], float(c @ res.x + const)
    if res.status == 2:  # proved infeasible
        return False, None, None
    raise RuntimeError(f"MILP ended without a verdict (HiGHS status {res.status}: {res.message})")


def _forward(net: ReluNet, Y: np.ndarray) -> np.ndarray:
    h = Y
    for i, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        h = h @ np.array([[float(v) for v in r] for r in W]).T + np.array([float(v) for v in b])
        if i < len(net.weights) - 1:
            h = np.maximum(h, 0)
    return h[:, 0]


def _incumbent(net: ReluNet, sense: str, samples: int = 4096, seed: int = 0) -> tuple[Fraction, list[Fraction]]:
    """A good starting point: the best of random points and box vertices (float), made an exact local optimum by
    optimising f on its activation region (``_snap``)."""
    rng = np.random.default_rng(seed)
    Y = rng.random((samples, net.d))
    if net.d <= 12:
        corners = ((np.arange(2**net.d)[:, None] >> np.arange(net.d)) & 1).astype(float)
        Y = np.vstack([Y, corners])
    vals = _forward(net, Y)
    return _snap(net, Y[np.argmax(vals) if sense == "max" else np.argmin(vals)], sense)


def _milp_certified(
    net: ReluNet, sense: str, bounds: list[tuple[np.ndarray, np.ndarray]], max_rounds: int = 20
) -> tuple[Fraction, list[Fraction], int]:
    """Exact optimum: the MILP's optimiser, snapped to the exact optimal vertex of its activation region (a
    rational point and its exact value v); then a second MILP asks for a point with f >= v + margin
    (f <= v - margin for the min). Infeasible: nothing beats v by more than the margin, 1e-5 max(1, |v|) (HiGHS's
    feasibility tolerances are about 1e-6; z3 closes that gap exactly). Feasible: its exact local optimum is the new
    incumbent, and the check repeats. Returns the value, the point and the number of MILP solves."""
    found, y, _ = _milp_opt(net, sense, bounds=bounds)
    if not found or y is None:
        raise RuntimeError(f"MILP for the {sense} found no point")
    val, ys = _snap(net, y, sense)
    for rounds in range(2, max_rounds + 2):
        margin = 1e-5 * max(1.0, abs(float(val)))
        found, y, _ = _milp_opt(net, sense, float(val) + (margin if sense == "max" else -margin), bounds)
        if not found or y is None:
            return val, ys, rounds
        v2, y2 = _snap(net, y, sense)
        if (v2 <= val) if sense == "max" else (v2 >= val):  # the solver's point is no better in exact terms
            raise RuntimeError(f"MILP point {y} does not improve on {val} in exact arithmetic")
        val, ys = v2, y2
    raise RuntimeError(f"no certified {sense} after {max_rounds} MILP rounds")


def relu_net_extrema(spec: dict[str, Any] | ReluNet, method: str = "milp") -> dict[str, Any]:
    """Exact global max and min of the network over [0,1]^d with their argmax/argmin (rationals)."""
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
        else:
            raise ValueError(f"method {method!r} is not one of 'milp', 'z3'")
    return out


def _z3_net(net: ReluNet) -> tuple[list[Any], Any]:
    ys = [z3.Real(f"y{k}") for k in range(net.d)]
    h: list[Any] = list(ys)
    for i, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = [
            z3.Sum([z3.RealVal(str(w)) * v for w, v in zip(row, h, strict=True)]) + z3.RealVal(str(bb))
            for row, bb in zip(W, b, strict=True)
        ]
        h = z if i == len(net.weights) - 1 else [z3.If(v > 0, v, 0) for v in z]
    return ys, h[0]


def _z3_opt(net: ReluNet, sense: str, timeout_ms: int = 60000) -> tuple[Fraction, list[Fraction]]:
    ys, f = _z3_net(net)
    opt = z3.Optimize()
    opt.set("timeout", timeout_ms)
    opt.add(*[c for y in ys for c in (y >= 0, y <= 1)])
    if sense == "max":
        opt.maximize(f)
    else:
        opt.minimize(f)
    if opt.check() != z3.sat:
        raise RuntimeError(f"z3 could not optimise the network ({opt.reason_unknown()})")
    m = opt.model()
    pt = [z3_fraction(m.eval(y, model_completion=True)) for y in ys]
    return z3_fraction(m.eval(f, model_completion=True)), pt


def z3_fraction(v: Any) -> Fraction:
    """A z3 numeral (integer or rational) as a Fraction."""
    if z3.is_int_value(v):
        return Fraction(v.as_long())
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    raise ValueError(f"z3 value {v} is not rational")


def z3_bound_holds(spec: dict[str, Any] | ReluNet, bound: Fraction, sense: str, timeout_ms: int = 60000) -> bool:
    """z3 proof that f <= bound ("max") or f >= bound ("min") everywhere on the box (negation unsat)."""
    net = spec if isinstance(spec, ReluNet) else parse_relu_net(spec)
    ys, f = _z3_net(net)
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*[c for y in ys for c in (y >= 0, y <= 1)])
    b = z3.RealVal(str(bound))
    s.add(f > b if sense == "max" else f < b)
    return s.check() == z3.unsat
