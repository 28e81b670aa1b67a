"""SPEC parsing: ranges and lists, random draws with a recorded seed, limits checked before expanding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from empirical.sweep import MAX_ITEMS, parse_spec

ranges = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 50)).map(lambda t: (t[0], t[0] + t[1])), min_size=1, max_size=8
)


@given(ranges, st.booleans())
def test_ranges_and_lists_expand_in_order_without_repeats(parts: list[tuple[int, int]], spaces: bool) -> None:
    text = (", " if spaces else ",").join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)
    expected = list(dict.fromkeys(i for a, b in parts for i in range(a, b + 1)))
    spec = parse_spec(text)
    assert not spec.is_random
    assert spec.resolve() == expected
    assert spec.resolve(max(expected) + 1) == expected


@given(st.integers(1, 200), st.integers(0, 2**31 - 1), st.integers(0, 300))
def test_random_draws_are_distinct_sorted_in_range_and_reproducible(count: int, seed: int, extra: int) -> None:
    n = count + extra
    spec = parse_spec(f"random:{count}@{seed}")
    assert spec.is_random and spec.random_count == count and spec.random_seed == seed
    units = spec.resolve(n)
    assert units == sorted(set(units)) and len(units) == count and all(0 <= u < n for u in units)
    assert parse_spec(f"random:{count}@{seed}").resolve(n) == units


def test_random_seed_defaults_to_zero_and_changes_the_draw() -> None:
    assert parse_spec("random:5").random_seed == 0
    assert parse_spec("random:5").resolve(1000) == parse_spec("random:5@0").resolve(1000)
    assert parse_spec("random:5@1").resolve(1000) != parse_spec("random:5@0").resolve(1000)


@pytest.mark.parametrize(
    "text",
    ["", " ", "a", "1,,2", "5-3", "-1", "1-", "1.5", "0-99x", "random:", "random:0", "random:3@", "random:3@-1",
     f"0-{MAX_ITEMS}", f"0-{MAX_ITEMS // 2},0-{MAX_ITEMS // 2}", "99999999999"],
)  # fmt: skip
def test_bad_specs_raise_one_line_naming_the_argument(text: str) -> None:
    with pytest.raises(ValueError, match="^--units") as err:
        parse_spec(text, "--units")
    assert "\n" not in str(err.value)


def test_random_is_refused_for_seeds_and_out_of_range_units_are_named() -> None:
    with pytest.raises(ValueError, match="--seeds.*not allowed"):
        parse_spec("random:3", "--seeds", allow_random=False)
    with pytest.raises(ValueError, match="index 10 out of range.*10 units"):
        parse_spec("8-10").resolve(10)
    with pytest.raises(ValueError, match="cannot draw 11 of 10"):
        parse_spec("random:11").resolve(10)


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        spec = parse_spec(text)
    except ValueError:
        return
    assert spec.is_random or len(spec.indices or ()) >= 1
