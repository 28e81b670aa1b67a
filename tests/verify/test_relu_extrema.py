"""MILP and z3 global extrema of random small ReLU networks agree with each other and with grid search."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from counterexamples.verify import _relu, evaluate, parse_relu_net, relu_net_extrema


def _random_spec(rng: np.random.Generator, d: int, hidden: list[int]) -> dict:
    sizes = [d, *hidden, 1]
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        W = rng.integers(-8, 9, size=(n_out, n_in)) / 4  # exact dyadic rationals
        b = rng.integers(-8, 9, size=n_out) / 4
        layers.append({"W": [[str(Fraction(v)) for v in row] for row in W], "b": [str(Fraction(v)) for v in b]})
    return {"kind": "relu_net", "layers": layers}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), d=st.integers(1, 3), depth=st.integers(1, 2), width=st.integers(2, 8))
@example(seed=8602, d=3, depth=2, width=5)  # the MILP's float argmax once rounded off the optimal vertex
@example(seed=281, d=2, depth=2, width=8)  # HiGHS's presolve ended the cutoff MILP with "Solve error"
@example(seed=872295, d=1, depth=2, width=8)  # argmax 1 + 7.6e-7 (in HiGHS's tolerance), slope ~500
def test_milp_z3_and_grid_agree(seed, d, depth, width):
    rng = np.random.default_rng(seed)
    spec = _random_spec(rng, d, [width] * depth)
    net = parse_relu_net(spec)
    milp = relu_net_extrema(spec, "milp")
    z3r = relu_net_extrema(spec, "z3")
    assert milp["max_confirmed"] and milp["min_confirmed"]
    assert milp["max"] == z3r["max"] and milp["min"] == z3r["min"]
    # the argmax really attains the maximum, in exact arithmetic
    assert evaluate(net, milp["argmax"]) == milp["max"] and evaluate(net, z3r["argmin"]) == z3r["min"]
    n = {1: 401, 2: 41, 3: 13}[d]
    axis = [Fraction(i, n - 1) for i in range(n)]
    vals = [evaluate(net, list(p)) for p in itertools.product(axis, repeat=d)]
    assert max(vals) <= milp["max"] and min(vals) >= milp["min"]  # grid never beyond the certified extrema
    span = max(float(milp["max"] - milp["min"]), 1.0)
    assert float(milp["max"] - max(vals)) <= 0.6 * span and float(min(vals) - milp["min"]) <= 0.6 * span


def test_milp_max_at_a_non_dyadic_vertex_is_exact():
    # f(y) = y - 2 relu(3y - 1): max 1/3 at y = 1/3, which no float represents; the MILP's float argmax is
    # snapped to the exact vertex of its activation region
    spec = {"kind": "relu_net", "layers": [{"W": [["1"], ["3"]], "b": ["0", "-1"]}, {"W": [["1", "-2"]], "b": ["0"]}]}
    milp, z3r = relu_net_extrema(spec, "milp"), relu_net_extrema(spec, "z3")
    assert milp["max"] == z3r["max"] == Fraction(1, 3) and milp["argmax"] == [Fraction(1, 3)]
    assert milp["min"] == z3r["min"] == -3


NEAR_TIE = Fraction(1, 10**7)


def near_tie_spec() -> dict:
    """Two tents: height 1/2 at y = 1/4, height 1/2 + 1e-7 at y = 3/4."""
    return {
        "kind": "relu_net",
        "layers": [
            {"W": [["1"], ["-1"], ["1"], ["-1"]], "b": ["-1/4", "1/4", "-3/4", "3/4"]},
            {"W": [["-2", "-2", "0", "0"], ["0", "0", "-4", "-4"]], "b": ["1/2", str(Fraction(1, 2) + NEAR_TIE)]},
            {"W": [["1", "1"]], "b": ["0"]},
        ],
    }


def test_milp_beats_a_near_tie_incumbent(monkeypatch):
    # started from the lower tent (as if sampling had missed the other), the cutoff MILP must still find the
    # higher one: a 1e-5 confirmation margin alone would accept 1/2
    delta, spec = NEAR_TIE, near_tie_spec()
    original = _relu._incumbent

    def low_incumbent(net, sense, **kw):
        return (Fraction(1, 2), [Fraction(1, 4)]) if sense == "max" else original(net, sense, **kw)

    monkeypatch.setattr(_relu, "_incumbent", low_incumbent)
    milp = relu_net_extrema(spec, "milp")
    assert milp["max"] == Fraction(1, 2) + delta == relu_net_extrema(spec, "z3")["max"]
    assert milp["argmax"] == [Fraction(3, 4)] and milp["min"] == 0


def test_milp_constant_network_without_binaries():
    # every neuron stable: the "MILP" is an LP, certified by its optimum instead of a MIP dual bound
    layers = [{"W": [["0"], ["0"]], "b": ["1", "2"]}, {"W": [["-2", "-3/2"]], "b": ["5/4"]}]
    spec = {"kind": "relu_net", "layers": layers}
    out = relu_net_extrema(spec, "milp")
    assert out["max"] == out["min"] == Fraction(-15, 4) and out["max_milp_solves"] == 1
