"""Sound structural checks on sympy expressions: convexity, monotonicity, piecewise affinity, Lipschitz bounds.

Each rule is a textbook closure property, so a "yes" is a proof and a "no" only means "not shown":
  convex:      affine; Max of convex; sum of convex; c * convex (c >= 0); c * concave (c <= 0);
               Abs(affine); sqrt(sum of squares of affine) (a Euclidean norm of an affine map).
  concave:     the mirror rules (Min of concave, ...).
  nondecreasing (coordinatewise): affine with coefficients >= 0; Max/Min/sum of nondecreasing;
               c * nondecreasing (c >= 0); c * nonincreasing (c <= 0).
  smooth fallback (polynomials only, so every derivative is defined on the box): convex iff the Hessian is
               PSD on the box, nondecreasing iff every partial derivative is >= 0 on the box, both proved by z3
               (unsat of "some y in [0,1]^d and v with v'H(y)v < 0", resp. "some y with df/dy_k < 0").
  piecewise affine (continuous): built from affine terms with +, constant *, Min, Max, Abs.
  Lipschitz in the p-norm: for a piecewise-affine expression, the largest dual norm over a superset of its
  gradients (Max/Min: union; Abs: +-; sum: Minkowski sum; c *: scaling), which is exact when the superset is;
  sqrt(sum_k (x_k - c_k)^2) has constant sup_{u != 0} ||u||_2 / ||u||_p; Max/Min: largest child; sum: sum;
  c *: |c| times.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import sympy
import z3

Vec = tuple[Fraction, ...]


def _affine_coeffs(e: sympy.Expr, syms: list[sympy.Symbol]) -> Vec | None:
    """Coefficients of e if it is affine in syms (a polynomial of degree <= 1), else None."""
    if any(isinstance(a, (sympy.Max, sympy.Min, sympy.Abs, sympy.Piecewise)) for a in sympy.preorder_traversal(e)):
        return None
    try:
        poly = sympy.Poly(sympy.expand(e), *syms)
    except sympy.PolynomialError:
        return None
    if poly.total_degree() > 1:
        return None
    out = []
    for s in syms:
        c = poly.coeff_monomial(s)
        if not c.is_Rational:
            return None
        out.append(Fraction(int(c.p), int(c.q)))
    const = poly.coeff_monomial(1)
    return tuple(out) if const.is_Rational else None


def _const(e: sympy.Expr) -> Fraction | None:
    return Fraction(int(e.p), int(e.q)) if e.is_Rational else None


def _split_scalar(e: sympy.Expr) -> tuple[Fraction, sympy.Expr] | None:
    if e.is_Mul:
        c, rest = e.as_coeff_Mul()
        if c.is_Rational and c != 1:
            return Fraction(int(c.p), int(c.q)), rest
    return None


def _polynomial(e: sympy.Expr, syms: list[sympy.Symbol]) -> bool:
    """A polynomial with rational coefficients (no Min/Max/Abs/Piecewise, no roots, no division by variables)."""
    if e.atoms(sympy.Function, sympy.Piecewise) or any(
        p.exp.is_negative or not p.exp.is_Integer for p in e.atoms(sympy.Pow) if p.base.free_symbols
    ):
        return False
    try:
        sympy.Poly(sympy.expand(e), *syms)
    except sympy.PolynomialError:
        return False
    return all(c.is_Rational for c in sympy.Poly(sympy.expand(e), *syms).coeffs())


def _z3_unsat_on_box(syms: list[sympy.Symbol], build, timeout_ms: int = 10000) -> bool:  # noqa: ANN001
    """z3 proves that no point of [0,1]^d satisfies the condition ``build(z3 variables)``."""
    from counterexamples.verify._z3expr import Z3Expr

    zs = [z3.Real(s.name) for s in syms]
    tr = Z3Expr(dict(zip(syms, zs, strict=True)))
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*[c for v in zs for c in (v >= 0, v <= 1)], build(tr))
    return s.check() == z3.unsat


def hessian_psd_on_box(e: sympy.Expr, syms: list[sympy.Symbol], want: str) -> bool:
    """A polynomial is convex (concave) on the box iff v'H(y)v >= 0 (<= 0) for all y in the box and all v."""
    if not _polynomial(e, syms):
        return False
    H = sympy.hessian(e, syms)
    vs = [sympy.Symbol(f"_v{k}", real=True) for k in range(len(syms))]
    form = sympy.expand((sympy.Matrix([vs]) * H * sympy.Matrix(vs))[0, 0])
    sign = 1 if want == "convex" else -1
    if form == 0:
        return True

    def build(tr):  # noqa: ANN001, ANN202
        for v in vs:
            tr.env[v] = z3.Real(v.name)
        return tr(sign * form) < 0

    return _z3_unsat_on_box(syms, build)


def partials_nonneg_on_box(e: sympy.Expr, syms: list[sympy.Symbol], direction: int) -> bool:
    if not _polynomial(e, syms):
        return False
    return all(
        _z3_unsat_on_box(syms, lambda tr, g=sympy.diff(e, s): tr(direction * g) < 0)  # noqa: B008
        for s in syms
    )


def is_affine(e: sympy.Expr, syms: list[sympy.Symbol]) -> bool:
    return _affine_coeffs(e, syms) is not None


def curvature(e: sympy.Expr, syms: list[sympy.Symbol], want: str) -> bool:
    """True if e is shown convex (want="convex") or concave (want="concave") by the rules above."""
    other = "concave" if want == "convex" else "convex"
    if is_affine(e, syms):
        return True
    sc = _split_scalar(e)
    if sc is not None:
        c, rest = sc
        if curvature(rest, syms, want if c > 0 else other):
            return True
        return hessian_psd_on_box(e, syms, want)
    if e.is_Add:
        if all(curvature(a, syms, want) for a in e.args):
            return True
        return hessian_psd_on_box(e, syms, want)
    if isinstance(e, sympy.Max):
        return want == "convex" and all(curvature(a, syms, "convex") for a in e.args)
    if isinstance(e, sympy.Min):
        return want == "concave" and all(curvature(a, syms, "concave") for a in e.args)
    if isinstance(e, sympy.Abs):
        return want == "convex" and is_affine(e.args[0], syms)
    if e.is_Pow and e.args[1] == sympy.Rational(1, 2) and want == "convex":
        inner = e.args[0]
        terms = inner.args if inner.is_Add else (inner,)
        return all(t.is_Pow and t.args[1] == 2 and is_affine(t.args[0], syms) for t in terms)
    return hessian_psd_on_box(e, syms, want)


def monotone(e: sympy.Expr, syms: list[sympy.Symbol], direction: int = 1) -> bool:
    """True if e is shown coordinatewise nondecreasing (direction=1) or nonincreasing (-1)."""
    co = _affine_coeffs(e, syms)
    if co is not None:
        return all(direction * c >= 0 for c in co)
    sc = _split_scalar(e)
    if sc is not None:
        c, rest = sc
        return monotone(rest, syms, direction if c > 0 else -direction)
    if e.is_Add or isinstance(e, (sympy.Max, sympy.Min)):
        return all(monotone(a, syms, direction) for a in e.args)
    if e.is_Pow and e.args[1] == sympy.Rational(1, 2):  # sqrt(sum of squares of nonnegative monotone terms)
        terms = e.args[0].args if e.args[0].is_Add else (e.args[0],)
        return all(
            t.is_Pow and t.args[1] == 2 and _nonneg(t.args[0]) and monotone(t.args[0], syms, direction) for t in terms
        )
    return partials_nonneg_on_box(e, syms, direction)


def _nonneg(e: sympy.Expr) -> bool:
    """Shown >= 0: Max with a nonnegative constant argument."""
    return isinstance(e, sympy.Max) and any(a.is_Rational and a >= 0 for a in e.args)


def _grads(e: sympy.Expr, syms: list[sympy.Symbol], cap: int = 4096) -> set[Vec] | None:
    """A superset of the gradients of a piecewise-affine expression, or None if e is not piecewise affine."""
    co = _affine_coeffs(e, syms)
    if co is not None:
        return {co}
    sc = _split_scalar(e)
    if sc is not None:
        c, rest = sc
        g = _grads(rest, syms, cap)
        return None if g is None else {tuple(c * v for v in u) for u in g}
    if isinstance(e, (sympy.Max, sympy.Min)):
        out: set[Vec] = set()
        for a in e.args:
            g = _grads(a, syms, cap)
            if g is None:
                return None
            out |= g
        return out
    if isinstance(e, sympy.Abs):
        g = _grads(e.args[0], syms, cap)
        return None if g is None else g | {tuple(-v for v in u) for u in g}
    if e.is_Add:
        acc: set[Vec] = {tuple(Fraction(0) for _ in syms)}
        for a in e.args:
            g = _grads(a, syms, cap)
            if g is None or len(acc) * len(g) > cap:
                return None
            acc = {tuple(x + y for x, y in zip(u, v, strict=True)) for u, v in itertools.product(acc, g)}
        return acc
    return None


def piecewise_affine_gradients(e: sympy.Expr, syms: list[sympy.Symbol]) -> set[Vec] | None:
    """A superset of the exact rational gradients of a piecewise-affine expression, or None if not shown PWA."""
    return _grads(e, syms)


def is_piecewise_affine(e: sympy.Expr, syms: list[sympy.Symbol]) -> bool:
    return _grads(e, syms) is not None


def _dual(u: Vec, p: str) -> float:
    a = [abs(float(v)) for v in u]
    if p == "1":  # dual of l1 is l_inf
        return max(a, default=0.0)
    if p == "inf":
        return sum(a)
    return sum(v * v for v in a) ** 0.5


def _euclid_ratio(d: int, p: str) -> float:
    """sup ||u||_2 / ||u||_p over u in R^d: the Lipschitz constant of ||.||_2 with respect to ||.||_p."""
    return {"1": 1.0, "2": 1.0, "inf": d**0.5}[p]


def lipschitz_bound(e: sympy.Expr, syms: list[sympy.Symbol], p: str) -> float:
    """A sound upper bound on the Lipschitz constant of e with respect to the p-norm on the inputs."""
    g = _grads(e, syms)
    if g is not None:
        return max((_dual(u, p) for u in g), default=0.0)
    sc = _split_scalar(e)
    if sc is not None:
        c, rest = sc
        return abs(float(c)) * lipschitz_bound(rest, syms, p)
    if isinstance(e, (sympy.Max, sympy.Min)):
        return max(lipschitz_bound(a, syms, p) for a in e.args)
    if e.is_Add:
        return sum(lipschitz_bound(a, syms, p) for a in e.args)
    if isinstance(e, sympy.Abs):
        return lipschitz_bound(e.args[0], syms, p)
    if e.is_Pow and e.args[1] == sympy.Rational(1, 2):
        inner = e.args[0]
        terms = inner.args if inner.is_Add else (inner,)
        # (x_k - c_k)^2 or, since z -> max(0, z) is 1-Lipschitz, max(0, +-(x_k - c_k))^2
        lins = [_affine_coeffs(_strip_pos(t.args[0]), syms) if t.is_Pow and t.args[1] == 2 else None for t in terms]
        if all(co is not None and sum(1 for c in co if c) <= 1 and all(abs(c) in (0, 1) for c in co) for co in lins):
            used = {k for co in lins for k, c in enumerate(co) if c}  # type: ignore[union-attr]
            if len(used) == len(lins):  # sqrt(sum over distinct coordinates of (x_k - c_k)^2)
                return _euclid_ratio(len(used), p)
    return float("inf")


def _strip_pos(e: sympy.Expr) -> sympy.Expr:
    """max(0, a) -> a (for Lipschitz bounds: the positive part is 1-Lipschitz)."""
    if isinstance(e, sympy.Max) and len(e.args) == 2 and 0 in e.args:
        return next(a for a in e.args if a != 0)
    return e
