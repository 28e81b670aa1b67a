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


@pytest.mark.parametrize("L", ["1e-9", "1e-4", "1e4"])
def test_convex_lipschitz_certificates_verify_at_every_scale(L: str) -> None:
    """The LP witnesses are solved at Delta = 1 and mapped back exactly (MaxAffineWitness.affine_image): a float
    image failed f(x_max) = f_max by 1e-21 at L = 1e-4."""
    assert cli.main(["check", "convex_lipschitz", "--d", "1", "--L", L, "--json"]) == 0


def test_lp_vertex_snapping_never_moves_the_optimum() -> None:
    """A vertex at 1.50001 must not be snapped to the feasible but smaller 3/2 (the range would be too narrow)."""
    import numpy as np

    from theory import FeatureVisualization, get_class

    convex = get_class("convex", d=2)
    obs = FeatureVisualization([0.25, 1.0], 2.0, [0.25, 0.625], 1.0).observations()
    x = np.array([0.51998979, 0.31249367])
    assert convex._value_range_lp(obs, x).hi == pytest.approx(convex._value_range(obs, x).hi, abs=1e-8)
