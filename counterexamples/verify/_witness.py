"""One witness, read from its spec: exact values, exact extrema over the box, and class membership."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy

from counterexamples.verify import _calculus as calc
from counterexamples.verify._exact import equal, exact_form, frac, parse_expr, rational, within
from counterexamples.verify._extrema import relu_net_extrema
from counterexamples.verify._pieces import Pieces, check_convex, parse_pieces, pieces_extrema, structure_checks
from counterexamples.verify._regions import TooManyRegions, lipschitz_at_most, region_gradients
from counterexamples.verify._relu import ReluNet, evaluate, parse_relu_net, z3_bound_holds
from counterexamples.verify._report import Report
from counterexamples.verify._smooth import polynomial_degree, smooth_member
from counterexamples.verify._smooth_separable import is_separable, separable_bound_holds
from counterexamples.verify._smooth_twist import twist_bound_holds, twist_parts
from counterexamples.verify._z3expr import box_extreme_holds

CLASSES = (
    "black_box",
    "neural_network",
    "erm_network",
    "lipschitz",
    "piecewise_affine",
    "monotonic",
    "convex",
    "affine",
    "constant",
    "quadratic",
    "smooth",
)

#: classes that are intersections of two classes: a member must be shown a member of each part
INTERSECTIONS = {"convex_lipschitz": ("convex", "lipschitz"), "monotone_lipschitz": ("monotonic", "lipschitz")}


class SpecWitness:
    """A witness spec as an exact object: a ReLU network, a sympy expression or a piecewise-affine function given
    by its pieces (``pwa_pieces``, ``pwa_1d``) on [0,1]^d."""

    def __init__(self, spec: dict[str, Any], source: str = "witness") -> None:
        if not isinstance(spec, dict):
            raise ValueError(f"{source}: a witness spec must be a JSON object, not {type(spec).__name__}")
        self.spec = spec
        self.kind = spec.get("kind")
        self.pieces: Pieces | None = None
        self._extrema: dict[str, Any] | None = None
        if self.kind in ("pwa_pieces", "pwa_1d"):
            self.net = None
            self.pieces = parse_pieces(spec)
            self.d = self.pieces.d
        elif self.kind == "relu_net":
            self.net: ReluNet | None = parse_relu_net(spec)
            self.d = self.net.d
        elif self.kind == "sympy":
            self.net = None
            self.expr, self.syms = parse_expr(spec, source)
            self.d = len(self.syms)
        else:
            raise ValueError(
                f"{source}: unknown witness kind {self.kind!r}; expected 'relu_net', 'sympy', 'pwa_pieces' or 'pwa_1d'"
            )

    def value(self, x: list[Fraction]) -> sympy.Expr:
        """f(x) exactly (a sympy number; nan if x is in no piece of a pieces spec)."""
        if self.pieces is not None:
            v = self.pieces.value(x)
            return sympy.nan if v is None else rational(v)
        if self.net is not None:
            return rational(evaluate(self.net, x))
        return exact_form(self.expr.subs(dict(zip(self.syms, [rational(v) for v in x], strict=True))))

    def check_bound(self, bound: Fraction, sense: str) -> list[tuple[str, bool, str]]:
        """Prove f <= bound ("max") or f >= bound ("min") on the box: MILP and z3 for networks (they must
        agree), z3 for expressions, the exact per-piece optimum (z3 Optimize) for pieces."""
        if self.pieces is not None:
            try:
                if self._extrema is None:
                    self._extrema = pieces_extrema(self.pieces)
            except RuntimeError as err:
                return [(f"{sense} over the pieces", False, str(err))]
            v = self._extrema[sense]
            ok = v <= bound if sense == "max" else v >= bound
            where = [str(t) for t in self._extrema[f"arg{sense}"]]
            return [
                (f"{sense} over the pieces", ok, f"exact {sense} {v} at {where} (z3 Optimize per piece) vs {bound}")
            ]
        if self.net is not None:
            ext = relu_net_extrema(self.net, "milp")
            milp_ok = (ext[sense] <= bound if sense == "max" else ext[sense] >= bound) and ext[f"{sense}_confirmed"]
            z3_ok = z3_bound_holds(self.net, bound, sense)
            return [
                (f"{sense} by MILP", milp_ok, f"MILP {sense} = {ext[sense]} vs {bound}"),
                (f"{sense} by z3", z3_ok, "z3: negation unsat" if z3_ok else "z3 could not prove the bound"),
            ]
        if is_separable(self.expr):
            res = separable_bound_holds(self.expr, rational(bound), sense)
            if res is not None:
                return [(f"{sense} of a separable sum", *res)]
        twist = twist_parts(self.expr, self.syms)
        if twist is not None:
            res = twist_bound_holds(twist, rational(bound), sense)
            if res is not None:
                return [(f"{sense} of a twist", *res)]
        ok, detail = box_extreme_holds(self.expr, self.syms, rational(bound), sense)
        return [(f"{sense} by z3", ok, detail)]


def check_fv(w: SpecWitness, fv: dict[str, Any], report: Report, tag: str, tol: Fraction = Fraction(0)) -> None:
    """The witness has exactly this visualization: values at x_max, x_min, and global extrema over the box.
    With ``tol`` > 0 (a stated witness tolerance, in units of f): every value within ``tol``, f <= f_max + tol and
    f >= f_min - tol on the box."""
    xmax, xmin = [frac(v) for v in fv["x_max"]], [frac(v) for v in fv["x_min"]]
    fmax, fmin = frac(fv["f_max"]), frac(fv["f_min"])
    if not report.add(f"{tag}: dimension", len(xmax) == w.d == len(xmin), f"witness d = {w.d}, FV d = {len(xmax)}"):
        return
    inside = all(0 <= v <= 1 for v in (*xmax, *xmin))
    if not report.add(f"{tag}: x_max and x_min in [0,1]^d", inside, f"x_max = {fv['x_max']}, x_min = {fv['x_min']}"):
        return
    for name, x, v in (("f(x_max) = f_max", xmax, fmax), ("f(x_min) = f_min", xmin, fmin)):
        val = w.value(x)
        if tol:
            report.add(
                f"{tag}: {name} within tolerance", within(val, rational(v), tol), f"exact {val} vs {v}, tol {tol}"
            )
        else:
            report.add(f"{tag}: {name}", equal(val, rational(v)), f"exact value {val} vs {v}")
    for sense, bound in (("max", fmax + tol), ("min", fmin - tol)):
        for name, ok, detail in w.check_bound(bound, sense):
            report.add(f"{tag}: global {name}", ok, detail)


def check_member(
    w: SpecWitness, cls: str, params: dict[str, Any], report: Report, tag: str, slack: Fraction = Fraction(0)
) -> None:
    """Membership of the witness in the class, by a sound structural argument (each part of an intersection).
    ``slack`` (a stated witness tolerance) is added to the Lipschitz constant: Lipschitz constant <= L + slack."""
    if cls in INTERSECTIONS:
        for part in INTERSECTIONS[cls]:
            check_member(w, part, params if part == "lipschitz" else {"d": params.get("d")}, report, tag, slack)
        return
    if cls not in CLASSES:
        report.add(f"{tag}: class", False, f"unknown class {cls!r}; known: {', '.join((*CLASSES, *INTERSECTIONS))}")
        return
    if cls == "black_box":
        report.add(f"{tag}: member of black_box", True, "every function is")
        return
    if slack and cls == "lipschitz":
        params = {**params, "L": str(frac(str(params["L"])) + slack)}
    if w.pieces is not None:
        _check_pieces_member(w.pieces, cls, params, report, tag)
        return
    if w.net is not None:
        _check_net_member(w.net, cls, params, report, tag)
        return
    e, s = w.expr, w.syms
    if cls == "constant":
        report.add(f"{tag}: constant", not e.free_symbols, f"free variables {sorted(map(str, e.free_symbols))}")
    elif cls == "affine":
        report.add(f"{tag}: affine", calc.is_affine(e, s), f"{e} is a polynomial of degree <= 1")
    elif cls == "convex":
        report.add(f"{tag}: convex", calc.curvature(e, s, "convex"), f"convexity calculus on {e}")
    elif cls == "monotonic":
        report.add(f"{tag}: nondecreasing", calc.monotone(e, s), f"monotonicity calculus on {e}")
    elif cls in ("neural_network", "piecewise_affine", "erm_network"):
        report.add(
            f"{tag}: piecewise affine",
            calc.is_piecewise_affine(e, s),
            "Min/Max/Abs of affine terms (representable by a ReLU network)",
        )
    elif cls == "quadratic":
        deg = polynomial_degree(e, s)
        report.add(f"{tag}: quadratic", deg is not None and deg <= 2, f"{e}: a rational polynomial of degree {deg}")
    elif cls == "smooth":
        ok, detail = smooth_member(e, s, frac(str(params["L"])))
        report.add(f"{tag}: gradient {params['L']}-Lipschitz (2-norm)", ok, detail)
    elif cls == "lipschitz":
        L, p = frac(str(params["L"])), str(params.get("norm", "2"))
        grads = calc.piecewise_affine_gradients(e, s)
        if grads is not None:  # Min/Max/Abs/sums of affine terms: exact rational comparison
            ok, detail = lipschitz_at_most(grads, L, p)
            report.add(
                f"{tag}: {p}-norm Lipschitz constant <= L",
                ok,
                f"exact gradients of the affine terms (a superset of the pieces' gradients): {detail}",
            )
            return
        bound = calc.lipschitz_bound(e, s, p)
        report.add(
            f"{tag}: {p}-norm Lipschitz constant <= L",
            bound <= float(L) * (1 + 1e-12),
            f"expression-tree Lipschitz calculus (sound upper bound in floating point, relative tolerance 1e-12): "
            f"{bound:.6g} vs L = {L}",
        )


def _check_net_member(net: ReluNet, cls: str, params: dict[str, Any], report: Report, tag: str) -> None:
    """Membership of a ReLU-network spec: by its form, or from the exact gradients of its activation regions."""
    if cls in ("neural_network", "piecewise_affine", "erm_network"):
        report.add(f"{tag}: member of {cls}", True, "a ReLU network (continuous piecewise affine)")
        return
    if cls == "convex" and len(net.weights) == 2 and all(v >= 0 for v in net.weights[-1][0]):
        report.add(f"{tag}: convex", True, "one hidden layer, nonnegative output weights: a sum of convex ReLUs")
        return
    try:
        grads = region_gradients(net)
    except TooManyRegions as err:
        report.add(f"{tag}: member of {cls}", False, f"activation regions not enumerated ({err})")
        return
    how = f"exact gradients of {len(grads)} distinct pieces (LP-enumerated activation regions)"
    if not _gradient_facts(grads, net.d, cls, params, report, tag, how):
        report.add(f"{tag}: member of {cls}", False, f"no check of {cls} for ReLU-network specs")


def _gradient_facts(grads: Any, d: int, cls: str, params: dict[str, Any], report: Report, tag: str, how: str) -> bool:
    """Class facts of a continuous piecewise-affine f from the exact gradients of its pieces (Lipschitz constant
    = largest dual norm, monotone iff every gradient >= 0, affine iff one gradient, constant iff all zero).
    Returns False when ``cls`` is not decided by gradients alone."""
    if cls == "lipschitz":
        L, p = frac(str(params["L"])), str(params.get("norm", "2"))
        ok, detail = lipschitz_at_most(grads, L, p)
        report.add(f"{tag}: {p}-norm Lipschitz constant <= L", ok, f"{how}: {detail}")
    elif cls == "monotonic":
        report.add(f"{tag}: nondecreasing", all(v >= 0 for g in grads for v in g), f"{how}: all components >= 0")
    elif cls == "affine":
        report.add(f"{tag}: affine", len(grads) == 1, f"{how}: one gradient")
    elif cls == "constant":
        report.add(f"{tag}: constant", grads <= {tuple(Fraction(0) for _ in range(d))}, f"{how}: all zero")
    else:
        return False
    return True


def _check_pieces_member(P: Pieces, cls: str, params: dict[str, Any], report: Report, tag: str) -> None:
    """Membership of a pieces spec: the pieces must cover the box and fit together (then f is continuous and
    piecewise affine, so a ReLU network represents it: Arora et al. 2018); class facts from the pieces' exact
    gradients, convexity from "f is the largest of its pieces' affine maps"."""
    if not structure_checks(P, report, prefix=f"{tag}: "):
        report.add(f"{tag}: member of {cls}", False, "not a continuous function on the box")
        return
    grads = P.gradients()
    how = f"exact gradients of {len(P.pieces)} pieces"
    if cls in ("neural_network", "piecewise_affine", "erm_network"):
        report.add(f"{tag}: member of {cls}", True, "continuous piecewise affine (a ReLU network, Arora et al. 2018)")
    elif cls == "convex":
        report.add(f"{tag}: convex", *check_convex(P))
    elif not _gradient_facts(grads, P.d, cls, params, report, tag, how):
        report.add(f"{tag}: member of {cls}", False, f"no check of {cls} for pieces specs")
