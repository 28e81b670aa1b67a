"""Every certificate kind ``theory.check_class`` emits, verified independently: ``verify_certificate``.

- ``counterexample``, ``proof``, ``region``: ``verify_counterexample``, ``verify_yes_proof``,
  ``verify_lipschitz_region`` / ``verify_smooth_region``;
- ``threshold`` ("depends" on L): the region claim below L* and the counterexample above it;
- ``bound`` ("yes", a proved bound on the width of every value range): the bound is re-proved here with z3 from
  the class's definition, never read from the certificate's ``argument``; then ``sup_width <= 2 eps`` (relative)
  or ``sup_width <= 2 eps_abs`` (absolute) exactly;
- ``condition`` ("depends"): ``parameter: eps`` -- the bound (as above) and a counterexample whose values differ by
  ``sup_width`` Delta (so the bound is tight and ``condition`` is exactly ``eps >= sup_width/2``);
  ``parameter: L/Delta`` -- an instance answered within eps Delta (``below``: its witnesses are members with the
  visualization, and z3 proves from necessary conditions of the class that every member's f(x) lies within
  eps Delta of the midpoint of the stated range) and a counterexample wider than 2 eps Delta (``above``);
- ``open`` and unknown kinds: a failed check (nothing to verify, so nothing may be printed as a verdict).
Nothing here imports the engine; stored verdicts, widths and arguments are never trusted.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import z3

from counterexamples.verify._certificates import (
    read_dimension,
    read_number,
    verify_counterexample,
    verify_lipschitz_region,
    verify_witness,
    verify_yes_proof,
    witness_tolerance,
)
from counterexamples.verify._convex_boxes import prove_convex_width_boxes
from counterexamples.verify._exact import frac, vec
from counterexamples.verify._intersection_width import (
    one_norm_convex_width,
    prove_convex_width_2d,
    prove_convex_width_2d_one_norm,
    prove_convex_width_one_norm,
    prove_monotone_width,
)
from counterexamples.verify._report import Report
from counterexamples.verify._smooth import smooth_necessary, verify_smooth_region
from counterexamples.verify._smooth_descent import answered_within
from counterexamples.verify._smooth_lp import verify_smooth_lp_bound
from counterexamples.verify._triangle import prove_lipschitz_width

INTERSECTIONS = {"convex_lipschitz": ("convex", "lipschitz"), "monotone_lipschitz": ("monotonic", "lipschitz")}
LIPSCHITZ_TYPE = ("lipschitz", "convex_lipschitz", "monotone_lipschitz")


def _q(v: Fraction) -> Any:
    return z3.RealVal(f"{v.numerator}/{v.denominator}")


def _solver(timeout_ms: int) -> z3.Solver:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    return s


def _abs(e: Any) -> Any:
    return z3.If(e >= 0, e, -e)


def _norm(s: z3.Solver, diffs: list[Any], p: str, name: str) -> Any:
    """The p-norm of a vector of z3 terms, exactly: a sum or maximum of absolute values (p = 1, inf), or a fresh
    r >= 0 with r^2 = sum of squares (p = 2)."""
    if p == "1":
        return z3.Sum([_abs(u) for u in diffs]) if len(diffs) > 1 else _abs(diffs[0])
    if p == "inf":
        m = _abs(diffs[0])
        for u in diffs[1:]:
            m = z3.If(_abs(u) >= m, _abs(u), m)
        return m
    if p != "2":
        raise ValueError(f"norm {p!r}: expected 1, 2 or inf")
    r = z3.Real(name)
    sq = diffs[0] * diffs[0] if len(diffs) == 1 else z3.Sum([u * u for u in diffs])
    s.add(r >= 0, r * r == sq)
    return r


def _lipschitz_value(s: z3.Solver, t: Any, L: Any, fmin: Any, fmax: Any, dmin: Any, dmax: Any) -> None:
    """Necessary conditions on t = f(x) for an L-Lipschitz f with the visualization (McShane-Whitney)."""
    s.add(t >= fmin, t <= fmax, t - fmin <= L * dmin, fmax - t <= L * dmax)


# ---- bound -------------------------------------------------------------------------------------------------
def _quadratic_member(a: Any, b: Any, c: Any, xmax: Any, xmin: Any) -> tuple[list[Any], Any]:
    """f(t) = a t^2 + b t + c on [0,1] with f(x_max) = 1 = max and f(x_min) = 0 = min (units of Delta): the
    extrema of a quadratic on [0,1] are at 0, 1 or at the vertex -b/(2a) when it lies in [0,1], so "0 <= f <= 1
    on [0,1]" is exactly: at 0 and 1, and, at an interior vertex, 4ac - b^2 >= 4a (a < 0, a maximum) or
    4ac - b^2 >= 0 (a > 0, a minimum), the vertex value c - b^2/(4a) multiplied by 4a."""

    def f(t: Any) -> Any:
        return a * t * t + b * t + c

    cons = [f(xmax) == 1, f(xmin) == 0, *[g for t in (0, 1) for g in (f(t) <= 1, f(t) >= 0)]]
    cons += [z3.Implies(z3.And(a < 0, b >= 0, b <= -2 * a), 4 * a * c - b * b >= 4 * a)]
    cons += [z3.Implies(z3.And(a > 0, b <= 0, b >= -2 * a), 4 * a * c - b * b >= 0)]
    return cons, f


def _prove_smooth_width(L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """z3: two L-smooth members f, g on [0,1] with one visualization (f_min = 0 by a shift, Delta >= 0 free, x_min
    = a, x_max = b anywhere) differ at x by at most ``sup``. Necessary conditions used, for each of f and g at the
    points a, b, x, 0, 1: the values (0 at a, Delta at b, all in [0, Delta]), the first-order conditions at the
    extrema (zero derivative inside, the sign at an end) and the descent lemma both ways for every ordered pair,
    |F_q - F_p - G_p (q - p)| <= L (q - p)^2 / 2."""
    s = _solver(timeout_ms)
    a, b, x, delta = z3.Reals("a b x delta")
    s.add(*[c for v in (a, b, x) for c in (v >= 0, v <= 1)], delta >= 0)
    pts = {"a": a, "b": b, "x": x, "0": z3.RealVal(0), "1": z3.RealVal(1)}
    at_x = []
    for fn in ("f", "g"):
        F = {k: z3.Real(f"{fn}_F{k}") for k in pts}
        G = {k: z3.Real(f"{fn}_G{k}") for k in pts}
        s.add(F["a"] == 0, F["b"] == delta, *[c for k in pts for c in (F[k] >= 0, F[k] <= delta)])
        for p, sign in (("a", 1), ("b", -1)):  # a minimum: G >= 0 at 0, <= 0 at 1; a maximum: the reverse
            t = pts[p]
            s.add(z3.Implies(z3.And(t > 0, t < 1), G[p] == 0))
            s.add(z3.Implies(t == 0, sign * G[p] >= 0), z3.Implies(t == 1, sign * G[p] <= 0))
        for p, q in itertools.permutations(pts, 2):
            h = pts[q] - pts[p]
            s.add(F[q] - F[p] - G[p] * h <= _q(L) * h * h / 2, F[q] - F[p] - G[p] * h >= -_q(L) * h * h / 2)
        at_x.append(F["x"])
    s.add(at_x[0] - at_x[1] > _q(sup))
    res = s.check()
    return res == z3.unsat, (
        f"z3 (nonlinear real arithmetic): no two {L}-smooth functions on [0,1] with one visualization (any x_min, "
        f"x_max, Delta; values, first-order conditions and the descent lemma at x_min, x_max, x, 0, 1) differ at x "
        f"by more than {sup}: {res}"
    )


def _prove_width_bound(
    cls: str, params: dict[str, Any], sup: Fraction, timeout_ms: int, boxes: Any = None
) -> tuple[bool, str]:
    """z3: every two members with one visualization differ at every x by at most ``sup`` (relative to Delta for
    the quadratic class, in units of f for the Lipschitz classes and L-smooth d = 1): the negation is unsat. For
    convex and L-Lipschitz in the 2-norm a tree of ``boxes`` may prove it instead (``_convex_boxes``)."""
    d = read_dimension(params["d"])
    if cls == "quadratic" and d == 1:
        # quadratics are closed under f -> (f - f_min)/Delta, so Delta = 1, f_min = 0 loses nothing (Delta = 0:
        # every member is the constant f_min on [0,1], width 0)
        s = _solver(timeout_ms)
        xmax, xmin, t = z3.Reals("xmax xmin t")
        s.add(*[c for v in (xmax, xmin, t) for c in (v >= 0, v <= 1)])
        m1, f1 = _quadratic_member(*z3.Reals("a1 b1 c1"), xmax, xmin)
        m2, f2 = _quadratic_member(*z3.Reals("a2 b2 c2"), xmax, xmin)
        s.add(*m1, *m2, f1(t) - f2(t) > _q(sup))
        res = s.check()
        return res == z3.unsat, (
            f"z3 (nonlinear real arithmetic): no two quadratics on [0,1] with one visualization (Delta = 1, f_min = 0, "
            f"extrema by end points and vertex) differ by more than {sup} at any t: {res}"
        )
    if cls == "smooth" and d == 1:
        return _prove_smooth_width(frac(str(params["L"])), sup, timeout_ms)
    if cls in LIPSCHITZ_TYPE:
        L, p = frac(str(params["L"])), str(params.get("norm", "2"))
        if cls == "monotone_lipschitz":  # the widest range of the class itself (L rho <= L T)
            return prove_monotone_width(d, p, L, sup, timeout_ms)
        if cls == "convex_lipschitz" and d == 2 and p == "2" and sup >= L:
            return prove_convex_width_2d(L, sup, timeout_ms)
        if cls == "convex_lipschitz" and d == 2 and p == "1" and sup >= L * Fraction(9, 8):
            return prove_convex_width_2d_one_norm(L, sup, timeout_ms)
        if cls == "convex_lipschitz" and d != 2 and p == "1" and sup >= L * one_norm_convex_width(d):
            return prove_convex_width_one_norm(d, L, sup, timeout_ms)
        if cls == "convex_lipschitz" and p == "2" and boxes is not None:
            return prove_convex_width_boxes(d, L, sup, boxes)
        # a member of an intersection is L-Lipschitz, so a bound for every L-Lipschitz function holds for it
        if d >= 2 and p in ("1", "2"):
            return prove_lipschitz_width(d, p, L, sup, timeout_ms)
        s = _solver(timeout_ms)
        a, b, x = ([z3.Real(f"{n}{k}") for k in range(d)] for n in ("a", "b", "x"))
        s.add(*[c for v in (*a, *b, *x) for c in (v >= 0, v <= 1)])
        fmin, fmax, t1, t2 = z3.Reals("fmin fmax t1 t2")
        D = _norm(s, [u - v for u, v in zip(b, a, strict=True)], p, "D")
        dmin = _norm(s, [u - v for u, v in zip(x, a, strict=True)], p, "dmin")
        dmax = _norm(s, [u - v for u, v in zip(x, b, strict=True)], p, "dmax")
        s.add(fmax >= fmin, fmax - fmin <= _q(L) * D)  # consistency: Delta <= L ||x_max - x_min||
        for t in (t1, t2):
            _lipschitz_value(s, t, _q(L), fmin, fmax, dmin, dmax)
        s.add(t1 - t2 > _q(sup))
        res = s.check()
        return res == z3.unsat, (
            f"z3: for every visualization consistent with L = {L} ({p}-norm, d = {d}) and every x, two values "
            f"satisfying the necessary conditions |t - f_min| <= L||x - x_min||, |t - f_max| <= L||x - x_max||, "
            f"f_min <= t <= f_max differ by at most {sup}: {res}"
        )
    return False, f"no width-bound procedure for {cls} with d = {d}"


def verify_bound(cert: dict[str, Any], timeout_ms: int = 120000) -> Report:
    """A ``bound`` certificate: the width bound ``sup_width`` re-proved by z3, and the question answered by it
    (``eps``: sup_width <= 2 eps, relative to Delta; ``eps_abs``: sup_width <= 2 eps_abs)."""
    cls, params = cert.get("class"), cert.get("params", {})
    rep = Report(f"bound for {cls} / {cert.get('question')}")
    try:
        sup = read_number(cert["sup_width"], "sup_width")
        eps = None if cert.get("eps") is None else read_number(cert["eps"], "eps")
        eps_abs = None if cert.get("eps_abs") is None else read_number(cert["eps_abs"], "eps_abs")
        read_dimension(params["d"])
        L = None if params.get("L") is None else read_number(params["L"], "L")
    except (ValueError, KeyError, TypeError) as err:
        rep.add("sup_width, eps and params parse", False, f"{err.__class__.__name__}: {err}")
        return rep
    if L is not None and L <= 0:  # with L <= 0 the necessary conditions are contradictory: any bound would pass
        rep.add("params: L > 0", False, f"L = {L}: the class needs L > 0")
        return rep
    if str(cls) in LIPSCHITZ_TYPE or cls == "smooth":  # widths in units of f: only eps_abs can be answered by them
        if eps is not None:
            rep.add(
                "units: a width bound in units of f answers eps_abs",
                False,
                f"{cls} bounds widths in units of f, so it cannot answer eps = {eps} (relative to Delta); give eps_abs",
            )
            return rep
    elif eps_abs is not None:  # the quadratic bound is relative to Delta
        rep.add("units: a width bound relative to Delta answers eps", False, f"{cls}: eps_abs = {eps_abs} given")
        return rep
    if sup < 0:  # a width is never negative; the lemmas compare squares and would pass vacuously
        rep.add("sup_width >= 0", False, f"sup_width = {sup}: a bound on a width must be >= 0")
        return rep
    rep.add(
        "question", cert.get("question") == "approx", f"a width bound answers 'approx', not {cert.get('question')!r}"
    )
    ok, detail = _prove_width_bound(str(cls), params, sup, timeout_ms, cert.get("boxes"))
    rep.add(f"sup_width: every value range is at most {sup} wide (z3)", ok, detail)
    if eps is not None:
        rep.add("eps: sup_width <= 2 eps", sup <= 2 * eps, f"sup_width = {sup} vs 2 eps = {2 * eps}")
    if eps_abs is not None:
        rep.add(
            "eps_abs: sup_width <= 2 eps_abs", sup <= 2 * eps_abs, f"sup_width = {sup} vs 2 eps_abs = {2 * eps_abs}"
        )
    return rep


# ---- condition -----------------------------------------------------------------------------------------------
def _answered_instance(inst: dict[str, Any], cls: str, params: dict[str, Any], eps: Fraction, rep: Report) -> None:
    """``below``: at this visualization and x, every member's f(x) is within eps Delta of the midpoint m of the
    stated range (z3 on necessary conditions of the class); the range's witnesses are members with the
    visualization (so the claim is not vacuous), within the instance's stated ``witness_tolerance`` (relative to
    Delta, at most 1e-7) when they are floats."""
    try:
        fv = inst["fv"]
        x, xmax, xmin = vec(inst["x"]), vec(fv["x_max"]), vec(fv["x_min"])
        fmax, fmin = frac(fv["f_max"]), frac(fv["f_min"])
        m = (frac(inst["lo_exact"]) + frac(inst["hi_exact"])) / 2
        specs = [inst["witness_lo"], inst["witness_hi"]]
        d = read_dimension(params.get("d", 1))
    except (ValueError, KeyError, TypeError) as err:
        rep.add("below: instance parses", False, f"{err.__class__.__name__}: {err}")
        return
    if not rep.add(
        "below: x, x_max, x_min in [0,1]^d with d = params.d",
        all(len(p) == d and all(0 <= v <= 1 for v in p) for p in (x, xmax, xmin)),
        f"d = {d}, x = {inst['x']}, x_max = {fv['x_max']}, x_min = {fv['x_min']}",
    ):
        return
    rel_tol = witness_tolerance(inst, rep)
    tau = Fraction(0) if rel_tol is None else rel_tol * (fmax - fmin)
    for name, spec in zip(("witness_lo", "witness_hi"), specs, strict=True):
        rep.extend(verify_witness(spec, fv, cls, params, source=f"below.{name}", tol=tau), f"below.{name}: ")
    half = eps * (fmax - fmin)
    if cls == "smooth" and d >= 2:  # exact: the descent lemma at flat extrema
        answered_within({"fv": fv, "x": inst["x"], "params": params}, m, eps, rep)
        return
    for side in ("above", "below"):
        if cls in LIPSCHITZ_TYPE:
            L, p = frac(str(params["L"])), str(params.get("norm", "2"))
            s = _solver(60000)
            t = z3.Real("t")
            dmin = _norm(s, [_q(u - v) for u, v in zip(x, xmin, strict=True)], p, "dmin")
            dmax = _norm(s, [_q(u - v) for u, v in zip(x, xmax, strict=True)], p, "dmax")
            _lipschitz_value(s, t, _q(L), _q(fmin), _q(fmax), dmin, dmax)
            how = "McShane-Whitney necessary conditions (sound for the Lipschitz subclasses)"
        elif cls == "smooth" and d == 1:
            cons, F, _ = smooth_necessary(frac(str(params["L"])), x[0], xmax[0], xmin[0], fmax, fmin)
            s = _solver(60000)
            s.add(*cons)
            t = F[x[0]]
            how = "necessary conditions of L-smooth functions on a 33-point grid"
        else:
            rep.add("below: answered", False, f"no procedure for instances of {cls} with d = {params.get('d')}")
            return
        s.add(t > _q(m + half) if side == "above" else t < _q(m - half))
        res = s.check()
        rep.add(
            f"below: no member has f(x) {side} m {'+' if side == 'above' else '-'} eps Delta (z3 unsat)",
            res == z3.unsat,
            f"m = {m}, eps Delta = {half}; {how}: {res}",
        )


def verify_condition(cert: dict[str, Any], timeout_ms: int = 120000) -> Report:
    """A ``condition`` certificate ("depends"): see the module docstring for the two parameters."""
    param = cert.get("parameter")
    rep = Report(f"condition on {param}")
    if param == "eps":
        proof, cex = cert.get("proof"), cert.get("counterexample")
        if not isinstance(proof, dict) or not isinstance(cex, dict):
            rep.add("proof and counterexample given", False, "a condition on eps needs both")
            return rep
        if str(proof.get("class")) in LIPSCHITZ_TYPE or proof.get("class") == "smooth":
            rep.add(
                "units: a condition on eps (relative to Delta) needs a width bound relative to Delta",
                False,
                f"{proof.get('class')} bounds widths in units of f: its bound cannot be tight in units of Delta",
            )
            return rep
        rep.extend(verify_bound(proof, timeout_ms), "proof: ")
        try:
            sup = read_number(proof["sup_width"], "proof.sup_width")
        except (ValueError, KeyError, TypeError) as err:
            rep.add("proof.sup_width parses", False, str(err))
            return rep
        rep.add(
            "condition is eps >= sup_width/2", cert.get("condition") == f"eps >= {sup / 2}", str(cert.get("condition"))
        )
        rep.add(
            "counterexample: same class",
            cex.get("class") == proof.get("class"),
            f"{cex.get('class')} vs {proof.get('class')}",
        )
        rep.add(
            "counterexample: same params, question approx",
            cex.get("params") == proof.get("params") and cex.get("question") == "approx",
            f"params {cex.get('params')} vs {proof.get('params')}, question {cex.get('question')!r}",
        )
        # the tightness test is |a - b| >= sup_width Delta: an eps or eps_abs of the counterexample's own must not
        # replace it
        tight = {k: v for k, v in cex.items() if k not in ("eps", "eps_abs")}
        rep.extend(verify_counterexample(tight, "counterexample", min_width=sup), "counterexample (tightness): ")
    elif param == "L/Delta":
        above, below = cert.get("above"), cert.get("below")
        if not isinstance(above, dict) or not isinstance(below, dict):
            rep.add("above and below given", False, "a condition on L/Delta needs an instance on each side")
            return rep
        try:
            eps = read_number(cert["eps"], "eps")
        except (ValueError, KeyError, TypeError) as err:
            rep.add("eps parses", False, f"{err.__class__.__name__}: {err}")
            return rep
        rep.add("eps in (0, 1/2)", 0 < eps < Fraction(1, 2), f"eps = {eps}")
        cls, params = above.get("class"), above.get("params", {})
        rep.add("above: refutes the approx question", above.get("question") == "approx", str(above.get("question")))
        rep.extend(verify_counterexample(above, "above", eps=eps), "above: ")
        _answered_instance(below, str(cls), params, eps, rep)
        if "threshold" in cert:
            _threshold_between(cert["threshold"], below, above, params, rep)
    else:
        rep.add("parameter", False, f"unknown condition parameter {param!r}; expected 'eps' or 'L/Delta'")
    return rep


def _threshold_between(
    thr: Any, below: dict[str, Any], above: dict[str, Any], params: dict[str, Any], rep: Report
) -> None:
    """A stated threshold on Delta/L must lie between the refuted instance's Delta/L (excluded) and the answered
    one's (included): the two verified instances then pin the boundary to that interval."""
    try:
        value = read_number(thr["value"], "threshold.value")
        L = read_number(params["L"], "L")
        d_yes = (frac(below["fv"]["f_max"]) - frac(below["fv"]["f_min"])) / L
        d_no = (frac(above["fv"]["f_max"]) - frac(above["fv"]["f_min"])) / L
    except (ValueError, KeyError, TypeError) as err:
        rep.add("threshold parses", False, f"{err.__class__.__name__}: {err}")
        return
    rep.add(
        "the stated threshold lies between the two instances (refuted < threshold <= answered, in Delta/L)",
        thr.get("parameter") == "Delta/L" and d_no < value <= d_yes,
        f"{float(d_no):.10g} < {float(value):.10g} <= {float(d_yes):.10g}",
    )


# ---- threshold on L ------------------------------------------------------------------------------------------
def _verify_threshold(cert: dict[str, Any], source: str) -> Report:
    """A ``threshold`` certificate ("answered iff L < L*" at one instance): a region claim at L_below and a
    counterexample at L_above for the same visualization, x and class (the region may be for the Lipschitz
    superclass, which only strengthens it). The class grows with L, so L* lies in (L_below, L_above]; every L* the
    certificate states must lie there (up to a relative 1e-9 above L_above: the stated values are floats)."""
    rep = Report(f"threshold on L ({source})")
    below, above = cert.get("below"), cert.get("above")
    if not isinstance(below, dict) or below.get("type") != "region":
        rep.add("below: a region claim", False, "the claim below L* has no proof object")
        return rep
    if not isinstance(above, dict):
        rep.add("above: a counterexample", False, "missing")
        return rep
    rep.extend(_region(below), "region below L*: ")
    rep.extend(verify_counterexample(above, f"{source}: above"), "counterexample above L*: ")
    try:
        pb, pa = below.get("params", {}), above.get("params", {})
        L_below, L_above = read_number(pb["L"], "below.L"), read_number(pa["L"], "above.L")
        same_point = [vec(below["x"]), vec(below["fv"]["x_max"]), vec(below["fv"]["x_min"])] == [
            vec(above["x"]),
            vec(above["fv"]["x_max"]),
            vec(above["fv"]["x_min"]),
        ]
        same_values = all(frac(below["fv"][k]) == frac(above["fv"][k]) for k in ("f_max", "f_min"))
        stated = [read_number(cert[k], k) for k in ("L_star_bisection", "L_star_closed_form") if k in cert]
    except (ValueError, KeyError, TypeError) as err:
        rep.add("threshold parses", False, f"{err.__class__.__name__}: {err}")
        return rep
    cls_b, cls_a = below.get("class"), above.get("class")
    superclass = below.get("via_superclass") is True and cls_b == "lipschitz" and cls_a in LIPSCHITZ_TYPE
    rep.add(
        "below and above: the same class (or the Lipschitz superclass below), d and norm",
        (cls_b == cls_a or superclass)
        and {k: v for k, v in pb.items() if k != "L"} == {k: v for k, v in pa.items() if k != "L"},
        f"below {cls_b} {pb}, above {cls_a} {pa}",
    )
    rep.add("below and above: the same visualization and x", same_point and same_values, "")
    rep.add("L_below < L_above", L_below < L_above, f"{L_below} vs {L_above}")
    # the stated values are floats (a bisection, a closed form evaluated in floating point): they may exceed
    # L_above by a relative 1e-9 (a few roundings), never fall to L_below
    top = L_above * (1 + Fraction(1, 10**9))
    rep.add(
        "every stated L* lies in (L_below, L_above]",
        all(L_below < v <= top for v in stated),
        f"{[float(v) for v in stated]} in ({float(L_below)}, {float(L_above)}] (floats: to 1e-9 above)",
    )
    return rep


# ---- dispatch ------------------------------------------------------------------------------------------------
def _region(cert: dict[str, Any]) -> Report:
    if cert.get("class") in INTERSECTIONS:
        cert = {**cert, "class": "lipschitz"}  # a claim for every L-Lipschitz f holds for a subclass
    return verify_smooth_region(cert) if cert.get("class") == "smooth" else verify_lipschitz_region(cert)


def _nonpositive_L(obj: Any) -> Any:
    """The first ``params["L"]`` anywhere in the certificate that is not a number > 0 (None if there is none)."""
    if isinstance(obj, dict):
        params = obj.get("params")
        if isinstance(params, dict) and "L" in params:
            try:
                if read_number(params["L"], "L") <= 0:
                    return params["L"]
            except (ValueError, TypeError):
                return params["L"]
        for v in obj.values():
            found = _nonpositive_L(v)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = _nonpositive_L(v)
            if found is not None:
                return found
    return None


def _bad_dimension(obj: Any) -> str | None:
    """Why some ``params["d"]`` in the certificate is unusable: not an integer in 1..1000 (``read_dimension``), or
    not the length of the point ``x`` or of the visualization's x_max, x_min next to it (the verification procedure
    is chosen by d, so a d that disagrees with the points would route them through the wrong one). None if all agree.
    """
    if isinstance(obj, dict):
        params = obj.get("params")
        if isinstance(params, dict) and "d" in params:
            try:
                d = read_dimension(params["d"])
            except ValueError as err:
                return str(err)
            fv = obj.get("fv") if isinstance(obj.get("fv"), dict) else {}
            for name, pt in (("x", obj.get("x")), ("fv.x_max", fv.get("x_max")), ("fv.x_min", fv.get("x_min"))):
                if isinstance(pt, list) and len(pt) != d:
                    return f"params.d = {d}, but {name} has {len(pt)} coordinates: they must agree"
        children = obj.values()
    elif isinstance(obj, list):
        children = obj
    else:
        return None
    return next((why for v in children if (why := _bad_dimension(v)) is not None), None)


def params_refused(cert: dict[str, Any]) -> tuple[str, bool, str] | None:
    """The failed check (name, False, detail) when some ``params`` in the certificate is unusable: an L that is
    not a number > 0 (with L <= 0 the classes' necessary conditions contradict each other and anything follows)
    or a d that is not an integer in 1..1000 or disagrees with the points next to it. None when all are usable."""
    bad_L = _nonpositive_L(cert)
    if bad_L is not None:
        return "params: L > 0", False, f"L = {bad_L!r}: the Lipschitz and smoothness constants must be numbers > 0"
    bad_d = _bad_dimension(cert)
    if bad_d is not None:
        return "params: the input dimension d", False, bad_d
    return None


def verify_certificate(cert: dict[str, Any], source: str = "certificate") -> Report:
    """Verify any certificate ``theory.check_class`` emits, by its ``type``; ``open`` and unknown types fail."""
    if not isinstance(cert, dict):
        rep = Report(source)
        rep.add("certificate is a JSON object", False, type(cert).__name__)
        return rep
    kind = cert.get("type")
    bad = params_refused(cert)
    if bad is not None:
        rep = Report(f"{kind} certificate ({source})")
        rep.add(*bad)
        return rep
    try:
        if kind == "counterexample":
            return verify_counterexample(cert, source)
        if kind == "proof":
            return verify_yes_proof(cert, source=source)
        if kind == "region":
            return _region(cert)
        if kind == "bound":
            return verify_bound(cert)
        if kind == "condition":
            return verify_condition(cert)
        if kind == "smooth_lp_bound":
            return verify_smooth_lp_bound(cert)[0]
        if kind == "threshold":
            return _verify_threshold(cert, source)
    except (KeyError, TypeError, ValueError) as err:
        rep = Report(f"{kind} certificate ({source})")
        rep.add("certificate is well formed", False, f"{err.__class__.__name__}: {err}")
        return rep
    rep = Report(f"{kind} certificate ({source})")
    why = "an open verdict has no proof either way" if kind == "open" else f"unknown certificate type {kind!r}"
    rep.add("certificate type", False, why)
    return rep
