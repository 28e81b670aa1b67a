"""The verifier's exact number tests never use a floating-point guess: ``sympy.nsimplify`` reads
1351079888211149/2^53 (the float 0.1 * 1.5) as 3/20, so a witness value compared through it could pass or fail for
the wrong reason. ``is_zero``, ``sign`` and ``exact_form`` decide exactly."""

from __future__ import annotations

from fractions import Fraction

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from counterexamples.verify._exact import equal, exact_form, is_zero, sign, within
from counterexamples.verify._witness import SpecWitness

BINARY = sympy.Rational(1351079888211149, 2**53)  # the float 0.15000000000000002 exactly


def test_nsimplify_guess_is_not_trusted():
    assert sympy.nsimplify(BINARY) == sympy.Rational(3, 20)  # the trap
    assert exact_form(BINARY) == BINARY
    assert not equal(BINARY, sympy.Rational(3, 20))
    assert sign(BINARY - sympy.Rational(3, 20)) == 1
    assert not within(BINARY, sympy.Rational(3, 20), Fraction(1, 10**18))
    assert within(BINARY, sympy.Rational(3, 20), Fraction(1, 10**16))


def test_witness_value_is_exact():
    w = SpecWitness({"kind": "sympy", "expr": "1351079888211149/9007199254740992 * x0", "vars": ["x0"]})
    assert w.value([Fraction(1)]) == BINARY


def test_zero_and_radicals():
    assert is_zero(sympy.sqrt(2) * sympy.sqrt(3) - sympy.sqrt(6))
    assert exact_form(sympy.sqrt(8) / 4) == sympy.sqrt(2) / 2
    assert sign(sympy.sqrt(2) - sympy.Rational(141421356237309505, 10**17)) == -1
    assert sign(sympy.sqrt(2) - sympy.Rational(141421356237309504, 10**17)) == 1


@settings(max_examples=60, deadline=None)
@given(st.fractions(-3, 3), st.integers(40, 80), st.sampled_from([2, 3, 5, 7]))
def test_tiny_differences_are_seen(q, k, r):
    """Property: a closed form differs from itself plus 2^-k (k up to 80) in sign and equality, exactly."""
    a = sympy.Rational(q.numerator, q.denominator) + sympy.sqrt(r)
    b = a + sympy.Rational(1, 2**k)
    assert not equal(a, b) and equal(a, a + 0)
    assert sign(b - a) == 1 and sign(a - b) == -1
