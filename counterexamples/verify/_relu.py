"""Exact global extrema of a ReLU network over [0,1]^d, by MILP (big-M, HiGHS) and by z3, which must agree.

A spec ``{"kind": "relu_net", "layers": [{"W", "b"}, ...]}`` computes h_0 = y, h_{l+1} = relu(W_l h_l + b_l) for
hidden layers and f(y) = W_L h_L + b_L (one output). MILP encoding (Tjeng et al. 2019): for a neuron with
pre-activation z in [l, u], a = relu(z) is a >= z, a >= 0, a <= z - l (1 - s), a <= u s, s in {0, 1}; neurons
with u <= 0 or l >= 0 are linear. Bounds come from interval arithmetic (exact over the box for the first layer),
tightened for deeper layers by the LP relaxation of the layers before them (optimisation-based bound tightening).
The model is built as a sparse matrix and solved by HiGHS through highspy, starting from an exact incumbent (best
sampled point, snapped to the exact optimal vertex of its activation region) as the cutoff; the MILP's argmax is
snapped the same way and re-evaluated in exact rational arithmetic, and the MILP's proved dual bound must be
within 1e-5 (relative) of that exact value. z3 encodes relu as If(z > 0, z, 0) and proves "no y in the box has
f(y) > v" (unsat).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import highspy
import numpy as np
import z3
from scipy import sparse
from scipy.optimize import linprog

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
        v = _tight_vertex(R, q, -g if sense == "max" else g, lambda j: rows[j])
        if v is not None:
            cands.insert(0, v)
    except (ValueError, ZeroDivisionError):  # the float LP is only a guide: fall back to the rounded points
        pass
    return _best_candidate(cands, lambda c: evaluate(net, c), better)


def _best_candidate(
    cands: list[list[Fraction]],
    value: Callable[[list[Fraction]], Fraction],
    better: Callable[[Fraction, Fraction], bool],
) -> tuple[Fraction, list[Fraction]]:
    """The candidate point with the best exact value (``better(a, b)``: a beats b), and that value; the first wins
    ties."""
    best_v, best_y = value(cands[0]), cands[0]
    for cand in cands[1:]:
        val = value(cand)
        if better(val, best_v):
            best_v, best_y = val, cand
    return best_v, best_y


def _tight_vertex(
    R: np.ndarray, q: np.ndarray, c: np.ndarray, exact: Callable[[int], tuple[list[Fraction], Fraction]]
) -> list[Fraction] | None:
    """The exact vertex of the polytope {y : R y <= q} at which the float LP min c . y stops: the d rows
    tightest at the LP's solution (relative slack, independent in exact arithmetic) solved in rationals;
    ``exact(j)`` gives row j exactly (its float form is R[j], q[j]). None if the LP fails, no d independent
    tight rows are found among the first 4d + 8, or the vertex leaves [0,1]^d."""
    d = R.shape[1]
    lp = linprog(c, A_ub=R, b_ub=q, bounds=[(None, None)] * d, method="highs")
    if lp.status != 0:
        return None
    order = np.argsort(np.abs(q - R @ lp.x) / (1 + np.abs(R).sum(axis=1)))
    basis: list[int] = []
    for i in order[: 4 * d + 8]:
        trial = [exact(j)[0] for j in (*basis, int(i))]
        if _rank(trial) == len(trial):
            basis.append(int(i))
        if len(basis) == d:
            break
    if len(basis) < d:
        return None
    rows = [exact(j) for j in basis]
    v = _solve_exact([r for r, _ in rows], [b for _, b in rows])
    return v if v is not None and all(0 <= t <= 1 for t in v) else None


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


def _floats(net: ReluNet) -> tuple[list[np.ndarray], list[np.ndarray]]:
    Ws = [np.array([[float(v) for v in r] for r in W]) for W in net.weights]
    bs = [np.array([float(v) for v in b]) for b in net.biases]
    return Ws, bs


def _interval_bounds(Ws: list[np.ndarray], bs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds of every layer over [0,1]^d by interval arithmetic (exact for the first layer, up to
    the 1e-9 padding that absorbs float rounding)."""
    lo, hi = np.zeros(Ws[0].shape[1]), np.ones(Ws[0].shape[1])
    out = []
    for W, b in zip(Ws, bs, strict=True):
        zl = np.maximum(W, 0) @ lo + np.minimum(W, 0) @ hi + b
        zu = np.maximum(W, 0) @ hi + np.minimum(W, 0) @ lo + b
        pad = 1e-9 * (1 + np.abs(W).sum(axis=1) + np.abs(b))
        out.append((zl - pad, zu + pad))
        lo, hi = np.maximum(zl, 0), np.maximum(zu, 0)
    return out


@dataclass
class _Model:
    """A big-M encoding as sparse matrix data for HiGHS: rows rlo <= A x <= rhi, columns clb <= x <= cub."""

    A: sparse.csc_matrix
    rlo: np.ndarray
    rhi: np.ndarray
    clb: np.ndarray
    cub: np.ndarray
    integer: np.ndarray  # bool per column
    out: np.ndarray  # columns of the last encoded layer's activations


def _encode(
    Ws: list[np.ndarray],
    bs: list[np.ndarray],
    bounds: list[tuple[np.ndarray, np.ndarray]],
    layers: int,
    relax: bool,
    gain: np.ndarray | None = None,
) -> _Model:
    """Big-M encoding of the first ``layers`` hidden layers (Tjeng et al. 2019), built as a sparse matrix.

    Columns: y in [0,1]^d, then per hidden layer its activations a, then a binary s for every neuron that needs
    one. With z = W h + b the pre-activation (substituted, not a column) and [l, u] its bounds: a dead neuron
    (u <= 0) is a = 0, an always active one (l >= 0) is a = z, an unstable one is a >= z, a >= 0,
    a <= z - l (1 - s), a <= u s. ``relax`` makes s continuous in [0, 1] (the LP relaxation).

    ``gain`` (the objective's coefficients on the last encoded layer, signed so that the solver maximises) makes
    the last layer one-sided: an unstable neuron the objective wants small (gain < 0) keeps only a >= z, a >= 0,
    which at the optimum, and in any point with a given objective level, can be lowered to a = relu(z) without
    hurting the objective, so it needs no binary; a neuron with gain 0 is dropped. This is exact, not a
    relaxation."""
    d = Ws[0].shape[1]
    prev = np.arange(d)
    nvar, nrow = d, 0
    clb, cub, integer = [np.zeros(d)], [np.ones(d)], [np.zeros(d, bool)]
    ri: list[np.ndarray] = []
    ci: list[np.ndarray] = []
    vv: list[np.ndarray] = []
    rlo: list[np.ndarray] = []
    rhi: list[np.ndarray] = []

    def rows_a_minus_wh(J: np.ndarray, a_idx: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Rows a_j - W_j h for the neurons J (returned: their row numbers)."""
        nonlocal nrow
        r = nrow + np.arange(len(J))
        sub = W[J]
        nz_r, nz_c = np.nonzero(sub)
        ri.extend([r, r[nz_r]])
        ci.extend([a_idx[J], prev[nz_c]])
        vv.extend([np.ones(len(J)), -sub[nz_r, nz_c]])
        nrow += len(J)
        return r

    for k in range(layers):
        W, b = Ws[k], bs[k]
        l, u = bounds[k]
        n = len(b)
        a_idx = nvar + np.arange(n)
        nvar += n
        g = gain if gain is not None and k == layers - 1 else None
        dead = u <= 0
        if g is not None:
            dead = dead | (g == 0)
        act = (l >= 0) & ~dead
        unst = ~dead & ~act
        half = unst & (g < 0) if g is not None else np.zeros(n, bool)
        full = unst & ~half
        clb.append(np.zeros(n))
        cub.append(np.where(dead, 0.0, np.maximum(u, 0)))
        integer.append(np.zeros(n, bool))
        J = np.flatnonzero(act)  # a - W h = b
        rows_a_minus_wh(J, a_idx, W)
        rlo.append(b[J])
        rhi.append(b[J])
        J = np.flatnonzero(unst)  # a - W h >= b
        rows_a_minus_wh(J, a_idx, W)
        rlo.append(b[J])
        rhi.append(np.full(len(J), np.inf))
        J = np.flatnonzero(full)
        s_idx = nvar + np.arange(len(J))
        nvar += len(J)
        clb.append(np.zeros(len(J)))
        cub.append(np.ones(len(J)))
        integer.append(np.full(len(J), not relax))
        r = rows_a_minus_wh(J, a_idx, W)  # a - W h - l s <= b - l
        ri.append(r)
        ci.append(s_idx)
        vv.append(-l[J])
        rlo.append(np.full(len(J), -np.inf))
        rhi.append(b[J] - l[J])
        r = nrow + np.arange(len(J))  # a - u s <= 0
        nrow += len(J)
        ri.extend([r, r])
        ci.extend([a_idx[J], s_idx])
        vv.extend([np.ones(len(J)), -u[J]])
        rlo.append(np.full(len(J), -np.inf))
        rhi.append(np.zeros(len(J)))
        prev = a_idx
    A = sparse.csc_matrix(
        (np.concatenate(vv), (np.concatenate(ri).astype(int), np.concatenate(ci).astype(int))), shape=(nrow, nvar)
    )
    return _Model(
        A,
        np.concatenate(rlo),
        np.concatenate(rhi),
        np.concatenate(clb),
        np.concatenate(cub),
        np.concatenate(integer),
        prev,
    )


# HiGHS's primal heuristics (sub-MIPs, feasibility jump) cost more than they save here: we pass a good exact
# incumbent as the cutoff, so the solve is mostly a proof. Measured in docs/verification.md.
_MILP_OPTIONS: dict[str, Any] = {
    "mip_rel_gap": 0.0,
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
}


_BANNER_DONE = False


def _new_highs() -> highspy.Highs:
    """A silent HiGHS instance. HiGHS writes its banner to file descriptor 1 when the first instance of a process
    is constructed (before ``silent()`` can act), so that one construction runs with fd 1 on /dev/null."""
    global _BANNER_DONE
    if _BANNER_DONE:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
            _BANNER_DONE = True
    h.silent()
    return h


def _highs(model: _Model, cost: np.ndarray, options: dict[str, Any]) -> highspy.Highs:
    h = _new_highs()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.A.shape[1], model.A.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = model.clb, model.cub
    lp.row_lower_, lp.row_upper_ = model.rlo, model.rhi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = model.A.indptr, model.A.indices, model.A.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = model.A.shape[1], model.A.shape[0]
    if model.integer.any():
        kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [kint if v else kcont for v in model.integer]
    h.passModel(lp)
    for k, v in options.items():
        h.setOptionValue(k, v)
    return h


def _tightened_bounds(net: ReluNet) -> list[tuple[np.ndarray, np.ndarray]]:
    """Interval bounds, then for every hidden layer after the first, each pre-activation's min and max over the
    LP relaxation of the layers before it (sound: the relaxation contains every reachable point). The first
    layer's interval bounds are already exact over the box. One warm-started HiGHS LP per layer: only the
    objective changes between the 2n solves."""
    Ws, bs = _floats(net)
    bounds = _interval_bounds(Ws, bs)
    for li in range(1, len(Ws) - 1):
        model = _encode(Ws, bs, bounds, li, relax=True)
        h = _highs(model, np.zeros(model.A.shape[1]), {})
        zl, zu = bounds[li]
        idx = model.out.astype(np.int32)
        for j, (wrow, bb) in enumerate(zip(Ws[li], bs[li], strict=True)):
            for sign in (1.0, -1.0):
                h.changeColsCost(len(idx), idx, sign * wrow)
                h.run()
                if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    continue  # keep the interval bound
                v = sign * h.getInfo().objective_function_value + bb
                pad = 1e-6 * max(1.0, abs(v))
                if sign > 0:
                    zl[j] = max(zl[j], v - pad)
                else:
                    zu[j] = min(zu[j], v + pad)
        bounds[li] = (zl, zu)
    return bounds


def _forward(net: ReluNet, Y: np.ndarray) -> np.ndarray:
    return _forward_floats(*_floats(net), Y)


def _forward_floats(Ws: list[np.ndarray], bs: list[np.ndarray], Y: np.ndarray) -> np.ndarray:
    """f at the rows of Y in floats, from the float weights (``_floats``)."""
    h = Y
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        h = h @ W.T + b
        if i < len(Ws) - 1:
            h = np.maximum(h, 0)
    return h[:, 0]


def _start_points(d: int, samples: int = 4096, seed: int = 0) -> np.ndarray:
    """Random points of [0,1]^d and, for d <= 12, the box's vertices: where the incumbent is sought."""
    Y = np.random.default_rng(seed).random((samples, d))
    if d <= 12:
        corners = ((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(float)
        Y = np.vstack([Y, corners])
    return Y


def _incumbent(net: ReluNet, sense: str, samples: int = 4096, seed: int = 0) -> tuple[Fraction, list[Fraction]]:
    """A good starting point: the best of random points and box vertices (float), made an exact local optimum by
    optimising f on its activation region (``_snap``)."""
    Y = _start_points(net.d, samples, seed)
    vals = _forward(net, Y)
    return _snap(net, Y[np.argmax(vals) if sense == "max" else np.argmin(vals)], sense)


def _with_cutoff_row(model: _Model, gain: np.ndarray, level: float = -np.inf) -> _Model:
    """``model`` with one more row, the cutoff gain . a_out >= level (the objective the MILP maximises)."""
    cut = sparse.csc_matrix((gain, (np.zeros(len(gain), int), model.out)), shape=(1, model.A.shape[1]))
    A = sparse.vstack([model.A, cut]).tocsc()
    return _Model(A, np.append(model.rlo, level), np.append(model.rhi, np.inf), model.clb, model.cub,
                  model.integer, model.out)  # fmt: skip


def _cutoff_level(val: Fraction, sign: float, const: float) -> float:
    """The cutoff on gain . a_out that asks for f strictly better than the incumbent value ``val``:
    sign f >= sign val + 1e-9 max(1, |val|), with sign f = gain . a_out + const."""
    return sign * float(val) + 1e-9 * max(1.0, abs(float(val))) - const


def _milp_certified(
    net: ReluNet,
    sense: str,
    bounds: list[tuple[np.ndarray, np.ndarray]],
    max_rounds: int = 20,
    time_limit: float = 600,
) -> tuple[Fraction, list[Fraction], int]:
    """Exact optimum, certified by one MILP in the usual case (written for the max; the min is the max of -f).

    Start from an exact incumbent v: the best sampled point, snapped to the exact optimal vertex of its activation
    region (``_incumbent``). One MILP maximises f with ``mip_rel_gap = 0`` subject to the cutoff row
    f >= v + 1e-9 max(1, |v|) (also passed to HiGHS as its objective bound):
    - infeasible: no point beats v (beyond HiGHS's tolerances); v is certified;
    - optimal: its argmax is snapped to the exact optimal vertex of its activation region; if that is better it
      becomes v. v is certified when the MILP's proved dual bound is at most v + 1e-5 max(1, |v|) (HiGHS's
      feasibility tolerances are about 1e-6; z3 closes that gap exactly). Otherwise the cutoff moves up to the
      new v and the MILP runs again; if the point is no better in exact terms (a point just outside the box,
      within HiGHS's 1e-6 tolerance, on a steep network: 1 in ~12,000 random networks), the MILP runs again
      with 1e-9 tolerances, and raises if that does not settle it.
    A MILP that stops at its time limit raises; it never counts as "infeasible". Returns the value, the point and
    the number of MILP solves."""
    Ws, bs = _floats(net)
    sign = 1.0 if sense == "max" else -1.0
    gain = sign * Ws[-1][0]
    model = _with_cutoff_row(_encode(Ws, bs, bounds, len(Ws) - 1, relax=False, gain=gain), gain)  # level per round
    val, ys = _incumbent(net, sense)
    snap = lambda x: _snap(net, x, sense)  # noqa: E731
    return _cutoff_rounds(model, gain, sign, sign * bs[-1][0], val, ys, snap, time_limit, max_rounds)


def _run_round(
    model: _Model, cost: np.ndarray, options: dict[str, Any], h: highspy.Highs, level: float
) -> tuple[highspy.Highs, highspy.HighsModelStatus]:
    """One MILP solve of :func:`_cutoff_rounds` with the cutoff (its last row, and HiGHS's objective bound) at
    ``level``. HiGHS 1.16's presolve can end a cutoff MILP with "Solve error" (seen on a random 2-8-8-1 network
    whose incumbent is already optimal); such a round is solved again from scratch without presolve, and that
    solver is kept. Returns the solver and its status, which is Infeasible, ObjectiveBound or Optimal; any other
    status raises (a time limit never counts as a verdict)."""
    ok = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound,
          highspy.HighsModelStatus.kOptimal)  # fmt: skip
    statuses = []
    for attempt in range(2):
        if attempt == 1:
            h = _highs(model, cost, {**options, "presolve": "off"})
        h.changeRowBounds(model.A.shape[0] - 1, level, highspy.kHighsInf)
        h.setOptionValue("objective_bound", -level)
        h.run()
        status = h.getModelStatus()
        if status in ok:
            return h, status
        statuses.append(h.modelStatusToString(status))
        if status == highspy.HighsModelStatus.kTimeLimit:
            break
    raise RuntimeError(f"MILP ended without a verdict (HiGHS: {', then without presolve: '.join(statuses)})")


def _cutoff_rounds(
    model: _Model,
    gain: np.ndarray,
    sign: float,
    const: float,
    val: Fraction,
    ys: list[Fraction],
    snap: Callable[[np.ndarray], tuple[Fraction, list[Fraction]]],
    time_limit: float,
    max_rounds: int = 20,
) -> tuple[Fraction, list[Fraction], int]:
    """The rounds of :func:`_milp_certified` on ``model`` (with its cutoff row last), from the exact incumbent
    ``val`` at ``ys``: maximise gain . a_out (= sign f - const) subject to the cutoff; ``snap`` maps a float point
    to an exact (value of f, point). Returns the certified value, point and number of MILP solves."""
    better = (lambda a, b: a > b) if sign > 0 else (lambda a, b: a < b)
    d = len(ys)
    cost = np.zeros(model.A.shape[1])
    cost[model.out] = -gain  # HiGHS minimises -sign (f - const)
    options = {**_MILP_OPTIONS, "time_limit": float(time_limit)}
    tight = {**options, "mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}
    h = _highs(model, cost, options)
    for rounds in range(1, max_rounds + 1):
        level = _cutoff_level(val, sign, const)
        h, status = _run_round(model, cost, options, h, level)
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            return val, ys, rounds
        x = np.array(h.getSolution().col_value)
        v2, y2 = snap(x[:d])
        improved = better(v2, val)
        if improved:
            val, ys = v2, y2
        info = h.getInfo()  # the proved upper bound on sign * f; an LP (no unstable neuron) has its optimum
        dual = -(info.mip_dual_bound if model.integer.any() else info.objective_function_value) + const
        if dual <= sign * float(val) + 1e-5 * max(1.0, abs(float(val))):
            return val, ys, rounds
        if not improved and options is not tight:  # a point within HiGHS's 1e-6 tolerances, not truly better:
            options = tight  # e.g. y = 1 + 7.6e-7 on a network of slope ~500; solve again with tight tolerances
            h = _highs(model, cost, options)
        elif not improved:  # the solver's point is no better in exact terms, even at tight tolerances
            raise RuntimeError(f"MILP point {x[:d]} does not improve on {val} in exact arithmetic")
    raise RuntimeError(f"no certified {'max' if sign > 0 else 'min'} after {max_rounds} MILP rounds")


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
