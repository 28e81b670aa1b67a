"""Witness and certificate expressions parsed by an allow-list grammar: text is data, never code.

The text is parsed by ``ast.parse(mode="eval")`` (which only builds a syntax tree and runs nothing) and the tree
is walked accepting only

    expr := number | variable | expr (+ | - | * | / | **) expr | -expr | +expr
          | Max(expr, ...) | Min(expr, ...) | Abs(expr) | sqrt(expr) | Rational(int, int)
          | Piecewise((expr, cond), ..., (expr, True))
    cond := expr (< | <= | > | >=) expr | True | cond & cond | cond | cond | And(cond, ...) | Or(cond, ...)

where a variable is one of the witness's own declared names and numbers are decimal literals read exactly
(``0.25`` is 1/4). The sympy object is built explicitly from the tree. Size limits: at most ``MAX_CHARS``
characters and ``MAX_NODES`` tree nodes, at most ``MAX_VARIABLES`` declared variables, nesting depth at most
``MAX_DEPTH``, exponents rational with
|numerator| <= ``MAX_EXPONENT`` and denominator 1 or 2, every constant (literal or computed) at most
``MAX_BITS`` bits in numerator and denominator. Anything else raises ``ExpressionError`` (a ``ValueError``) naming
the source (file) and the offending token.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sympy

__all__ = [
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_NODES",
    "MAX_VARIABLES",
    "ExpressionError",
    "parse_expression",
    "parse_number",
]

MAX_CHARS = 100_000
MAX_NODES = 20_000
MAX_DEPTH = 250  # a sum of d <= 100 squared terms nests about d deep (left-nested BinOps), plus a few functions
MAX_EXPONENT = 64
MAX_VARIABLES = 1000
MAX_BITS = 4096
FUNCTIONS = ("Max", "Min", "Abs", "sqrt", "Piecewise", "Rational")
_CONDITION_FUNCTIONS = ("And", "Or")


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DECIMAL = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class ExpressionError(ValueError):
    """An expression outside the allow-list grammar (or beyond its size limits)."""


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: sympy.StrictLessThan,
    ast.LtE: sympy.LessThan,
    ast.Gt: sympy.StrictGreaterThan,
    ast.GtE: sympy.GreaterThan,
}


class _Builder:
    def __init__(self, text: str, variables: dict[str, sympy.Symbol], source: str) -> None:
        self.text = text
        self.vars = variables
        self.source = source

    def fail(self, node: ast.AST | None, why: str) -> ExpressionError:
        token = ast.get_source_segment(self.text, node) if node is not None else None
        token = token if token is not None else type(node).__name__
        if len(token) > 60:
            token = token[:57] + "..."
        allowed = f"allowed: numbers, the variables {sorted(self.vars)}, + - * / **, {', '.join(FUNCTIONS)}"
        return ExpressionError(f"{self.source}: {why} at {token!r} ({allowed})")

    def _check_size(self, node: ast.AST, value: Any) -> Any:
        if isinstance(value, sympy.Rational) and max(int(value.p).bit_length(), int(value.q).bit_length()) > MAX_BITS:
            raise self.fail(node, f"a number larger than {MAX_BITS} bits")
        return value

    def expr(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            if node.id in self.vars:
                return self.vars[node.id]
            raise self.fail(node, f"name {node.id!r} is not a declared variable")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.expr(node.operand, depth + 1)
            return self._check_size(node, -v if isinstance(node.op, ast.USub) else v)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self._pow(node, depth)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)
            if isinstance(node.op, ast.Div) and b == 0:
                raise self.fail(node, "division by zero")
            return self._check_size(node, _BINOPS[type(node.op)](a, b))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise self.fail(node, f"{type(node).__name__} is not allowed")

    def _number(self, node: ast.Constant) -> sympy.Rational:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(node, f"constant {v!r} is not a number")
        literal = ast.get_source_segment(self.text, node) or repr(v)
        if len(literal) > MAX_BITS // 3:
            raise self.fail(node, f"a number literal longer than {MAX_BITS // 3} characters")
        m = _DECIMAL.fullmatch(literal.replace("_", ""))
        if m is None:
            raise self.fail(node, "not a decimal number")
        if m.group(2) and abs(int(m.group(2)[1:])) > MAX_BITS // 3:
            raise self.fail(node, f"a decimal exponent beyond +-{MAX_BITS // 3}")
        q = Fraction(literal.replace("_", ""))
        return self._check_size(node, sympy.Rational(q.numerator, q.denominator))

    def _pow(self, node: ast.BinOp, depth: int) -> Any:
        base = self.expr(node.left, depth + 1)
        exp = self.expr(node.right, depth + 1)
        if not (isinstance(exp, sympy.Rational) and abs(exp.p) <= MAX_EXPONENT and exp.q in (1, 2)):
            raise self.fail(
                node.right,
                f"exponent must be a constant integer or half-integer with |numerator| <= {MAX_EXPONENT}",
            )
        if isinstance(base, sympy.Rational):
            if base == 0 and exp < 0:
                raise self.fail(node, "zero to a negative power")
            bits = max(int(base.p).bit_length(), int(base.q).bit_length())
            if bits * abs(int(exp.p)) > MAX_BITS * int(exp.q):
                raise self.fail(node, f"a number larger than {MAX_BITS} bits")
        return self._check_size(node, base**exp)

    def _call(self, node: ast.Call, depth: int) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            raise self.fail(node.func, "only calls of " + ", ".join(FUNCTIONS) + " are allowed")
        if node.keywords:
            raise self.fail(node.keywords[0], "keyword arguments are not allowed")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "starred arguments are not allowed")
        n = len(node.args)
        if name == "Piecewise":
            return self._piecewise(node, depth)
        if name in ("Abs", "sqrt") and n != 1 or name == "Rational" and n != 2 or name in ("Max", "Min") and n < 1:
            raise self.fail(node, f"wrong number of arguments ({n}) for {name}")
        args = [self.expr(a, depth + 1) for a in node.args]
        if name == "Rational":
            if not all(isinstance(a, sympy.Integer) for a in args) or args[1] == 0:
                raise self.fail(node, "Rational takes two integers, the second nonzero")
            return self._check_size(node, sympy.Rational(args[0], args[1]))
        if name == "sqrt":
            return self._check_size(node, sympy.sqrt(args[0]))
        if name == "Abs":
            return self._check_size(node, sympy.Abs(args[0]))
        return self._check_size(node, (sympy.Max if name == "Max" else sympy.Min)(*args))

    def _piecewise(self, node: ast.Call, depth: int) -> Any:
        pieces = []
        if not node.args:
            raise self.fail(node, "Piecewise needs at least one (expression, condition) pair")
        for arg in node.args:
            if not (isinstance(arg, ast.Tuple) and len(arg.elts) == 2):
                raise self.fail(arg, "Piecewise takes (expression, condition) pairs")
            pieces.append((self.expr(arg.elts[0], depth + 2), self.cond(arg.elts[1], depth + 2)))
        return sympy.Piecewise(*pieces)

    def cond(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant) and node.value is True:
            return sympy.true
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
                raise self.fail(node, "a condition compares two expressions with one of < <= > >=")
            return _COMPARE[type(node.ops[0])](
                self.expr(node.left, depth + 1), self.expr(node.comparators[0], depth + 1)
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            a, b = self.cond(node.left, depth + 1), self.cond(node.right, depth + 1)
            return sympy.And(a, b) if isinstance(node.op, ast.BitAnd) else sympy.Or(a, b)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _CONDITION_FUNCTIONS
            and not node.keywords
            and node.args
        ):
            parts = [self.cond(a, depth + 1) for a in node.args]
            return sympy.And(*parts) if node.func.id == "And" else sympy.Or(*parts)
        raise self.fail(node, "not a condition (expected a comparison, True, And, Or, & or |)")


def _tree(text: Any, source: str) -> tuple[str, ast.Expression]:
    if not isinstance(text, str):
        raise ExpressionError(f"{source}: an expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"{source}: expression of {len(text)} characters (at most {MAX_CHARS})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"{source}: not an expression ({err.msg} at {err.text!r})") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"{source}: expression too deeply nested or malformed") from None
    n = sum(1 for _ in ast.walk(tree))
    if n > MAX_NODES:
        raise ExpressionError(f"{source}: expression of {n} syntax nodes (at most {MAX_NODES})")
    return text.strip(), tree


def _variables(names: Sequence[Any], source: str) -> dict[str, sympy.Symbol]:
    if len(names) > MAX_VARIABLES:
        raise ExpressionError(f"{source}: {len(names)} variables declared; at most {MAX_VARIABLES} (the largest d)")
    out: dict[str, sympy.Symbol] = {}
    for n in names:
        if not (isinstance(n, str) and _NAME.fullmatch(n) and n not in FUNCTIONS and n not in _CONDITION_FUNCTIONS):
            raise ExpressionError(f"{source}: variable name {n!r} is not allowed (a letter, then letters, digits, _)")
        if n in out:
            raise ExpressionError(f"{source}: variable {n!r} declared twice")
        out[n] = sympy.Symbol(n, real=True)
    return out


def parse_expression(text: Any, variables: Sequence[str], source: str = "<expression>") -> sympy.Expr:
    """The sympy expression of ``text`` over the declared real ``variables``, by the allow-list grammar above."""
    env = _variables(list(variables), source)
    text, tree = _tree(text, source)
    b = _Builder(text, env, source)
    try:
        out = b.expr(tree.body, 0)
    except RecursionError:
        raise ExpressionError(f"{source}: expression too deeply nested") from None
    if not isinstance(out, sympy.Expr):
        raise ExpressionError(f"{source}: {text[:60]!r} is not an arithmetic expression")
    return out


def parse_number(text: Any, source: str = "<number>") -> sympy.Expr:
    """A closed-form real number (the same grammar without variables, e.g. ``"sqrt(2)/4"``, ``"-3/7"``, ``5``)."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    out = parse_expression(text, [], source)
    if out.free_symbols or not out.is_real:
        raise ExpressionError(f"{source}: {text!r} is not a real number")
    return out
