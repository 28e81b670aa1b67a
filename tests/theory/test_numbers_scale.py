"""Floats read back as the rationals they stand for at every scale, so certificates verify at small L and Delta."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fvtrust import cli
from theory._numbers import to_fraction


@given(
    p=st.integers(1, 10**4), q=st.integers(1, 10**4), e=st.integers(-15, 0), sign=st.sampled_from([1, -1])
)  # fmt: skip
def test_a_simple_rational_at_any_decade_reads_back_exactly(p: int, q: int, e: int, sign: int) -> None:
    value = sign * Fraction(p, q) * Fraction(10) ** e
    x = float(value)
    got = to_fraction(x)
    assert float(got) == x  # never another float
    if Fraction(p, q) < 10 and Fraction(p, q) >= 1 or e == 0 and value.denominator <= 10**6:
        assert got == value, (value, got)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_every_float_reads_as_a_rational_with_the_same_float(x: float) -> None:
    assert float(to_fraction(x)) == x


@pytest.mark.parametrize("L", ["1e-6", "3e-9"])
def test_smooth_certificates_verify_at_small_L(L: str) -> None:
    """At L = 1e-6 a denominator-10^6 snap read Delta = 1/2000000 as a binary fraction and the witness failed."""
    for d in ("1", "2"):
        assert cli.main(["check", "smooth", "--d", d, "--L", L, "--json"]) == 0
