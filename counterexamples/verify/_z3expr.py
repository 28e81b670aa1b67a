"""Translation of sympy expressions (rationals, + - * /, integer powers, sqrt, Min, Max, Abs, Piecewise) to z3
real arithmetic; sqrt(t) becomes a fresh variable s with s >= 0 and (t >= 0 => s*s = t).

The implication keeps a side condition from being unsatisfiable: a radicand negative somewhere on the box leaves
its s free (any s >= 0) there instead of ruling that point out, so an expression such as sqrt(x0 - 2) * 0 cannot
make a negation unsat vacuously; it only makes a proof harder, never a false claim provable."""

from __future__ import annotations

from typing import Any

import sympy
import z3


class Z3Expr:
    def __init__(self, env: dict[sympy.Symbol, Any]) -> None:
        self.env = env
        self.side: list[Any] = []  # side conditions defining auxiliary variables
        self._n = 0

    def __call__(self, e: sympy.Expr) -> Any:
        if e in self.env:
            return self.env[e]
        if e.is_Rational:
            return z3.RealVal(f"{e.p}/{e.q}")
        if e.is_Add:
            return z3.Sum([self(a) for a in e.args])
        if e.is_Mul:
            out = self(e.args[0])
            for a in e.args[1:]:
                out = out * self(a)
            return out
        if e.is_Pow:
            base, exp = e.args
            if exp == sympy.Rational(1, 2):
                return self._sqrt(self(base))
            if exp == sympy.Rational(-1, 2):
                return 1 / self._sqrt(self(base))
            if exp.is_Integer:
                b = self(base)
                if int(exp) >= 0:
                    out = z3.RealVal(1)
                    for _ in range(int(exp)):
                        out = out * b
                    return out
                out = z3.RealVal(1)
                for _ in range(-int(exp)):
                    out = out * b
                return 1 / out
            raise ValueError(f"unsupported power {e} in a witness expression")
        if isinstance(e, (sympy.Max, sympy.Min)):
            args = [self(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = z3.If(a > out, a, out) if isinstance(e, sympy.Max) else z3.If(a < out, a, out)
            return out
        if isinstance(e, sympy.Abs):
            a = self(e.args[0])
            return z3.If(a >= 0, a, -a)
        if isinstance(e, sympy.Piecewise):
            out = None
            for val, cond in reversed(e.args):
                v = self(val)
                out = v if out is None or cond == sympy.true else z3.If(self._cond(cond), v, out)
            return out
        raise ValueError(f"unsupported construct {type(e).__name__} in a witness expression: {e}")

    def _cond(self, c: Any) -> Any:
        ops = {
            sympy.StrictGreaterThan: lambda a, b: a > b,
            sympy.GreaterThan: lambda a, b: a >= b,
            sympy.StrictLessThan: lambda a, b: a < b,
            sympy.LessThan: lambda a, b: a <= b,
        }
        for typ, op in ops.items():
            if isinstance(c, typ):
                return op(self(c.args[0]), self(c.args[1]))
        if isinstance(c, sympy.And):
            return z3.And([self._cond(a) for a in c.args])
        if isinstance(c, sympy.Or):
            return z3.Or([self._cond(a) for a in c.args])
        raise ValueError(f"unsupported condition {c}")

    def _sqrt(self, t: Any) -> Any:
        self._n += 1
        s = z3.Real(f"_sqrt{self._n}")
        self.side += [s >= 0, z3.Implies(t >= 0, s * s == t)]
        return s


def box_extreme_holds(
    expr: sympy.Expr, syms: list[sympy.Symbol], bound: sympy.Expr, sense: str, timeout_ms: int = 20000
) -> tuple[bool, str]:
    """Prove with z3 that expr <= bound ("max") or expr >= bound ("min") on [0,1]^d: the negation is unsat."""
    zs = [z3.Real(s.name) for s in syms]
    tr = Z3Expr(dict(zip(syms, zs, strict=True)))
    f = tr(expr)
    b = tr(bound)
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*[z for x in zs for z in (x >= 0, x <= 1)], *tr.side)
    s.add(f > b if sense == "max" else f < b)
    res = s.check()
    if res == z3.unsat:
        return True, "z3: negation unsat"
    if res == z3.sat:
        m = s.model()
        pt = [str(m.eval(x, model_completion=True)) for x in zs]
        return False, f"z3 found a point {pt} beyond the claimed {'maximum' if sense == 'max' else 'minimum'}"
    return False, f"z3 returned {res} ({s.reason_unknown()})"
