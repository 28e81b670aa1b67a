"""Verification of the three kinds of certificate behind the theory table.

- ``verify_counterexample``: both witnesses are members of the class, have exactly the visualization, take the
  claimed values at x, and those values answer the question differently;
- ``verify_yes_proof``: z3 proves that the decoder returns f(x) for every member, visualization and x;
- ``verify_lipschitz_region``: z3 proves that every L-Lipschitz f with the visualization falls on the claimed
  side of c = (f_max + f_min)/2 at x.
None of this imports the engine that produced the certificates.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy
import z3

from counterexamples.verify._exact import equal, frac, rational, sign, vec, within
from counterexamples.verify._grammar import ExpressionError, parse_expression, parse_number
from counterexamples.verify._relu import evaluate
from counterexamples.verify._report import Report
from counterexamples.verify._witness import SpecWitness, check_fv, check_member
from counterexamples.verify._z3expr import Z3Expr


def verify_witness(
    spec: dict[str, Any],
    fv: dict[str, Any],
    cls: str,
    params: dict[str, Any],
    source: str = "witness",
    tol: Fraction = Fraction(0),
) -> Report:
    """One witness: member of the class, with exactly the visualization, or within ``tol`` (absolute, in units of
    f: a certificate's stated ``witness_tolerance`` times Delta) for float witnesses."""
    rep = Report(f"witness of {cls}")
    try:
        w = SpecWitness(spec, source=source)
    except (ValueError, KeyError, TypeError) as err:
        rep.add("spec parses", False, str(err))
        return rep
    check_member(w, cls, params, rep, "witness", slack=tol)
    check_fv(w, fv, rep, "witness", tol=tol)
    return rep


def _side(v: sympy.Expr, c: sympy.Expr) -> int | None:
    """The side of c that v is on (-1, 0, 1), exactly; None if undecided (then no claim rests on it)."""
    return sign(v - c)


def _parse_all(cert: dict[str, Any], source: str) -> tuple[list[SpecWitness], list[sympy.Expr]]:
    """Every witness and claimed value of ``cert`` parsed (allow-list grammar) before any check runs."""
    specs, claimed = cert.get("witnesses"), cert.get("values_at_x")
    if not isinstance(specs, list) or not isinstance(claimed, list) or len(specs) != len(claimed):
        raise ValueError(f"{source}: 'witnesses' and 'values_at_x' must be lists of the same length")
    ws = [SpecWitness(s, source=f"{source}: witness {i}") for i, s in enumerate(specs)]
    vs = [parse_number(str(v), f"{source}: values_at_x[{i}]") for i, v in enumerate(claimed)]
    return ws, vs


#: The largest witness tolerance (relative to Delta) the verifier accepts for float witnesses.
MAX_WITNESS_TOLERANCE = Fraction(1, 10**7)


def read_number(v: Any, what: str) -> Fraction:
    """An exact parameter: an int or an exact string ("1/10", "0.1") read exactly; a JSON float by its shortest
    decimal form (0.1 is 1/10), the number a user typed. Booleans, NaN and infinities are refused."""
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(f"{what} = {v!r} is not a finite number")
        return Fraction(repr(v))
    try:
        return frac(v)
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from None


MAX_DIMENSION = 1000  # the largest input dimension a certificate may claim (bounds the verifier's work)


def read_dimension(v: Any) -> int:
    """The input dimension d of a certificate: an int (or a string of ASCII digits) in 1..MAX_DIMENSION. Booleans,
    floats and anything else are refused: with d <= 0 some width lemmas hold vacuously."""
    if (
        isinstance(v, bool)
        or not isinstance(v, int | str)
        or (isinstance(v, str) and not (v.isascii() and v.isdigit()))
    ):
        raise ValueError(f"params.d = {v!r}: the input dimension must be an integer in 1..{MAX_DIMENSION}")
    d = int(v)
    if not 1 <= d <= MAX_DIMENSION:
        raise ValueError(f"params.d = {d}: the input dimension must be an integer in 1..{MAX_DIMENSION}")
    return d


def witness_tolerance(cert: dict[str, Any], rep: Report) -> Fraction | None:
    """The stated tolerance of float witnesses, relative to Delta (None if the witnesses claim to be exact); a
    stated tolerance above ``MAX_WITNESS_TOLERANCE`` (or unreadable) is a failed check."""
    spec = cert.get("witness_tolerance")
    if spec is None:
        return None
    try:
        tol = read_number(spec["relative_to_delta"], "witness_tolerance.relative_to_delta")
    except (ValueError, KeyError, TypeError) as err:
        rep.add("witness_tolerance: readable", False, str(err))
        return None
    rep.add(
        "witness_tolerance: relative_to_delta at most the verifier's 1e-7",
        0 <= tol <= MAX_WITNESS_TOLERANCE,
        f"witness_tolerance.relative_to_delta = {tol} (the verifier accepts at most {MAX_WITNESS_TOLERANCE})",
    )
    return tol


def verify_counterexample(
    cert: dict[str, Any],
    source: str = "certificate",
    *,
    eps: Any = None,
    eps_abs: Any = None,
    min_width: Any = None,
) -> Report:
    """Both witnesses parse (allow-list grammar, before any check), are members of the class, have exactly the
    visualization and the claimed values at x, and those values answer the question differently. ``source``
    (e.g. the file name) is named in every parse error.

    For "approx" the values must differ by all of Delta, unless an eps is given (argument or the certificate's
    ``eps``: |a - b| > 2 eps Delta), an absolute eps (``eps_abs``: |a - b| > 2 eps_abs) or ``min_width`` (a bound
    shown tight: |a - b| >= min_width Delta). A ``witness_tolerance`` in the certificate (float witnesses,
    relative to Delta, at most 1e-7) makes every value and bound check hold within tau = tolerance * Delta, the
    Lipschitz constant within L + tau, and the question's comparison keep a margin of 2 tau."""
    cls, params, q = cert["class"], cert.get("params", {}), cert.get("question", "exact")
    rep = Report(f"counterexample for {cls} / {q}")
    fv = cert["fv"]
    x = vec(cert["x"])
    try:
        witnesses, claimed = _parse_all(cert, source)
        eps = cert.get("eps") if eps is None else eps
        eps_abs = cert.get("eps_abs") if eps_abs is None else eps_abs
        e = None if eps is None else read_number(eps, "eps")
        e_abs = None if eps_abs is None else read_number(eps_abs, "eps_abs")
        w_min = None if min_width is None else read_number(min_width, "min_width")
        fmax, fmin = rational(frac(fv["f_max"])), rational(frac(fv["f_min"]))
    except (ValueError, KeyError, TypeError) as err:
        rep.add("witnesses and values parse", False, str(err))
        return rep
    if not rep.add("x in [0,1]^d", all(0 <= v <= 1 for v in x), f"x = {cert['x']}"):
        return rep
    if "L" in params:  # with L <= 0 the class is empty (or constant) and some membership tests ignore L's sign
        try:
            L_ok = read_number(params["L"], "L") > 0
        except (ValueError, TypeError):
            L_ok = False
        if not rep.add("params: L > 0", L_ok, f"L = {params['L']!r}"):
            return rep
    rel_tol = witness_tolerance(cert, rep)
    tau = Fraction(0) if rel_tol is None else rel_tol * (frac(fv["f_max"]) - frac(fv["f_min"]))
    values = []
    for i, (w, c) in enumerate(zip(witnesses, claimed, strict=True)):
        tag = f"witness {i}"
        check_member(w, cls, params, rep, tag, slack=tau)
        check_fv(w, fv, rep, tag, tol=tau)
        val = w.value(x)
        if tau:
            rep.add(
                f"{tag}: f(x) as claimed (within tolerance)",
                within(val, c, tau),
                f"exact {val} vs claimed {cert['values_at_x'][i]}, tol {tau}",
            )
        else:
            rep.add(f"{tag}: f(x) as claimed", equal(val, c), f"exact {val} vs claimed {cert['values_at_x'][i]}")
        values.append(val)
    if len(values) != 2:
        rep.add("two witnesses", False, f"{len(values)} given")
        return rep
    a, b = values
    delta = fmax - fmin
    margin = 2 * rational(tau)
    if q == "exact":
        rep.add("the witnesses disagree at x", not equal(a, b) and _gt(abs(a - b), margin), f"{a} vs {b}")
    elif q == "approx" and e is not None:
        rep.add(
            "the values at x differ by more than 2 eps Delta",
            _gt(abs(a - b), 2 * rational(e) * delta + margin) and delta > 0,
            f"|{a} - {b}| vs 2 eps Delta = {2 * rational(e) * delta} (eps = {e}, margin {margin})",
        )
    elif q == "approx" and e_abs is not None:
        rep.add(
            "the values at x differ by more than 2 eps_abs",
            _gt(abs(a - b), 2 * rational(e_abs) + margin),
            f"|{a} - {b}| vs 2 eps_abs = {2 * rational(e_abs)} (margin {margin})",
        )
    elif q == "approx" and w_min is not None:
        rep.add(
            "the values at x differ by at least min_width Delta",
            not _gt(rational(w_min) * delta + margin, abs(a - b)) and delta > 0,
            f"|{a} - {b}| vs {w_min} Delta = {rational(w_min) * delta}",
        )
    elif q == "approx":
        rep.add(
            "the values at x span all of [f_min, f_max]",
            (equal(abs(a - b), delta) if not tau else not _gt(delta - margin, abs(a - b))) and fmax != fmin,
            f"|{a} - {b}| vs Delta = {delta}",
        )
    elif q == "min_or_max":
        c = (fmax + fmin) / 2
        if tau:  # robust sides: both values at least tau away from c, on different sides
            ok = (_gt(a - c, rational(tau)) and _gt(c - b, rational(tau))) or (
                _gt(b - c, rational(tau)) and _gt(c - a, rational(tau))
            )
        else:
            sa, sb = _side(a, c), _side(b, c)
            ok = sa is not None and sb is not None and sa != sb
        rep.add("the witnesses answer 'closer to min or max' differently", ok, f"{a} and {b} around c = {c}")
    else:
        rep.add("question", False, f"unknown question {q!r}")
    if cls == "erm_network":
        _check_erm(cert, witnesses, rep)
    return rep


def _gt(u: sympy.Expr, v: sympy.Expr) -> bool:
    """u > v, exactly, for closed-form real numbers."""
    return sign(u - v) == 1


def _number(text: Any, source: str) -> sympy.Expr:
    """A claimed exact value: a fraction or a closed form with sqrt (e.g. "sqrt(2)/4"), by the allow-list grammar."""
    return parse_number(text, source)


def _check_erm(cert: dict[str, Any], witnesses: list[SpecWitness], rep: Report) -> None:
    data = cert.get("dataset")
    if not rep.add("ERM: a data set is given", bool(data), "certificate has no 'dataset'"):
        return
    nets = [w.net for w in witnesses]
    if not rep.add("ERM: both witnesses are ReLU networks", all(n is not None for n in nets), ""):
        return
    rep.add(
        "ERM: one architecture",
        nets[0].shapes() == nets[1].shapes(),  # type: ignore[union-attr]
        f"{nets[0].shapes()} vs {nets[1].shapes()}",
    )  # type: ignore[union-attr]
    X, y = [vec(p) for p in data["X"]], vec(data["y"])
    for i, net in enumerate(nets):
        loss = sum(((evaluate(net, p) - t) ** 2 for p, t in zip(X, y, strict=True)), Fraction(0))  # type: ignore[arg-type]
        rep.add(f"ERM: witness {i} has zero squared loss (exact)", loss == 0, f"loss = {loss}")


def _decoder_env(decoder: dict[str, Any], source: str) -> tuple[sympy.Expr, dict[str, sympy.Symbol]]:
    names = decoder.get("vars")
    if not isinstance(names, list):
        raise ExpressionError(f"{source}: the decoder's 'vars' must be a list of variable names")
    expr = parse_expression(decoder.get("expr"), names, source)
    return expr, {n: sympy.Symbol(n, real=True) for n in names}


def verify_yes_proof(
    cert: dict[str, Any], timeout_ms: int = 30000, encoding: str = "vertices", source: str = "certificate"
) -> Report:
    """z3: no member, visualization and x make the decoder wrong (the negation is unsat).

    For affine d = 1, "x_max is a global maximiser and x_min a global minimiser over [0,1]" is encoded either at
    the end points (``encoding="vertices"``: an affine function on [0,1] is bounded by its values at 0 and 1) or
    literally, with a universally quantified t in [0,1] (``encoding="forall"``)."""
    cls, d = cert["class"], int(cert["params"]["d"])
    rep = Report(f"proof for {cls} (d = {d}) / {cert.get('question')}")
    try:
        expr, syms = _decoder_env(cert["decoder"], f"{source}: decoder")
    except (ValueError, KeyError, TypeError) as err:
        rep.add("decoder parses", False, str(err))
        return rep
    Z = {n: z3.Real(n) for n in syms}
    tr = Z3Expr({s: Z[n] for n, s in syms.items()})
    dec = tr(expr)
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    box = [c for n in Z if n.startswith("x") for c in (Z[n] >= 0, Z[n] <= 1)]
    x = [Z.get(f"x{k}", z3.Real(f"x{k}")) for k in range(d)]
    xmax = [Z.get(f"x_max{k}", z3.Real(f"x_max{k}")) for k in range(d)]
    xmin = [Z.get(f"x_min{k}", z3.Real(f"x_min{k}")) for k in range(d)]
    fmax, fmin = Z.get("f_max", z3.Real("f_max")), Z.get("f_min", z3.Real("f_min"))
    box += [c for v in (*x, *xmax, *xmin) for c in (v >= 0, v <= 1)]
    if cls == "constant":
        cval = z3.Real("c")
        member = [fmax == cval, fmin == cval]  # f = c everywhere: its visualization has f_max = f_min = c
        truth = cval
        how = "f = c; every point is a maximiser and a minimiser"
    elif cls == "affine" and d == 1:
        w, b = z3.Real("w"), z3.Real("b")

        def f(t: Any) -> Any:
            return w * t + b

        # x_max is a global maximiser and x_min a global minimiser over [0,1]: an affine function on an interval
        # is bounded by its values at the end points, so "for all y in [0,1]" is equivalent to y in {0, 1}.
        member = [fmax == f(xmax[0]), fmin == f(xmin[0])]
        if encoding == "forall":
            t = z3.Real("t")
            member.append(z3.ForAll([t], z3.Implies(z3.And(t >= 0, t <= 1), z3.And(f(t) <= fmax, f(t) >= fmin))))
            how = "f = w x + b; extremality as a z3 for-all over t in [0,1]"
        elif encoding == "vertices":
            member += [*[f(t) <= fmax for t in (0, 1)], *[f(t) >= fmin for t in (0, 1)]]
            how = "f = w x + b; extremality checked at the end points 0 and 1"
        else:
            rep.add("encoding", False, f"unknown encoding {encoding!r}; expected 'vertices' or 'forall'")
            return rep
        truth = f(x[0])
    else:
        rep.add("class", False, f"no proof procedure for {cls} with d = {d}")
        return rep
    s.add(*box, *tr.side, *member, dec != truth)
    res = s.check()
    rep.add(
        "decoder = f(x) for every member, visualization and x (z3, negation unsat)",
        res == z3.unsat,
        f"{how}; z3: {res}" + (f" counterexample {s.model()}" if res == z3.sat else ""),
    )
    return rep


def _instance_well_posed(
    x: list[Fraction], xmax: list[Fraction], xmin: list[Fraction], fmax: Fraction, fmin: Fraction
) -> tuple[str, bool, str]:
    """The check that x, x_max and x_min are points of one [0,1]^d and f_max >= f_min (a region claim about an
    instance outside the box or with f_max < f_min would hold vacuously)."""
    ok = len(x) == len(xmax) == len(xmin) > 0 and all(0 <= v <= 1 for v in (*x, *xmax, *xmin)) and fmax >= fmin
    return "x, x_max, x_min in [0,1]^d and f_max >= f_min", ok, f"x = {x}, x_max = {xmax}, x_min = {xmin}"


def verify_lipschitz_region(cert: dict[str, Any], timeout_ms: int = 30000) -> Report:
    """z3: every t with |t - f_min| <= L||x - x_min||, |t - f_max| <= L||x - x_max||, f_min <= t <= f_max lies on
    the claimed side of c (necessary conditions on f(x) for every L-Lipschitz f with the visualization)."""
    params, fv = cert["params"], cert["fv"]
    rep = Report(f"Lipschitz region claim ({cert.get('decision')})")
    if cert.get("class") != "lipschitz":
        rep.add("class", False, f"region claims are checked for the lipschitz class, not {cert.get('class')!r}")
        return rep
    L, p = frac(str(params["L"])), str(params["norm"])
    x, xmax, xmin = vec(cert["x"]), vec(fv["x_max"]), vec(fv["x_min"])
    fmax, fmin = frac(fv["f_max"]), frac(fv["f_min"])
    if not rep.add(*_instance_well_posed(x, xmax, xmin, fmax, fmin)):
        return rep
    t = z3.Real("t")
    s = z3.Solver()
    s.set("timeout", timeout_ms)

    def dist(a: list[Fraction], b: list[Fraction], name: str) -> Any:
        diffs = [abs(u - v) for u, v in zip(a, b, strict=True)]
        if p == "1":
            return z3.RealVal(str(sum(diffs)))
        if p == "inf":
            return z3.RealVal(str(max(diffs)))
        r = z3.Real(name)
        s.add(r >= 0, r * r == z3.RealVal(str(sum(v * v for v in diffs))))
        return r

    Lz = z3.RealVal(str(L))
    dmin, dmax, D = dist(x, xmin, "dmin"), dist(x, xmax, "dmax"), dist(xmax, xmin, "D")
    # the visualization must be possible for the class, else the claim would hold vacuously
    s2 = z3.Solver()
    s2.add(*s.assertions(), z3.RealVal(str(fmax - fmin)) > Lz * D)
    rep.add("the visualization is consistent with L", s2.check() == z3.unsat, "Delta <= L ||x_max - x_min||")
    lo, hi = z3.RealVal(str(fmin)), z3.RealVal(str(fmax))
    s.add(t >= lo, t <= hi, t - lo <= Lz * dmin, lo - t <= Lz * dmin, t - hi <= Lz * dmax, hi - t <= Lz * dmax)
    c = (lo + hi) / 2
    decision = cert.get("decision")
    if decision == "min":
        s.add(t >= c)
    elif decision == "max":
        s.add(t <= c)
    elif decision == "tie":
        s.add(t != c)
    else:
        rep.add("decision", False, f"unknown decision {decision!r}")
        return rep
    res = s.check()
    rep.add(f"every L-Lipschitz member answers '{decision}' at x (z3, negation unsat)", res == z3.unsat, f"z3: {res}")
    return rep
