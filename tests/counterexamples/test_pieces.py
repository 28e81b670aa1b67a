"""ReLU-network witnesses as continuous piecewise-affine functions given by their pieces: the pieces of every
generated piecewise_affine / neural_network witness pass the exact checks, equal the network and carry the
certificate's visualization; broken pieces are rejected."""

from __future__ import annotations

import ast
import copy
import functools
import json
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import counterexamples
from counterexamples import evaluate_pieces, pieces_of, pieces_to_sympy, write_witnesses
from counterexamples.verify import (
    evaluate,
    parse_pieces,
    parse_relu_net,
    pieces_extrema,
    verify_counterexample,
    verify_pieces,
    verify_witness,
)

ROOT = Path(__file__).resolve().parents[2]
CASES = [(c, d) for c in ("piecewise_affine", "neural_network") for d in (1, 2, 3)]


@functools.cache
def _cx(cls: str, d: int) -> counterexamples.Counterexample:
    return counterexamples.generate(cls, d=d)


def _failed(rep) -> list[str]:
    return [c.name for c in rep.checks if not c.ok]


def _random_points(d: int, n: int, seed: int = 0) -> list[list[Fraction]]:
    rng = random.Random(seed)
    pts = [[Fraction(rng.randint(0, 96), 96) for _ in range(d)] for _ in range(n)]  # hits breakpoints too
    return pts + [[Fraction(rng.randint(0, 10**6), 10**6) for _ in range(d)] for _ in range(n)]


@pytest.mark.parametrize("cls,d", CASES, ids=[f"{c}-d{d}" for c, d in CASES])
def test_generated_witnesses_as_pieces(cls, d):
    cx = _cx(cls, d)
    cert = cx.to_certificate()
    fv = cert["fv"]
    as_pieces = []
    for spec, net_t, claimed in zip(cert["witnesses"], (cx.f, cx.g), cert["values_at_x"], strict=True):
        P = pieces_of(spec)
        assert P["kind"] == "pwa_pieces" and P["d"] == d
        assert all(isinstance(v, str) for p in P["pieces"] for v in (*p["c"], *p["w"], p["b"], *sum(p["A"], [])))
        rep = verify_pieces(P, relu_spec=spec, fv=fv)
        assert rep.ok, _failed(rep)
        names = {c.name for c in rep.checks}
        assert {"pieces cover [0,1]^d", "pieces equal the network", "global max = f_max"} <= names
        # exact agreement with the network at random rational points
        net = parse_relu_net(spec)
        for y in _random_points(d, 40):
            assert evaluate_pieces(P, y) == evaluate(net, y)
        # float batch evaluation agrees with the torch network
        Y = np.random.default_rng(1).random((200, d))
        with torch.no_grad():
            want = net_t(torch.tensor(Y))[:, 0].numpy()
        np.testing.assert_allclose(evaluate_pieces(P, Y), want, atol=1e-12)
        # the certificate's visualization and value at x, read off the pieces
        ext = pieces_extrema(parse_pieces(P))
        assert ext["max"] == Fraction(fv["f_max"]) and ext["min"] == Fraction(fv["f_min"])
        assert evaluate_pieces(P, fv["x_max"]) == Fraction(fv["f_max"])
        assert evaluate_pieces(P, fv["x_min"]) == Fraction(fv["f_min"])
        assert evaluate_pieces(P, cert["x"]) == Fraction(claimed)
        as_pieces.append(P)
    # the whole certificate with the pieces in place of the networks
    cert2 = copy.deepcopy(cert)
    cert2["witnesses"] = as_pieces
    rep = verify_counterexample(cert2)
    assert rep.ok, _failed(rep)


@pytest.mark.parametrize("cls", ["piecewise_affine", "neural_network"])
def test_breakpoint_form_in_d1(cls):
    cert = _cx(cls, 1).to_certificate()
    cert2 = copy.deepcopy(cert)
    cert2["witnesses"] = []
    for spec in cert["witnesses"]:
        B = pieces_of(spec, form="1d")
        assert B["kind"] == "pwa_1d" and B["breakpoints"][0] == "0" and B["breakpoints"][-1] == "1"
        rep = verify_pieces(B, relu_spec=spec, fv=cert["fv"])
        assert rep.ok, _failed(rep)
        net = parse_relu_net(spec)
        for y in _random_points(1, 30):
            assert evaluate_pieces(B, y) == evaluate(net, y)
        cert2["witnesses"].append(B)
    assert verify_counterexample(cert2).ok
    with pytest.raises(ValueError, match="d = 1"):
        pieces_of(_cx(cls, 2).to_certificate()["witnesses"][0], form="1d")


def test_sympy_piecewise():
    spec = _cx("piecewise_affine", 2).to_certificate()["witnesses"][1]
    P = pieces_of(spec)
    expr = pieces_to_sympy(P)
    assert isinstance(expr, sympy.Piecewise)
    xs = sympy.symbols("x0 x1", real=True)
    net = parse_relu_net(spec)
    for y in _random_points(2, 10):
        val = expr.subs({s: sympy.Rational(v.numerator, v.denominator) for s, v in zip(xs, y, strict=True)})
        assert val == sympy.Rational(*(lambda f: (f.numerator, f.denominator))(evaluate(net, y)))
    B = pieces_of(_cx("piecewise_affine", 1).to_certificate()["witnesses"][1], form="1d")
    e1 = pieces_to_sympy(B)
    assert e1.subs(sympy.Symbol("x0", real=True), sympy.Rational(1, 2)) == 1


def _spec_and_pieces():
    cert = _cx("piecewise_affine", 2).to_certificate()
    spec = cert["witnesses"][1]
    return cert, spec, pieces_of(spec)


def test_gap_in_the_cover_is_rejected():
    _, spec, P = _spec_and_pieces()
    bad = copy.deepcopy(P)
    del bad["pieces"][0]
    rep = verify_pieces(bad, relu_spec=spec)
    assert "pieces cover [0,1]^d" in _failed(rep)
    shrunk = copy.deepcopy(P)  # tighten one constraint: a sliver of the box is left uncovered
    p = next(p for p in shrunk["pieces"] if p["A"])
    p["c"][0] = str(Fraction(p["c"][0]) - Fraction(1, 64))
    assert "pieces cover [0,1]^d" in _failed(verify_pieces(shrunk))


def test_discontinuity_is_rejected():
    cert, spec, P = _spec_and_pieces()
    bad = copy.deepcopy(P)
    bad["pieces"][0]["b"] = str(Fraction(bad["pieces"][0]["b"]) + Fraction(1, 8))
    rep = verify_pieces(bad)
    assert "pieces agree where they meet (continuous)" in _failed(rep)
    # as a witness: not a member of the class
    rep = verify_witness(bad, cert["fv"], "piecewise_affine", cert["params"])
    assert not rep.ok and any("member of piecewise_affine" in n for n in _failed(rep))


def test_changed_slope_disagrees_with_the_network():
    _, spec, P = _spec_and_pieces()
    bad = copy.deepcopy(P)
    # a slope change that keeps the value where the piece meets the others is still caught by the network check
    k = next(k for k, p in enumerate(bad["pieces"]) if any(Fraction(v) for v in p["w"]))
    bad["pieces"][k]["w"] = [str(Fraction(v) * 2) for v in bad["pieces"][k]["w"]]
    rep = verify_pieces(bad, relu_spec=spec)
    assert "pieces equal the network" in _failed(rep)


def test_wrong_maximum_is_rejected():
    cert, spec, P = _spec_and_pieces()
    fv = dict(cert["fv"], f_max="2")
    rep = verify_pieces(P, relu_spec=spec, fv=fv)
    assert {"global max = f_max", "f(x_max) = f_max"} <= set(_failed(rep))
    # pieces of a scaled network: continuous, but the certificate's visualization no longer holds
    scaled = copy.deepcopy(spec)
    scaled["layers"][-1]["W"] = [[str(2 * Fraction(v)) for v in scaled["layers"][-1]["W"][0]]]
    cert2 = copy.deepcopy(cert)
    cert2["witnesses"][1] = pieces_of(scaled)
    rep = verify_counterexample(cert2)
    assert any("global max over the pieces" in n for n in _failed(rep))


def test_bad_breakpoints_are_rejected():
    rep = verify_pieces({"kind": "pwa_1d", "breakpoints": ["0", "1/2", "1/4", "1"], "values": ["0", "1", "0", "1"]})
    assert _failed(rep) == ["spec parses"]
    rep = verify_pieces({"kind": "pwa_1d", "breakpoints": ["0", "1/2"], "values": ["0", "1"]})
    assert not rep.ok


def test_export_writes_both_forms(tmp_path):
    certs = [_cx("piecewise_affine", 1).to_certificate(), _cx("neural_network", 2).to_certificate()]
    paths = write_witnesses(tmp_path, certs)
    for path in paths:
        doc = json.loads(path.read_text())
        assert {"class", "params", "visualization", "x", "witnesses", "values_at_x", "conventions"} <= set(doc)
        assert "pwa_pieces" in doc["conventions"]
        assert len(doc["witnesses_as_pieces"]) == len(doc["witnesses"]) == 2
        for net, P in zip(doc["witnesses"], doc["witnesses_as_pieces"], strict=True):
            assert net["kind"] == "relu_net"
            assert verify_pieces(P, relu_spec=net, fv=doc["visualization"]).ok
        if doc["params"]["d"] == 1:
            assert [B["kind"] for B in doc["witnesses_as_breakpoints"]] == ["pwa_1d", "pwa_1d"]
        else:
            assert "witnesses_as_breakpoints" not in doc


def test_module_independence():
    def imports(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        out = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                out.add(node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        return out

    gen = imports(ROOT / "counterexamples" / "_pieces.py")
    assert not any(m.startswith(("counterexamples.verify", "theory", "torch")) for m in gen)
    ver = imports(ROOT / "counterexamples" / "verify" / "_pieces.py")
    assert not any(m.startswith(("theory", "counterexamples._")) for m in ver)


def _net_strategy():
    grid = st.integers(-8, 8).map(lambda k: str(Fraction(k, 8)))

    @st.composite
    def net(draw):
        d = draw(st.integers(1, 3))
        widths = draw(st.lists(st.integers(1, 5), min_size=1, max_size=2))
        sizes = [d, *widths, 1]
        layers = [
            {
                "W": [[draw(grid) for _ in range(a)] for _ in range(b)],
                "b": [draw(grid) for _ in range(b)],
            }
            for a, b in zip(sizes, sizes[1:], strict=False)
        ]
        seed = draw(st.integers(0, 2**16))
        return {"kind": "relu_net", "layers": layers}, d, seed

    return net()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_net_strategy())
def test_random_nets_pieces_equal_the_net(case):
    spec, d, seed = case
    P = pieces_of(spec)
    net = parse_relu_net(spec)
    for y in _random_points(d, 15, seed):
        assert evaluate_pieces(P, y) == evaluate(net, y)
    if d == 1:
        B = pieces_of(spec, form="1d")
        for y in _random_points(1, 10, seed):
            assert evaluate_pieces(B, y) == evaluate(net, y)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_net_strategy())
def test_random_nets_pieces_verify(case):
    spec, _, _ = case
    rep = verify_pieces(pieces_of(spec), relu_spec=spec)
    assert rep.ok, _failed(rep)
