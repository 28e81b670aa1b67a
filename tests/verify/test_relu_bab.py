"""Branch and bound on the input box: sound bounds, exact arithmetic on integers, and extrema equal to the MILP's
and z3's."""

from __future__ import annotations

import itertools
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterexamples.verify import _bab, _relu, evaluate, parse_relu_net, relu_net_extrema
from counterexamples.verify._exact_int import ExactNet, snap
from counterexamples.verify._relax import Bounder

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from bench_relu_max import spec as bench_spec  # noqa: E402
from test_relu_extrema import NEAR_TIE, _random_spec, near_tie_spec  # noqa: E402  (tests/verify is on sys.path)


def _forward(Ws: list[np.ndarray], bs: list[np.ndarray], Y: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    h, pre = Y, []
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = h @ W.T + b
        if i < len(Ws) - 1:
            pre.append(z)
        h = np.maximum(z, 0) if i < len(Ws) - 1 else z
    return h[:, 0], pre


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 4), depth=st.integers(0, 3), width=st.integers(1, 12))
def test_bounds_contain_every_value_in_the_box(seed, d, depth, width):
    """On random boxes, the upper bound is at least f at every sampled point of the box, and every hidden
    pre-activation lies within its bounds; where the bound reports no unstable neuron, its linear form is f."""
    rng = np.random.default_rng(seed)
    Ws, bs = _relu._floats(parse_relu_net(_random_spec(rng, d, [width] * depth)))
    a, b = rng.random((2, 6, d))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    bounds = Bounder(Ws, bs).bound(lo, hi)
    for i in range(len(lo)):
        Y = lo[i] + rng.random((300, d)) * (hi[i] - lo[i])
        f, pre = _forward(Ws, bs, Y)
        assert f.max() <= bounds.ub[i]
        for z, (pl, pu) in zip(pre, bounds.pre, strict=True):
            assert (z >= pl[i]).all() and (z <= pu[i]).all()
        if bounds.n_unstable[i] == 0:
            c0 = f[0] - Y[0] @ bounds.A[i]
            np.testing.assert_allclose(f, Y @ bounds.A[i] + c0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 5), width=st.integers(1, 10))
def test_integer_arithmetic_equals_fractions(seed, d, width):
    """Evaluation on scaled integers equals the Fraction evaluation, and a snapped point is exact and no worse
    than the snap of the Fraction code."""
    rng = np.random.default_rng(seed)
    net = parse_relu_net(_random_spec(rng, d, [width, width]))
    ex = ExactNet(net)
    for y in rng.random((5, d)):
        point = [Fraction(float(t)).limit_denominator(1000) for t in y]
        assert ex.evaluate(point) == evaluate(net, point)
        value, exact = snap(ex, y)
        assert value == evaluate(net, exact) and all(0 <= t <= 1 for t in exact)
        assert value >= _relu._snap(net, y, "max")[0]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), d=st.integers(1, 3), depth=st.integers(1, 3), width=st.integers(2, 8))
def test_bab_equals_milp_z3_and_grid(seed, d, depth, width):
    rng = np.random.default_rng(seed)
    spec = _random_spec(rng, d, [width] * depth)
    net = parse_relu_net(spec)
    bab = relu_net_extrema(spec, "bab")
    z3r = relu_net_extrema(spec, "z3")
    assert bab["max"] == z3r["max"] and bab["min"] == z3r["min"]
    assert evaluate(net, bab["argmax"]) == bab["max"] and evaluate(net, bab["argmin"]) == bab["min"]
    n = {1: 201, 2: 31, 3: 11}[d]
    axis = [Fraction(i, n - 1) for i in range(n)]
    vals = [evaluate(net, list(p)) for p in itertools.product(axis, repeat=d)]
    assert max(vals) <= bab["max"] and min(vals) >= bab["min"]


@pytest.mark.parametrize("width, seed", [(16, 1), (20, 0), (24, 0), (24, 1)])
def test_bab_equals_milp_on_benchmark_networks(width, seed):
    """d = 8, two hidden layers: the networks of benchmarks/bench_relu_max.py, where branch and bound splits
    thousands of boxes and finishes tens of them by MILP."""
    spec = bench_spec(8, width, seed)
    bab, milp = relu_net_extrema(spec, "bab"), relu_net_extrema(spec, "milp")
    assert (bab["max"], bab["min"]) == (milp["max"], milp["min"])
    assert bab["max_search"]["boxes"] + bab["min_search"]["boxes"] > 1000


def test_bab_max_at_a_non_dyadic_vertex_is_exact():
    # f(y) = y - 2 relu(3y - 1): max 1/3 at y = 1/3, which no box corner reaches
    spec = {"kind": "relu_net", "layers": [{"W": [["1"], ["3"]], "b": ["0", "-1"]}, {"W": [["1", "-2"]], "b": ["0"]}]}
    out = relu_net_extrema(spec, "bab")
    assert out["max"] == Fraction(1, 3) and out["argmax"] == [Fraction(1, 3)] and out["min"] == -3


def test_bab_beats_a_near_tie_incumbent(monkeypatch):
    """Two tents of heights 1/2 and 1/2 + 1e-7: started from the lower one, the search must find the higher."""
    original = _bab.incumbent

    def low(ex, **kw):
        v, y = original(ex, **kw)
        return (Fraction(1, 2), [Fraction(1, 4)]) if v > Fraction(1, 4) else (v, y)

    monkeypatch.setattr(_bab, "incumbent", low)
    out = relu_net_extrema(near_tie_spec(), "bab")
    assert out["max"] == Fraction(1, 2) + NEAR_TIE and out["argmax"] == [Fraction(3, 4)]


def test_bab_constant_and_affine_networks():
    layers = [{"W": [["0"], ["0"]], "b": ["1", "2"]}, {"W": [["-2", "-3/2"]], "b": ["5/4"]}]
    constant = {"kind": "relu_net", "layers": layers}
    out = relu_net_extrema(constant, "bab")
    assert out["max"] == out["min"] == Fraction(-15, 4)
    affine = {"kind": "relu_net", "layers": [{"W": [["1/2", "-3", "1"]], "b": ["1/3"]}]}
    out = relu_net_extrema(affine, "bab")
    assert out["max"] == Fraction(1, 2) + 1 + Fraction(1, 3) and out["argmax"] == [1, 0, 1]
    assert out["min"] == Fraction(1, 3) - 3 and out["argmin"] == [0, 1, 0]


def test_bab_bad_sense():
    with pytest.raises(ValueError, match="'max' or 'min'"):
        _bab.bab_extremum(parse_relu_net(bench_spec(2, 3, 0)), "argmax")
