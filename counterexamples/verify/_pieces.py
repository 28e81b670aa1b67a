"""Exact checks of a continuous piecewise-affine function given by its pieces.

A ``pwa_pieces`` spec ``{"kind": "pwa_pieces", "d": d, "pieces": [{"A", "c", "w", "b"}, ...]}`` says: on the
polytope P_k = {y in [0,1]^d : A_k y <= c_k}, f(y) = w_k . y + b_k. A ``pwa_1d`` spec
``{"kind": "pwa_1d", "breakpoints": [0 = t_0 < ... < t_n = 1], "values": [v_0, ..., v_n]}`` is read as the pieces
[t_k, t_{k+1}] with the line through (t_k, v_k) and (t_{k+1}, v_{k+1}). Everything is exact (z3 over the reals,
linear arithmetic only):

- cover: no y in [0,1]^d lies outside every P_k (unsat);
- continuity: no y lies in two pieces whose maps differ there (unsat of one query over all pairs: y in P_i with
  u = f_i(y), y in P_j with v = f_j(y), u < v);
- with a ``relu_net`` spec: on every piece the network equals w_k . y + b_k (per piece, unsat of
  "y in P_k and net(y) != f_k(y)" with relu encoded as If(z > 0, z, 0));
- exact global max and min over the box: the best per-piece optimum (z3 ``Optimize``, a rational optimum and
  optimiser), compared with a visualization when one is given.
Given cover and continuity, f is a well-defined continuous piecewise-affine function on the box, hence
representable by a ReLU network (Arora et al. 2018). Nothing here imports ``theory`` or the generators.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from counterexamples.verify._exact import frac, vec
from counterexamples.verify._relu import ReluNet, parse_relu_net, z3_fraction
from counterexamples.verify._report import Report


@dataclass(frozen=True)
class Piece:
    A: list[list[Fraction]]
    c: list[Fraction]
    w: list[Fraction]
    b: Fraction

    def contains(self, y: list[Fraction]) -> bool:
        return all(
            sum((a * v for a, v in zip(row, y, strict=True)), Fraction(0)) <= c
            for row, c in zip(self.A, self.c, strict=True)
        )

    def value(self, y: list[Fraction]) -> Fraction:
        return sum((a * v for a, v in zip(self.w, y, strict=True)), Fraction(0)) + self.b


@dataclass(frozen=True)
class Pieces:
    kind: str
    d: int
    pieces: list[Piece]

    def value(self, y: list[Fraction]) -> Fraction | None:
        """f(y) from the first piece that contains y (exact); None if y is outside the box or every piece."""
        if len(y) != self.d or not all(0 <= v <= 1 for v in y):
            return None
        for p in self.pieces:
            if p.contains(y):
                return p.value(y)
        return None

    def gradients(self) -> set[tuple[Fraction, ...]]:
        return {tuple(p.w) for p in self.pieces}


def parse_pieces(spec: dict[str, Any]) -> Pieces:
    kind = spec.get("kind")
    if kind == "pwa_1d":
        t, v = vec(spec["breakpoints"]), vec(spec["values"])
        if len(t) < 2 or len(t) != len(v):
            raise ValueError("pwa_1d needs at least two breakpoints and one value per breakpoint")
        if t[0] != 0 or t[-1] != 1 or any(a >= b for a, b in zip(t, t[1:], strict=False)):
            raise ValueError("pwa_1d breakpoints must increase strictly from 0 to 1")
        out = []
        for k in range(len(t) - 1):
            s = (v[k + 1] - v[k]) / (t[k + 1] - t[k])
            out.append(Piece([[Fraction(1)], [Fraction(-1)]], [t[k + 1], -t[k]], [s], v[k] - s * t[k]))
        return Pieces(kind, 1, out)
    if kind != "pwa_pieces":
        raise ValueError(f"unknown kind {kind!r}; expected 'pwa_pieces' or 'pwa_1d'")
    d = int(spec["d"])
    if d < 1 or not spec.get("pieces"):
        raise ValueError("pwa_pieces needs d >= 1 and a non-empty list of pieces")
    out = []
    for k, p in enumerate(spec["pieces"]):
        A, c, w = [vec(r) for r in p["A"]], vec(p["c"]), vec(p["w"])
        if len(A) != len(c) or any(len(r) != d for r in A) or len(w) != d:
            raise ValueError(f"piece {k}: A must be m x d, c of length m, w of length d (d = {d})")
        out.append(Piece(A, c, w, frac(p["b"])))
    return Pieces(kind, d, out)


def _lin(coefs: list[Fraction], ys: list[Any], const: Fraction = Fraction(0)) -> Any:
    terms = [z3.RealVal(str(a)) * y for a, y in zip(coefs, ys, strict=True) if a]
    return z3.Sum(terms) + z3.RealVal(str(const)) if terms else z3.RealVal(str(const))


def _inside(p: Piece, ys: list[Any]) -> Any:
    return z3.And(*[_lin(row, ys) <= z3.RealVal(str(c)) for row, c in zip(p.A, p.c, strict=True)])


def _solver(ys: list[Any], timeout_ms: int) -> z3.Solver:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*[c for y in ys for c in (y >= 0, y <= 1)])
    return s


def _model_point(s: z3.Solver, ys: list[Any]) -> list[str]:
    m = s.model()
    return [str(z3_fraction(m.eval(y, model_completion=True))) for y in ys]


def check_cover(P: Pieces, timeout_ms: int = 60000) -> tuple[bool, str]:
    ys = [z3.Real(f"y{k}") for k in range(P.d)]
    s = _solver(ys, timeout_ms)
    s.add(*[z3.Not(_inside(p, ys)) for p in P.pieces])
    res = s.check()
    if res == z3.sat:
        return False, f"y = {_model_point(s, ys)} is in no piece (z3)"
    return res == z3.unsat, f"{len(P.pieces)} pieces; z3: 'some y in the box is in no piece' is {res}"


def check_continuity(P: Pieces, timeout_ms: int = 60000) -> tuple[bool, str]:
    ys = [z3.Real(f"y{k}") for k in range(P.d)]
    u, v = z3.Real("u"), z3.Real("v")
    s = _solver(ys, timeout_ms)
    s.add(z3.Or(*[z3.And(_inside(p, ys), u == _lin(p.w, ys, p.b)) for p in P.pieces]))
    s.add(z3.Or(*[z3.And(_inside(p, ys), v == _lin(p.w, ys, p.b)) for p in P.pieces]))
    s.add(u < v)
    res = s.check()
    if res == z3.sat:
        y = [frac(t) for t in _model_point(s, ys)]
        vals = sorted({p.value(y) for p in P.pieces if p.contains(y)})
        return False, f"at y = {[str(t) for t in y]} the pieces containing it give {[str(t) for t in vals]} (z3)"
    return res == z3.unsat, f"z3: 'two pieces containing one y give different values' is {res}"


def _z3_relu(net: ReluNet, ys: list[Any]) -> Any:
    """The network's output as a z3 term over ys; relu(z) = If(z > 0, z, 0), no relu after the last layer."""
    h: list[Any] = list(ys)
    for i, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = [_lin(row, h, bb) for row, bb in zip(W, b, strict=True)]
        h = z if i == len(net.weights) - 1 else [z3.If(t > 0, t, 0) for t in z]
    return h[0]


def check_network(P: Pieces, relu_spec: dict[str, Any], timeout_ms: int = 60000) -> tuple[bool, str]:
    net = parse_relu_net(relu_spec)
    if net.d != P.d:
        return False, f"network d = {net.d}, pieces d = {P.d}"
    ys = [z3.Real(f"y{k}") for k in range(P.d)]
    f = _z3_relu(net, ys)
    s = _solver(ys, timeout_ms)
    bad, unknown = [], []
    for k, p in enumerate(P.pieces):
        s.push()
        s.add(_inside(p, ys), f != _lin(p.w, ys, p.b))
        res = s.check()
        if res == z3.sat:
            bad.append(f"piece {k} at y = {_model_point(s, ys)}")
        elif res != z3.unsat:
            unknown.append(k)
        s.pop()
    if bad or unknown:
        return False, f"network differs on {', '.join(bad[:3])}" + (
            f"; z3 unknown on pieces {unknown}" if unknown else ""
        )
    return True, f"on each of {len(P.pieces)} pieces z3 proves net(y) = w . y + b (negation unsat, relu as If)"


def pieces_extrema(P: Pieces, timeout_ms: int = 60000) -> dict[str, Any]:
    """Exact max and min of f over the union of the pieces (the box, given the cover) with rational optimisers:
    per piece a z3 ``Optimize`` of the linear objective over the polytope (exact rational LP)."""
    ys = [z3.Real(f"y{k}") for k in range(P.d)]
    out: dict[str, Any] = {}
    for sense in ("max", "min"):
        best: tuple[Fraction, list[Fraction]] | None = None
        for k, p in enumerate(P.pieces):
            opt = z3.Optimize()
            opt.set("timeout", timeout_ms)
            opt.add(*[c for y in ys for c in (y >= 0, y <= 1)], _inside(p, ys))
            obj = _lin(p.w, ys, p.b)
            h = opt.maximize(obj) if sense == "max" else opt.minimize(obj)
            res = opt.check()
            if res == z3.unsat:  # an empty piece
                continue
            if res != z3.sat:
                raise RuntimeError(f"z3 could not optimise piece {k} ({opt.reason_unknown()})")
            val = opt.upper(h) if sense == "max" else opt.lower(h)
            if not (z3.is_int_value(val) or z3.is_rational_value(val)):
                raise RuntimeError(f"piece {k}: optimum {val} is not a finite rational")
            m = opt.model()
            y = [z3_fraction(m.eval(t, model_completion=True)) for t in ys]
            v = z3_fraction(val)
            if p.value(y) != v or not p.contains(y):
                raise RuntimeError(f"piece {k}: z3's optimiser {y} does not attain {v}")
            if best is None or (v > best[0] if sense == "max" else v < best[0]):
                best = (v, y)
        if best is None:
            raise RuntimeError("every piece is empty")
        out[sense], out[f"arg{sense}"] = best
    return out


def check_convex(P: Pieces, timeout_ms: int = 60000) -> tuple[bool, str]:
    """f is convex if on every piece it is the largest of all the pieces' affine maps (then f = max_j f_j on the
    box, a maximum of affine functions). z3: unsat of "y in P_i, u = f_i(y), v = f_j(y), v > u"."""
    ys = [z3.Real(f"y{k}") for k in range(P.d)]
    u, v = z3.Real("u"), z3.Real("v")
    s = _solver(ys, timeout_ms)
    s.add(z3.Or(*[z3.And(_inside(p, ys), u == _lin(p.w, ys, p.b)) for p in P.pieces]))
    s.add(z3.Or(*[v == _lin(p.w, ys, p.b) for p in P.pieces]), v > u)
    res = s.check()
    detail = f"z3: 'some piece's map exceeds f inside another piece' is {res}"
    if res == z3.sat:
        detail += f" at y = {_model_point(s, ys)}"
    return res == z3.unsat, detail + " (f = max of its pieces' affine maps)"


def structure_checks(P: Pieces, rep: Report, prefix: str = "", timeout_ms: int = 60000) -> bool:
    ok1 = rep.add(f"{prefix}pieces cover [0,1]^d", *check_cover(P, timeout_ms))
    ok2 = rep.add(f"{prefix}pieces agree where they meet (continuous)", *check_continuity(P, timeout_ms))
    return ok1 and ok2


def verify_pieces(
    spec: dict[str, Any],
    relu_spec: dict[str, Any] | None = None,
    fv: dict[str, Any] | None = None,
    timeout_ms: int = 60000,
) -> Report:
    """Cover, continuity, (with ``relu_spec``) equality with the network on every piece, and the exact global
    max and min over the box (compared with ``fv`` = {x_max, f_max, x_min, f_min} when given)."""
    rep = Report(f"pieces ({spec.get('kind')})")
    try:
        P = parse_pieces(spec)
    except (ValueError, KeyError, TypeError) as err:
        rep.add("spec parses", False, str(err))
        return rep
    rep.add("spec parses", True, f"d = {P.d}, {len(P.pieces)} pieces")
    structure_checks(P, rep, timeout_ms=timeout_ms)
    if relu_spec is not None:
        try:
            rep.add("pieces equal the network", *check_network(P, relu_spec, timeout_ms))
        except (ValueError, KeyError, TypeError) as err:
            rep.add("pieces equal the network", False, f"network spec: {err}")
    try:
        ext = pieces_extrema(P, timeout_ms)
    except RuntimeError as err:
        rep.add("exact global max and min", False, str(err))
        return rep
    rep.add(
        "exact global max and min",
        True,
        f"max {ext['max']} at {[str(v) for v in ext['argmax']]}, min {ext['min']} at {[str(v) for v in ext['argmin']]}"
        " (z3 Optimize per piece)",
    )
    if fv is not None:
        xmax, xmin = vec(fv["x_max"]), vec(fv["x_min"])
        fmax, fmin = frac(fv["f_max"]), frac(fv["f_min"])
        for name, x, want in (("f(x_max) = f_max", xmax, fmax), ("f(x_min) = f_min", xmin, fmin)):
            got = P.value(x)
            rep.add(name, got == want, f"pieces give {got} vs {want}")
        rep.add("global max = f_max", ext["max"] == fmax, f"{ext['max']} vs {fmax}")
        rep.add("global min = f_min", ext["min"] == fmin, f"{ext['min']} vs {fmin}")
    return rep
