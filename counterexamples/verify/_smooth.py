"""Membership in the quadratic and L-smooth classes, and region claims for L-smooth functions, checked exactly.

- quadratic: the expression is a polynomial with rational coefficients of total degree <= 2.
- L-smooth (Euclidean norm), exact sufficient forms:
  * a polynomial of degree <= 2 with Hessian H (constant): ||H||_2 <= L iff L^2 I - H^2 is PSD, checked by
    all principal minors >= 0 in rational arithmetic;
  * a Piecewise in one variable t (pieces for t <= b_1, t <= b_2, ..., True) whose pieces are polynomials of
    degree <= 2: C^1 (values and first derivatives agree at every breakpoint, exactly) and |f''| <= L on every
    piece. f' is then continuous and piecewise linear with slopes in [-L, L], so it is L-Lipschitz.
  * (d >= 2) the same along one rational linear form (``ridge_smooth``), radial profiles (``radial_smooth``) and
    sums of one-variable parts in distinct variables (``_smooth_separable``).
- region claims in d >= 2: ``_smooth_descent`` (the descent lemma at a flat extremum, exact);
- region claims (d = 1): z3 proves, in linear real arithmetic, that no values F_i and derivatives G_i at a grid
  of points satisfy the necessary conditions of every L-smooth f with the visualization,
      F_j <= F_i + G_i (s_j - s_i) + L/2 (s_j - s_i)^2,   F_j >= F_i + G_i (s_j - s_i) - L/2 (s_j - s_i)^2,
      |G_i - G_j| <= L |s_i - s_j|,   f_min <= F_i <= f_max,   F = f_max at x_max, F = f_min at x_min,
      first-order conditions at x_max and x_min (0 inside, one-sided at 0 and 1),
  while F at x lies on the wrong side of c.
None of this imports the engine.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import sympy
import z3

from counterexamples.verify._exact import frac, vec
from counterexamples.verify._piecewise1d import (
    _degree_at_most,
    _guards,
    _nonneg,
    _upper_bound,
    piecewise_smooth,
    polynomial_degree,
)
from counterexamples.verify._report import Report
from counterexamples.verify._smooth_separable import is_separable, separable_smooth
from counterexamples.verify._smooth_twist import twist_parts, twist_smooth


def _psd(M: sympy.Matrix) -> bool:
    """Exact PSD test: every principal minor is >= 0."""
    n = M.shape[0]
    return all(
        M.extract(list(idx), list(idx)).det() >= 0
        for r in range(1, n + 1)
        for idx in itertools.combinations(range(n), r)
    )


def quadratic_smooth(e: sympy.Expr, syms: list[sympy.Symbol], L: Fraction) -> tuple[bool, str]:
    H = sympy.hessian(sympy.expand(e), syms)
    Lq = sympy.Rational(L.numerator, L.denominator)
    ok = _psd(Lq**2 * sympy.eye(len(syms)) - H * H)
    return ok, f"Hessian {H.tolist()}: L^2 I - H^2 is {'PSD' if ok else 'not PSD'} (principal minors, exact)"


def smooth_member(e: sympy.Expr, syms: list[sympy.Symbol], L: Fraction) -> tuple[bool, str]:
    deg = polynomial_degree(e, syms)
    if deg is not None and deg <= 2:
        return quadratic_smooth(e, syms, L)
    if deg is not None:
        return False, f"a polynomial of degree {deg} > 2 (no exact L-smoothness rule)"
    if is_separable(e):
        return separable_smooth(e, L)
    twist = twist_parts(e, syms)
    if twist is not None:
        return twist_smooth(twist, L)
    if isinstance(e, sympy.Piecewise) and e.free_symbols and _linear_conditions(e, syms):
        one = len(e.free_symbols) == 1 and all(
            cond == sympy.true or _upper_bound(cond, next(iter(e.free_symbols))) is not None for _, cond in e.args
        )
        return piecewise_smooth(e, syms, L) if one else ridge_smooth(e, syms, L)
    if len(e.free_symbols) >= 2 or (e.free_symbols and not isinstance(e, sympy.Piecewise)):
        return radial_smooth(e, syms, L)
    return piecewise_smooth(e, syms, L)


def _linear_parts(cond: Any, syms: list[sympy.Symbol]) -> tuple[list[sympy.Expr], sympy.Expr] | None:
    """(c, b) if cond is ``lhs <= rhs`` with lhs - rhs = c.y - b, c rational and b a constant, else None. An Or of
    such conditions with the same c (sympy merges equal adjacent pieces that way) is ``c.y <= max b``."""
    if isinstance(cond, sympy.Or):
        parts = [_linear_parts(a, syms) for a in cond.args]
        if any(p is None for p in parts):
            return None
        c0 = parts[0][0]  # type: ignore[index]
        if any(p[0] != c0 for p in parts):  # type: ignore[index]
            return None
        return c0, sympy.Max(*(p[1] for p in parts))  # type: ignore[index]
    if isinstance(cond, sympy.LessThan):
        g = sympy.expand(cond.args[0] - cond.args[1])
    elif isinstance(cond, sympy.GreaterThan):  # sympy writes -y_k <= b as y_k >= -b
        g = sympy.expand(cond.args[1] - cond.args[0])
    else:
        return None
    c = [g.coeff(x, 1) for x in syms]
    b = -sympy.expand(g - sum((ck * x for ck, x in zip(c, syms, strict=True)), sympy.Integer(0)))
    if b.free_symbols or not all(ck.is_Rational for ck in c) or not any(c):
        return None
    return c, b


def _linear_conditions(e: sympy.Piecewise, syms: list[sympy.Symbol]) -> bool:
    return all(cond == sympy.true or _linear_parts(cond, syms) is not None for _, cond in e.args)


def ridge_smooth(e: sympy.Piecewise, syms: list[sympy.Symbol], L: Fraction) -> tuple[bool, str]:
    """f(y) = q(l(y)) with l(y) = c.y a rational linear form and q a C^1 piecewise quadratic of one variable with
    |q''| <= L / ||c||_2^2: L-smooth, since the Hessian q''(l) c c' has 2-norm |q''| ||c||_2^2. Checked, not trusted:
    every condition must be a positive multiple of ``c.y <= b`` for the same c, and every piece must be a
    polynomial of l alone (substituting y_j = (l - sum_{k != j} c_k y_k)/c_j leaves no other variable); then the
    one-variable Piecewise in l is checked by ``piecewise_smooth`` with L / ||c||^2."""
    guards = _guards(e)
    if isinstance(guards, str):
        return False, guards
    c: list[sympy.Expr] | None = None
    bounds: list[sympy.Expr] = []
    for cond in guards:
        parts = _linear_parts(cond, syms)
        if parts is None:
            return False, f"condition {cond} is not a linear inequality with rational coefficients"
        ci, bi = parts
        if c is None:
            c = ci
        j = next(k for k, v in enumerate(c) if v != 0)
        kappa = ci[j] / c[j]
        if kappa <= 0 or any(sympy.expand(a - kappa * b_) != 0 for a, b_ in zip(ci, c, strict=True)):
            return False, f"condition {cond} uses another linear form than {c}"
        bounds.append(bi / kappa)
    if c is None:
        return False, "no linear condition"
    t = sympy.Symbol("t", real=True)
    j = next(k for k, v in enumerate(c) if v != 0)
    rest = sum((ck * x for k, (ck, x) in enumerate(zip(c, syms, strict=True)) if k != j), sympy.Integer(0))
    sub = {syms[j]: (t - rest) / c[j]}
    args = []
    for i, (val, _) in enumerate(e.args):
        q = sympy.expand(val.subs(sub))
        if q.free_symbols - {t}:
            return False, f"piece {val} is not a function of the linear form {sympy.expand(rest + c[j] * syms[j])}"
        args.append((q, t <= bounds[i]) if i < len(bounds) else (q, True))
    norm2 = sum((ck * ck for ck in c), sympy.Integer(0))
    L_t = L / Fraction(int(sympy.numer(norm2)), int(sympy.denom(norm2)))
    ok, detail = piecewise_smooth(sympy.Piecewise(*args, evaluate=False), [t], L_t)
    lin = sympy.expand(rest + c[j] * syms[j])
    return ok, f"ridge q({lin}), ||c||^2 = {norm2}: {detail}"


def _centre(R: sympy.Expr, syms: list[sympy.Symbol]) -> list[sympy.Expr] | None:
    """c if R = sqrt(sum_k (x_k - c_k)^2) exactly (c rational), else None."""
    if not (isinstance(R, sympy.Pow) and R.exp == sympy.Rational(1, 2)):
        return None
    Q = sympy.expand(R.base)
    try:
        poly = sympy.Poly(Q, *syms)
    except sympy.PolynomialError:
        return None
    if not all(c.is_Rational for c in poly.coeffs()):
        return None
    c = [-sympy.diff(Q, x).subs(dict.fromkeys(syms, 0)) / 2 for x in syms]
    if sympy.expand(Q - sum((x - ck) ** 2 for x, ck in zip(syms, c, strict=True))) != 0:
        return None
    return c


def radial_smooth(e: sympy.Expr, syms: list[sympy.Symbol], L: Fraction) -> tuple[bool, str]:
    """f(y) = a + k P(||y - c||_2) with P a C^1 piecewise quadratic of the radius: L-smooth (2-norm) if P'(0) = 0,
    |P''| <= L on every piece and |P'(s)| <= L s for s > 0. Reason: where f is twice differentiable its Hessian is
    P''(s) u u' + (P'(s)/s)(I - u u') (u the unit vector from c), with the eigenvalues P''(s) and P'(s)/s, so
    ||Hess f||_2 <= L; grad f = P'(s) u is continuous (P is C^1 and P'(0) = 0) and piecewise smooth, hence
    L-Lipschitz on the convex box. The radial form is checked, not trusted: every piece must equal its profile
    along the ray c + s e_1 evaluated at s = ||y - c||_2."""
    pws = list(e.atoms(sympy.Piecewise))
    if len(pws) != 1:
        return False, f"a radial witness has exactly one Piecewise, not {len(pws)}"
    pw = pws[0]
    z = sympy.Dummy("z")
    outer = sympy.expand(e.subs(pw, z))
    if outer.free_symbols - {z} or not _degree_at_most(outer, z, 1) or _degree_at_most(outer, z, 0):
        return False, "the expression is not a + k * Piecewise(...) with constants a, k"
    k, a = outer.coeff(z, 1), outer.coeff(z, 0)
    if not (k.is_Rational and a.is_Rational) or k == 0:
        return False, "the expression is not a + k * Piecewise(...) with rational constants a, k != 0"
    guards = _guards(pw)
    if isinstance(guards, str):
        return False, guards
    R: sympy.Expr | None = None
    breaks: list[sympy.Expr] = []
    for cond in guards:
        if not isinstance(cond, sympy.LessThan) or cond.args[1].free_symbols:
            return False, f"condition {cond} is not of the form ||y - c||_2 <= constant"
        if R is None:
            R = cond.args[0]
        elif sympy.simplify(cond.args[0] - R) != 0:
            return False, f"condition {cond} uses another radius than {R}"
        breaks.append(cond.args[1])
    if R is None:
        return False, "no radius condition"
    c = _centre(R, syms)
    if c is None:
        return False, f"{R} is not the Euclidean distance to a rational centre"
    gaps = [breaks[0], *(b - a_ for a_, b in itertools.pairwise(breaks))]
    if any(not _nonneg(g) or sympy.simplify(g) == 0 for g in gaps):
        return False, "the radius breakpoints must be > 0 and strictly increasing"
    s = sympy.Symbol("s", positive=True)
    ray = {x: ck + (s if j == 0 else 0) for j, (x, ck) in enumerate(zip(syms, c, strict=True))}
    prof = []
    for val, _ in pw.args:
        p = sympy.expand(k * val.subs(ray) + a)
        if p.free_symbols - {s} or not _degree_at_most(p, s, 2):
            return False, f"piece {val}: its profile {p} along the ray is not a quadratic in the radius"
        if sympy.simplify(sympy.expand(k * val + a - p.subs(s, R))) != 0:
            return False, f"piece {val} is not a function of the radius {R} alone"
        prof.append(p)
    Lq = sympy.Rational(L.numerator, L.denominator)
    d1 = [sympy.diff(p, s) for p in prof]
    for p in prof:
        if not _nonneg(Lq - sympy.Abs(sympy.diff(p, s, 2))):
            return False, f"profile piece {p} has |P''| > L = {L}"
    for b, left, right, dl, dr in zip(breaks, prof, prof[1:], d1, d1[1:], strict=False):
        for what, gap in (("value", left.subs(s, b) - right.subs(s, b)), ("slope", dl.subs(s, b) - dr.subs(s, b))):
            if sympy.simplify(gap) != 0:
                return False, f"the profile's {what} jumps by {gap} at radius {b}"
    starts = [sympy.Integer(0), *breaks]
    if sympy.simplify(d1[0].subs(s, 0)) != 0:
        return False, f"P'(0) = {d1[0].subs(s, 0)} != 0: not differentiable at the centre"
    for i, dp in enumerate(d1):  # |P'(s)| <= L s on [starts[i], ends[i]]; P' is affine there
        lo = starts[i]
        ends = [breaks[i]] if i < len(breaks) else []
        for t in [lo, *ends]:
            if not (_nonneg(Lq * t - dp.subs(s, t)) and _nonneg(Lq * t + dp.subs(s, t))):
                return False, f"|P'({t})| > L * {t}: the Hessian's tangential eigenvalue P'(s)/s exceeds L"
        if not ends:  # last piece, s in [lo, oo): the slopes of L s -+ P'(s) must be >= 0
            beta = sympy.diff(dp, s)
            if not (_nonneg(Lq - beta) and _nonneg(Lq + beta)):
                return False, f"|P'(s)| > L s for large s on the last piece {prof[i]}"
    return True, (
        f"radial: a + k P(||y - c||_2), c = {[str(v) for v in c]}, {len(prof)} quadratic profile pieces, C^1, "
        f"P'(0) = 0, |P''| <= {L} and |P'(s)| <= {L} s (Hessian eigenvalues P'' and P'/s)"
    )


def _q(v: Fraction) -> Any:
    return z3.RealVal(f"{v.numerator}/{v.denominator}")


def smooth_necessary(
    L: Fraction, x: Fraction, xmax: Fraction, xmin: Fraction, fmax: Fraction, fmin: Fraction, grid: int = 32
) -> tuple[list[Any], dict[Fraction, Any], list[Fraction]]:
    """Necessary conditions (module docstring) on values F and derivatives G at a grid of points plus x, x_max,
    x_min, for every L-smooth f on [0,1] with the visualization: (constraints, F, points)."""
    pts = sorted({Fraction(i, grid) for i in range(grid + 1)} | {x, xmax, xmin})
    F = {p: z3.Real(f"F_{i}") for i, p in enumerate(pts)}
    G = {p: z3.Real(f"G_{i}") for i, p in enumerate(pts)}
    q = _q
    cons = [F[xmax] == q(fmax), F[xmin] == q(fmin)]
    cons += [c for p in pts for c in (F[p] <= q(fmax), F[p] >= q(fmin))]
    for p, sense in ((xmax, 1), (xmin, -1)):
        if 0 < p < 1:
            cons.append(G[p] == 0)
        elif p == 0:
            cons.append(sense * G[p] <= 0)
        else:
            cons.append(sense * G[p] >= 0)
    for a, b in itertools.permutations(pts, 2):
        h = b - a
        cons += [F[b] <= F[a] + G[a] * q(h) + q(L * h * h / 2), F[b] >= F[a] + G[a] * q(h) - q(L * h * h / 2)]
        cons += [G[b] - G[a] <= q(L * abs(h)), G[a] - G[b] <= q(L * abs(h))]
    return cons, F, pts


def verify_smooth_region(cert: dict[str, Any], grid: int = 32, timeout_ms: int = 60000) -> Report:
    """z3 (linear real arithmetic): every L-smooth f on [0,1] with the visualization lies on the claimed side of
    c = (f_max + f_min)/2 at x. See the module docstring for the necessary conditions used."""
    params, fv = cert["params"], cert["fv"]
    rep = Report(f"L-smooth region claim ({cert.get('decision')})")
    if cert.get("class") == "smooth" and int(params["d"]) >= 2:
        from counterexamples.verify._smooth_descent import verify_smooth_region_descent

        return verify_smooth_region_descent(cert)
    if cert.get("class") != "smooth" or int(params["d"]) != 1:
        rep.add("class", False, f"smooth region claims need class smooth, not {cert.get('class')} d = {params['d']}")
        return rep
    L = frac(str(params["L"]))
    (x,), (xmax,), (xmin,) = vec(cert["x"]), vec(fv["x_max"]), vec(fv["x_min"])
    fmax, fmin = frac(fv["f_max"]), frac(fv["f_min"])
    ok = all(0 <= v <= 1 for v in (x, xmax, xmin))
    if not rep.add("x, x_max, x_min in [0, 1]", ok, f"x = {x}, x_max = {xmax}, x_min = {xmin}"):
        return rep
    cons, F, pts = smooth_necessary(L, x, xmax, xmin, fmax, fmin, grid)
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*cons)
    feasible = s.check()
    rep.add("the visualization passes the necessary conditions (z3 sat)", feasible == z3.sat, f"z3: {feasible}")
    c = _q((fmax + fmin) / 2)
    decision = cert.get("decision")
    if decision == "min":
        s.add(F[x] >= c)
    elif decision == "max":
        s.add(F[x] <= c)
    else:
        rep.add("decision", False, f"unknown decision {decision!r}")
        return rep
    res = s.check()
    rep.add(
        f"every L-smooth member answers '{decision}' at x (z3 on necessary conditions at {len(pts)} points, unsat)",
        res == z3.unsat,
        f"z3: {res}",
    )
    return rep
