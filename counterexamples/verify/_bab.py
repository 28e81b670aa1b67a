r"""Exact global maximum of a ReLU network over :math:`[0,1]^d` by branch and bound on the input box.

Written for the max of :math:`g`; the min is the max of :math:`-g` (last layer negated). In low input dimension
splitting the input box is far stronger than the big-M MILP's branching on neurons: on a small box most neurons
are stable, so linear-relaxation bounds (``_relax``) are tight, and the few boxes left near the optimum are
small MILPs.

- Incumbent :math:`v`: the best of random points and the box's corners, snapped to the exact optimal vertex of
  its activation region (``_exact_int``); :math:`v` is always an exact value attained at an exact rational point.
- Best-first queue of boxes by their sound upper bound; a box is pruned when its bound is at most
  :math:`v + 10^{-9}\max(1, |v|)` (the cutoff row of the whole-box MILP in ``_relu``).
- A box whose neurons are all stable is affine: its maximum is at the corner picked by the gradient's signs,
  evaluated exactly.
- A box whose big-M model needs few binaries (or that is tiny, or whose bound is within :math:`10^{-6}` of the
  cutoff, as on plateaus) is finished by the MILP of ``_relu`` restricted to the box, with the box's own bounds
  and the cutoff at the current :math:`v`, accepted by the same rules (infeasible, or proved dual bound within
  :math:`10^{-5}` relative); a network whose whole box needs few binaries is one MILP from the start, and after
  many MILP leaves (an optimum on a plateau or a degenerate face) one MILP over the whole box finishes the search.
- Otherwise the box is halved along the coordinate credited with most of its relaxation gap (``_relax``).
- Each box proposes the corner maximising its linear bound; the best float candidate so far is snapped exactly.

Soundness rests on the bounds (``_relax``: widened beyond float rounding), exact evaluation and snapping, and
HiGHS's tolerances on MILP leaves, exactly as for the whole-box MILP.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from counterexamples.verify._exact_int import ExactNet, incumbent, snap
from counterexamples.verify._relax import Bounder, Bounds
from counterexamples.verify._relu import (
    ReluNet,
    _cutoff_rounds,
    _encode,
    _floats,
    _forward_floats,
    _region,
    _tightened_bounds,
    _with_cutoff_row,
)

__all__ = ["BabOptions", "bab_extremum"]


@dataclass(frozen=True)
class BabOptions:
    """Tuning of the search (measured in benchmarks/bench_relu_max.py)."""

    milp_binaries: int = 6  # finish a box by MILP when its big-M model needs at most this many binaries
    batch: int = 128  # boxes popped and split per round (bounded together)
    root_milp_binaries: int = 24  # a network whose whole box needs at most this many binaries: one MILP
    fallback_leaves: int = 300  # after this many MILP leaves, a network whose whole box needs at most
    fallback_binaries: int = 40  # this many binaries is finished by one MILP over the whole box
    near_tight: float = 1e-6  # a box whose bound is within this (relative) of the cutoff: MILP leaf
    min_width: float = 2.0**-20  # a box this small along every side: MILP leaf
    milp_time_limit: float = 120.0
    time_limit: float = 600.0


@dataclass
class BabStats:
    boxes: int = 0  # boxes bounded
    splits: int = 0
    pruned: int = 0
    affine: int = 0  # boxes with every neuron stable, solved exactly at a corner
    milp_leaves: int = 0
    milp_solves: int = 0
    whole_box_milp: bool = False  # finished by one MILP over the whole box
    seconds: float = 0.0


def _cutoff(v: Fraction) -> float:
    """A box whose sound upper bound is at most this cannot beat v."""
    fv = float(v)
    return fv + 1e-9 * max(1.0, abs(fv))


def _negated(net: ReluNet) -> ReluNet:
    W, b = net.weights, net.biases
    return ReluNet(W[:-1] + [[[-v for v in r] for r in W[-1]]], b[:-1] + [[-v for v in b[-1]]])


def _affine_box_max(
    net: ReluNet, evaluate: Callable[[list[Fraction]], Fraction], lo: np.ndarray, hi: np.ndarray, A: np.ndarray
) -> tuple[Fraction, list[Fraction]]:
    """Exact max of g on a box where every neuron is stable (g affine there, A its float gradient): the corner
    picked by the gradient's signs; where a float component is too small to trust its sign, the exact gradient of
    the activation region decides."""
    corner = np.where(A > 0, hi, lo)
    if np.any(np.abs(A) < 1e-10 * (1 + np.abs(A).max())) and not np.all(A == 0):
        _, grad = _region(net, [Fraction(float(x)) for x in (lo + hi) / 2])
        corner = np.array([h if gk > 0 else lk for gk, lk, h in zip(grad, lo, hi, strict=True)])
    point = [Fraction(float(x)) for x in corner]  # dyadic floats: exact
    return evaluate(point), point


def _milp_box(
    snap_max: Callable[[np.ndarray], tuple[Fraction, list[Fraction]]],
    Ws: list[np.ndarray],
    bs: list[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    pre: list[tuple[np.ndarray, np.ndarray]],
    v: Fraction,
    y: list[Fraction],
    time_limit: float,
    max_rounds: int = 20,
) -> tuple[Fraction, list[Fraction], int]:
    """The max of g on one box by the big-M MILP with the cutoff at v (the acceptance rules of
    ``_relu._milp_certified``): the (possibly improved) incumbent and the number of MILP solves."""
    gain, d = Ws[-1][0], Ws[0].shape[1]
    model = _encode(Ws, bs, pre, len(Ws) - 1, relax=False, gain=gain)
    model.clb[:d], model.cub[:d] = lo, hi
    model = _with_cutoff_row(model, gain)
    return _cutoff_rounds(model, gain, 1.0, bs[-1][0], v, y, snap_max, time_limit, max_rounds)


class _Pool:
    """Open boxes in growable arrays (the heap holds only (-bound, index))."""

    def __init__(self, d: int) -> None:
        self.n, cap = 0, 1024
        self.lo, self.hi = np.empty((cap, d)), np.empty((cap, d))
        self.split = np.empty(cap, int)
        self.leaf = np.empty(cap, bool)  # to be finished by a MILP when popped

    def add(self, lo: np.ndarray, hi: np.ndarray, split: np.ndarray, leaf: np.ndarray) -> range:
        m = len(lo)
        while self.n + m > len(self.lo):
            for name in ("lo", "hi", "split", "leaf"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.empty_like(a)]))
        sl = slice(self.n, self.n + m)
        self.lo[sl], self.hi[sl], self.split[sl], self.leaf[sl] = lo, hi, split, leaf
        self.n += m
        return range(sl.start, sl.stop)


def _bab_max(net: ReluNet, opts: BabOptions) -> tuple[Fraction, list[Fraction], BabStats]:
    t0 = time.perf_counter()
    st = BabStats()
    Ws, bs = _floats(net)
    d = Ws[0].shape[1]
    ex = ExactNet(net)
    bd = Bounder(Ws, bs)
    v, y = incumbent(ex)
    cut = _cutoff(v)
    best_float = float(v)  # best float value among candidates (not to snap the same point again)

    def improve(v2: Fraction, y2: list[Fraction]) -> None:
        nonlocal v, y, cut, best_float
        if v2 > v:
            v, y, cut = v2, y2, _cutoff(v2)
            best_float = max(best_float, float(v2))

    def try_candidates(Y: np.ndarray) -> None:
        nonlocal best_float
        f = _forward_floats(Ws, bs, Y)
        i = int(np.argmax(f))
        if f[i] > best_float + 1e-12 * max(1.0, abs(best_float)):
            best_float = float(f[i])
            improve(*snap(ex, Y[i]))

    def milp(lo: np.ndarray, hi: np.ndarray, pre: list[tuple[np.ndarray, np.ndarray]]) -> None:
        st.milp_leaves += 1
        v2, y2, rounds = _milp_box(lambda x: snap(ex, x), Ws, bs, lo, hi, pre, v, y, opts.milp_time_limit)
        st.milp_solves += rounds
        improve(v2, y2)

    pool = _Pool(d)
    heap: list[tuple[float, int]] = []

    def consider(lo: np.ndarray, hi: np.ndarray, b: Bounds) -> None:
        """Freshly bounded boxes: prune, solve if affine, else queue (MILP leaves too, solved when popped, so that
        a better incumbent found meanwhile may still prune them)."""
        st.boxes += len(lo)
        try_candidates(np.where(b.A > 0, hi, lo))
        keep = b.ub > cut
        st.pruned += int((~keep).sum())
        for i in np.flatnonzero(keep & (b.n_unstable == 0)):
            st.affine += 1
            improve(*_affine_box_max(net, ex.evaluate, lo[i], hi[i], b.A[i]))
        keep &= b.n_unstable > 0
        split = b.split if b.split is not None else np.full(len(lo), -1)
        leaf = (b.n_binary <= opts.milp_binaries) | np.all(hi - lo <= opts.min_width, axis=1)
        leaf |= b.ub <= cut + opts.near_tight * max(1.0, abs(float(v))) + bd.final_pad
        if st.boxes == len(lo):  # the root
            leaf |= b.n_binary <= opts.root_milp_binaries
        idx = pool.add(lo[keep], hi[keep], split[keep], leaf[keep])
        for negub, i in zip((-b.ub[keep]).tolist(), idx, strict=True):
            heapq.heappush(heap, (negub, i))

    root = bd.bound(np.zeros((1, d)), np.ones((1, d)))
    root_binaries = int(root.n_binary[0])
    consider(np.zeros((1, d)), np.ones((1, d)), root)
    while heap:
        if time.perf_counter() - t0 > opts.time_limit:
            raise TimeoutError(f"branch and bound: time limit {opts.time_limit} s, {len(heap)} boxes open")
        popped: list[int] = []
        while heap and len(popped) < opts.batch:
            negub, i = heapq.heappop(heap)
            if -negub <= cut:  # best-first: everything left is below the cutoff too
                st.pruned += 1 + len(heap)
                heap.clear()
                break
            if pool.leaf[i] and st.milp_leaves >= opts.fallback_leaves and root_binaries <= opts.fallback_binaries:
                st.whole_box_milp = True
                milp(np.zeros(d), np.ones(d), _tightened_bounds(net))
                st.pruned += len(heap)
                heap.clear()
                break
            if pool.leaf[i]:
                lo, hi = pool.lo[i], pool.hi[i]
                milp(lo, hi, [(l_[0], u_[0]) for l_, u_ in bd.bound(lo[None], hi[None]).pre])
                continue
            popped.append(i)
        if not popped:
            continue
        P = np.array(popped)
        LO, HI = pool.lo[P], pool.hi[P]
        k = np.where(pool.split[P] < 0, np.argmax(HI - LO, axis=1), pool.split[P])
        rows = np.arange(len(P))
        mid = (LO[rows, k] + HI[rows, k]) / 2  # dyadic: exact
        lo_c, hi_c = np.repeat(LO, 2, axis=0), np.repeat(HI, 2, axis=0)
        hi_c[2 * rows, k] = mid
        lo_c[2 * rows + 1, k] = mid
        consider(lo_c, hi_c, bd.bound(lo_c, hi_c))
        st.splits += len(P)
    st.seconds = time.perf_counter() - t0
    return v, y, st


def bab_extremum(
    net: ReluNet, sense: str, opts: BabOptions | None = None
) -> tuple[Fraction, list[Fraction], dict[str, Any]]:
    """Exact max or min of the network over [0,1]^d: (value, exact point, search statistics)."""
    if sense not in ("max", "min"):
        raise ValueError(f"sense {sense!r} is not 'max' or 'min'")
    opts = opts or BabOptions()
    v, y, st = _bab_max(net if sense == "max" else _negated(net), opts)
    return (v if sense == "max" else -v), y, asdict(st)
