"""Bad inputs are rejected with one-line messages naming the value and what is allowed."""

from __future__ import annotations

import math

import pytest

from fvtrust.cli import main
from theory import FeatureVisualization, check_class, value_range

FV = FeatureVisualization([1.0], 1.0, [0.0], 0.0)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: check_class("nope"), r"unknown function class 'nope'; valid classes: affine, black_box"),
        (lambda: check_class("lipschitz", L=0), r"L = 0 is not allowed"),
        (lambda: check_class("lipschitz", L=-2.0), r"L = -2.0 is not allowed"),
        (lambda: check_class("lipschitz", L=math.inf), r"L = inf is not allowed"),
        (lambda: check_class("lipschitz", L=1, norm=3), r"norm = 3 is not allowed; the norm must be 1, 2 or inf"),
        (lambda: check_class("convex", d=0), r"d = 0 is not allowed; d must be an integer >= 1"),
        (lambda: check_class("convex", d=1.5), r"d = 1.5 is not allowed"),
        (lambda: check_class("convex", q=1), r"unknown parameter\(s\) q for class 'convex'"),
        (lambda: check_class("convex", eps=0.7), r"eps = 0.7 is not allowed"),
        (lambda: value_range("lipschitz", FV, [1.5]), r"x = \[1.5\] is outside the domain \[0,1\]\^1"),
        (lambda: value_range("lipschitz", FV, [0.5, 0.5]), r"x has dimension 2, but the input dimension is d = 1"),
        (lambda: FeatureVisualization([0.2], 1.0, [0.3], math.nan), r"f_min = nan is not finite"),
        (lambda: FeatureVisualization([0.2], 0.0, [0.3], 1.0), r"f_min = 1.0 is larger than f_max = 0.0"),
        (lambda: FeatureVisualization([0.2], 1.0, [-0.3], 0.0), r"x_min = \[-0.3\] is outside the domain"),
        (lambda: FeatureVisualization([math.inf], 1.0, [0.3], 0.0), r"x_max = \[inf\] has a non-finite coordinate"),
        (lambda: value_range("lipschitz", FV, [0.5], L=0.5), r"no 0.5-Lipschitz function"),
        (lambda: value_range("convex", FeatureVisualization([0.5], 1.0, [0.0], 0.0), [0.2]), r"no convex function"),
        (lambda: value_range("constant", FV, [0.2]), r"a constant function cannot take different values"),
        (lambda: value_range("affine", FeatureVisualization([0.5], 1.0, [0.0], 0.0), [0.2]), r"no affine function"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "nope"],
        ["check", "lipschitz", "--L", "0"],
        ["check", "lipschitz", "--norm", "7"],
        ["check", "convex", "--d", "0"],
        ["check", "lipschitz", "--x-max", "2", "--f-max", "1", "--x-min", "0", "--f-min", "0", "--x", "0.5"],
        ["check", "lipschitz", "--x-max", "1", "--f-max", "1"],
        ["check", "lipschitz", "--x-max", "a,b", "--f-max", "1", "--x-min", "0", "--f-min", "0", "--x", "0.5"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors (e.g. a point that does not parse) also exit with 2
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_cli_check_instance_and_json(capsys):
    import json

    assert (
        main(
            [
                "check",
                "lipschitz",
                "--L",
                "1",
                "--x-max",
                "1",
                "--f-max",
                "1",
                "--x-min",
                "0",
                "--f-min",
                "0",
                "--x",
                "0.2",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["answers"]["exact"]["verdict"] == "yes"  # L = Delta/|x_max - x_min| forces f(x) = x
    assert data["answers"]["exact"]["certificate"]["lo"] == pytest.approx(0.2)
