"""Exact global extrema of a ReLU network over [0,1]^d, by MILP (big-M, HiGHS) and by z3, which must agree.

A spec ``{"kind": "relu_net", "layers": [{"W", "b"}, ...]}`` computes h_0 = y, h_{l+1} = relu(W_l h_l + b_l) for
hidden layers and f(y) = W_L h_L + b_L (one output). MILP encoding (Tjeng et al. 2019): for a neuron with
pre-activation z in [l, u] (interval arithmetic), a = relu(z) is a >= z, a >= 0, a <= z - l (1 - s), a <= u s,
s in {0, 1}; neurons with u <= 0 or l >= 0 are linear. The optimiser's argmax is re-evaluated in exact rational
arithmetic; the MILP optimum is confirmed by a second solve asking for a value above it by 1e-5 (relative).
z3 encodes relu as If(z > 0, z, 0) and proves "no y in the box has f(y) > v" (unsat) for the exact candidate v.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import z3
from scipy.optimize import Bounds, LinearConstraint, milp

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


def _milp_opt(net: ReluNet, sense: str, above: float | None = None) -> tuple[bool, np.ndarray | None, float | None]:
    """Maximise (sense "max") or minimise f over the box. Variables: y, then per hidden layer z, a, s."""
    bounds = _interval_bounds(net)
    d = net.d
    idx = d
    layout = []
    for W in net.weights[:-1]:
        n = len(W)
        layout.append((idx, idx + n, idx + 2 * n))  # z, a, s offsets
        idx += 3 * n
    nvar = idx
    rows: list[np.ndarray] = []
    lbs: list[float] = []
    ubs: list[float] = []
    lb = np.full(nvar, -np.inf)
    ub = np.full(nvar, np.inf)
    lb[:d], ub[:d] = 0, 1
    integrality = np.zeros(nvar)
    prev = list(range(d))
    for li, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1], strict=True)):
        zo, ao, so = layout[li]
        zl, zu = bounds[li]
        for j, (row, bb) in enumerate(zip(W, b, strict=True)):
            r = np.zeros(nvar)
            r[[*prev]] = [float(v) for v in row]
            r[zo + j] = -1  # W h - z = -b
            rows.append(r)
            lbs.append(-float(bb))
            ubs.append(-float(bb))
            a, z, s = ao + j, zo + j, so + j
            lb[a], lb[s], ub[s] = 0, 0, 1
            integrality[s] = 1
            for coef, lo_, hi_ in (({a: 1, z: -1}, 0, np.inf),):  # a >= z
                r = np.zeros(nvar)
                for k, c in coef.items():
                    r[k] = c
                rows.append(r)
                lbs.append(lo_)
                ubs.append(hi_)
            r = np.zeros(nvar)  # a <= z - l (1 - s)  <=>  a - z - l s <= -l
            r[a], r[z], r[s] = 1, -1, -zl[j]
            rows.append(r)
            lbs.append(-np.inf)
            ubs.append(-zl[j])
            r = np.zeros(nvar)  # a <= u s
            r[a], r[s] = 1, -max(zu[j], 0)
            rows.append(r)
            lbs.append(-np.inf)
            ubs.append(0)
        prev = list(range(layout[li][1], layout[li][1] + len(W)))
    c = np.zeros(nvar)
    c[prev] = [float(v) for v in net.weights[-1][0]]
    const = float(net.biases[-1][0])
    if above is not None:  # feasibility: f(y) >= above (max) or f(y) <= above (min)
        rows.append(c.copy())
        lbs.append(above - const if sense == "max" else -np.inf)
        ubs.append(np.inf if sense == "max" else above - const)
    obj = -c if sense == "max" else c
    res = milp(
        obj,
        constraints=LinearConstraint(np.array(rows), lbs, ubs) if rows else None,
        integrality=integrality,
        bounds=Bounds(lb, ub),
        options={"time_limit": 60},
    )
    if res.status != 0 or res.x is None:
        return False, None, None
    return True, res.x[:d], float(c @ res.x + const)


def relu_net_extrema(spec: dict[str, Any] | ReluNet, method: str = "milp") -> dict[str, Any]:
    """Exact global max and min of the network over [0,1]^d with their argmax/argmin (rationals)."""
    net = spec if isinstance(spec, ReluNet) else parse_relu_net(spec)
    out: dict[str, Any] = {"method": method}
    for sense in ("max", "min"):
        if method == "milp":
            ok, y, _ = _milp_opt(net, sense)
            if not ok or y is None:
                raise RuntimeError(f"MILP for the {sense} failed")
            ys = [Fraction(float(v)).limit_denominator(10**9) for v in np.clip(y, 0, 1)]
            val = evaluate(net, ys)
            # confirm: nothing beyond val + 1e-5 max(1, |val|) exists (big-M slack under HiGHS tolerances ~1e-6)
            margin = 1e-5 * max(1.0, abs(float(val)))
            beyond, _, _ = _milp_opt(net, sense, float(val) + (margin if sense == "max" else -margin))
            out[sense] = val
            out[f"arg{sense}"] = ys
            out[f"{sense}_confirmed"] = not beyond
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
