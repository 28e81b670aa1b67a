"""Witness and certificate expressions are data: an allow-list grammar, never Python evaluation (issue 23.1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from counterexamples.verify import (
    ExpressionError,
    load_certificate,
    parse_expression,
    parse_number,
    verify_counterexample,
    verify_file,
    verify_witness,
    verify_yes_proof,
)

ROOT = Path(__file__).resolve().parents[2]
FV1 = {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"}


def _attack(marker: Path) -> str:
    return f"__import__('os').system('touch {marker}') or x0"


def _cert(expr: str) -> dict:
    return {
        "class": "black_box",
        "params": {"d": 1},
        "question": "exact",
        "fv": FV1,
        "x": ["1/2"],
        "witnesses": [{"kind": "sympy", "expr": expr, "vars": ["x0"]}, {"kind": "sympy", "expr": "x0", "vars": ["x0"]}],
        "values_at_x": ["1/2", "1/2"],
    }


def test_code_in_a_certificate_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    rep = verify_counterexample(_cert(_attack(marker)), source="evil.json")
    assert not rep.ok
    detail = next(c.detail for c in rep.checks if not c.ok)
    assert "evil.json" in detail and "__import__" in detail
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(_cert(_attack(marker))))
    with pytest.raises(ValueError, match=r"evil\.json.*__import__"):
        verify_file(path)
    assert not verify_witness({"kind": "sympy", "expr": _attack(marker), "vars": ["x0"]}, FV1, "black_box", {}).ok
    dec = {"class": "constant", "params": {"d": 1}, "decoder": {"expr": _attack(marker), "vars": ["x0"]}}
    assert not verify_yes_proof(dec).ok
    assert not marker.exists(), "the witness expression ran a shell command"


def test_code_in_a_claimed_value_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    cert = _cert("x0")
    cert["values_at_x"][0] = f"__import__('os').system('touch {marker}')"
    assert not verify_counterexample(cert).ok
    path = tmp_path / "v.json"
    path.write_text(json.dumps(cert))
    with pytest.raises(ValueError, match=r"v\.json: values_at_x\[0\]"):
        load_certificate(path)
    assert not marker.exists()


def test_the_generators_read_specs_by_the_same_grammar(tmp_path):
    marker = tmp_path / "pwned"
    code = (
        "from counterexamples import sympy_expr\n"
        f"sympy_expr({{'kind': 'sympy', 'expr': {_attack(marker)!r}, 'vars': ['x0']}})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode != 0 and "ExpressionError" in out.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    "text,token",
    [
        ("x0.real", "x0.real"),  # attribute access
        ("(lambda: x0)()", "lambda"),
        ("x0[0]", "x0[0]"),  # subscript
        ("y + 1", "'y'"),  # a name that is not a declared variable
        ("exp(x0)", "exp"),  # a function outside the list
        ("Symbol('x0')", "Symbol"),
        ("10**10**10", "10**10"),  # exponent too large
        ("2**64**2", "64**2"),
        ("x0**x0", "exponent"),  # non-constant exponent
        ("x0**(1/3)", "exponent"),  # only integer and half-integer exponents
        ("(10**60)**60", "bits"),  # number too large
        ("1e100000000", "decimal exponent"),
        ("9" * 2000, "literal"),
        ("'text'", "not a number"),
        ("x0 if x0 else 1", "IfExp"),
        ("[x0]", "List"),
        ("{x0: 1}", "Dict"),
        ("x0 and 1", "BoolOp"),
        ("x0 == 1", "Compare"),
        ("Max(x0, key=abs)", "keyword"),
        ("Max(*[x0])", "starred"),
        ("0x10", "decimal"),
        ("1j", "not a number"),
        ("Rational(1, x0)", "integers"),
        ("1/0", "division by zero"),
        ("Piecewise((x0, __import__('os')))", "condition"),
        ("import os", "not an expression"),
        ("(" * 300 + "x0" + ")" * 300, "nested"),
        ("+".join(["x0"] * 30000), "nested"),
        ("Max(" + "1," * 25000 + "x0)", "nodes"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else None,
)
def test_everything_outside_the_grammar_is_refused_naming_the_file_and_token(text, token):
    with pytest.raises(ExpressionError) as err:
        parse_expression(text, ["x0"], "cert.json")
    msg = str(err.value)
    assert msg.startswith("cert.json:") and "\n" not in msg
    assert token in msg


def test_bad_variable_declarations_are_refused():
    for names in (["__import__"], ["x0", "x0"], ["Max"], ["a b"], [3]):
        with pytest.raises(ExpressionError, match="w.json"):
            parse_expression("1", names, "w.json")


def test_numbers_are_exact():
    assert parse_number("0.1") == sympy.Rational(1, 10)
    assert parse_number("sqrt(2)/4") == sympy.sqrt(2) / 4
    assert parse_number("Rational(-3, 7)") == sympy.Rational(-3, 7)
    assert parse_number("1e-3") == sympy.Rational(1, 1000)
    with pytest.raises(ExpressionError, match="'x0' is not a declared variable"):
        parse_number("x0")
    with pytest.raises(ExpressionError, match="not a real number"):
        parse_number("sqrt(-2)")


def test_the_project_witnesses_parse_to_the_same_objects(tmp_path):
    """Round trip of every exported witness: ``fvtrust table --extended --export-witnesses`` (the project's own
    files, so the reference sympify runs on trusted text); the parsed object equals it exactly, and every file
    verifies through ``verify_file``."""
    out = subprocess.run(
        [sys.executable, "-m", "fvtrust", "table", "--extended", "--no-verify", "--no-compare"]
        + ["--out", str(tmp_path / "t"), "--export-witnesses", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "w").glob("*.json"))
    assert len(files) >= 30
    n = 0
    for f in files:
        doc = json.loads(f.read_text())
        for spec in doc["witnesses"]:
            if spec["kind"] != "sympy":
                continue
            syms = {v: sympy.Symbol(v, real=True) for v in spec["vars"]}
            ref = sympy.sympify(spec["expr"], locals=syms, rational=True)  # trusted: our own export
            assert parse_expression(spec["expr"], spec["vars"], str(f)) == ref, f
            n += 1
    assert n >= 40
    for f in files[::5]:
        assert verify_file(f).ok, f


_X = [sympy.Symbol(f"x{k}", real=True) for k in range(3)]
_rat = st.builds(sympy.Rational, st.integers(-50, 50), st.integers(1, 30))


def _sqrt_free(e) -> bool:  # noqa: ANN001
    return all(p.exp.q == 1 for p in e.atoms(sympy.Pow) if isinstance(p.exp, sympy.Rational))


def _extend(children):
    two = st.tuples(children, children)
    return st.one_of(
        two.map(lambda t: t[0] + t[1]),
        two.map(lambda t: t[0] - t[1]),
        two.map(lambda t: t[0] * t[1]),
        st.tuples(children, _rat.filter(lambda r: r != 0)).map(lambda t: t[0] / t[1]),
        st.tuples(children, st.integers(-3, 4)).map(lambda t: t[0] ** t[1] if t[0] != 0 or t[1] >= 0 else t[0]),
        children.map(lambda a: -a),
        st.lists(children, min_size=1, max_size=3).map(lambda a: sympy.Max(*a)),
        st.lists(children, min_size=1, max_size=3).map(lambda a: sympy.Min(*a)),
        children.map(sympy.Abs),
        # sqrt of a sqrt-free term: sqrt(sqrt(2)) prints as 2**(1/4), an exponent the grammar refuses by design
        # (integer or half-integer only); the project never writes nested square roots
        children.filter(_sqrt_free).map(lambda a: sympy.sqrt(sympy.Abs(a) + 1)),
        st.tuples(children, children, _rat).map(lambda t: sympy.Piecewise((t[0], _X[0] <= t[2]), (t[1], True))),
    )


# sympy may fold a piece into a non-finite constant (Piecewise((zoo, x0 <= 0), (1/x0, True)) from a reciprocal whose
# base vanishes on the piece); the grammar refuses zoo, oo and nan by design (test_non_finite_constants_are_refused)
_NON_FINITE = (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan)
_exprs = st.recursive(st.one_of(_rat, st.sampled_from(_X)), _extend, max_leaves=12).filter(
    lambda e: not e.has(*_NON_FINITE)
)


@pytest.mark.parametrize("text", ["zoo", "oo", "-oo", "nan", "Piecewise((zoo, x0 <= 0), (1/x0, True))"])
def test_non_finite_constants_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError, match="h.json"):
        parse_expression(text, ["x0", "x1", "x2"], "h.json")


@settings(max_examples=200, deadline=None)
@given(_exprs)
def test_printed_expressions_round_trip(e):
    """Any expression of the grammar's constructs, printed by sympy, parses to the object sympy's own reader builds
    (the reference runs on text this test made), and printing and parsing again is the identity."""
    text = str(e)
    names = ["x0", "x1", "x2"]
    ref = sympy.sympify(text, locals={s.name: s for s in _X}, rational=True)
    got = parse_expression(text, names, "h.json")
    assert got == ref
    assert parse_expression(str(got), names, "h.json") == got
