"""Generated counterexamples: concrete members, exactly the same visualization, disagreement as stated; every
certificate passes the independent verifiers and a broken one is rejected."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import pytest
import torch

from counterexamples import CLASSES, generate, train_pair, write_witnesses
from counterexamples.verify import evaluate, parse_relu_net, verify_counterexample

CASES = [(c, d, {}) for d in (1, 2, 3) for c in CLASSES if not (c == "affine" and d == 1) and c != "lipschitz"]
CASES += [("lipschitz", d, {"L": 1.0, "norm": p}) for d in (1, 2, 3) for p in ("1", "2", "inf")]


@pytest.mark.parametrize("cls,d,params", CASES, ids=[f"{c}-d{d}-{p.get('norm', '')}" for c, d, p in CASES])
def test_counterexample_verifies(cls, d, params):
    cx = generate(cls, d=d, **params)
    assert cx.fv.d == d and len(cx.x) == d
    rep = verify_counterexample(cx.to_certificate())
    assert rep.ok, [c for c in rep.checks if not c.ok]
    # the full range wherever the class allows it; quadratics in d = 1 reach at most Delta/2 (t + a t(t-1), |a| <= 1)
    expected = {"lipschitz": cx.disagreement}.get(cls, 0.5 if (cls, d) == ("quadratic", 1) else 1.0)
    assert cx.disagreement == pytest.approx(expected) and cx.disagreement > 0.3
    x = torch.tensor([[float(v) for v in cx.x]], dtype=torch.float64)
    fx, gx = float(cx.evaluate("f", x)[0]), float(cx.evaluate("g", x)[0])
    assert abs(fx - gx) == pytest.approx(cx.disagreement * cx.fv.delta, abs=1e-9)


@pytest.mark.parametrize("cls", ["neural_network", "piecewise_affine", "erm_network"])
def test_torch_networks_match_the_exact_spec(cls):
    cx = generate(cls, d=2)
    for net, spec in zip((cx.f, cx.g), cx.certificate["witnesses"], strict=True):
        assert isinstance(net, torch.nn.Sequential)
        exact = parse_relu_net(spec)
        pts = torch.rand(64, 2, dtype=torch.float64)
        with torch.no_grad():
            ours = net(pts)[:, 0]
        want = torch.tensor([float(evaluate(exact, [Fraction(float(v)) for v in p])) for p in pts], dtype=torch.float64)
        torch.testing.assert_close(ours, want, rtol=0, atol=1e-12)


def test_broken_witnesses_are_rejected():
    cert = generate("neural_network", d=2).to_certificate()
    bad = copy.deepcopy(cert)
    bad["witnesses"][1]["layers"][-1]["b"][0] = "1/2"  # shifts the whole network: the visualization moves
    assert not verify_counterexample(bad).ok
    lip = generate("lipschitz", d=2, L=1.0, norm="2").to_certificate()
    steep = copy.deepcopy(lip)
    steep["params"]["L"] = "1/4"  # the same witnesses break a 1/4-Lipschitz bound
    rep = verify_counterexample(steep)
    assert not rep.ok and any("Lipschitz" in c.name and not c.ok for c in rep.checks)


def test_unknown_or_yes_classes():
    with pytest.raises(ValueError, match="no counterexample for class 'constant'"):
        generate("constant", d=2)
    with pytest.raises(ValueError, match="determined by their visualization"):
        generate("affine", d=1)


def test_export_is_self_contained(tmp_path):
    certs = [generate(c, d=2).to_certificate() for c in ("neural_network", "convex", "erm_network")]
    paths = write_witnesses(tmp_path, certs)
    assert len(paths) == 3
    doc = json.loads(paths[2].read_text())
    assert {"class", "params", "visualization", "x", "witnesses", "values_at_x", "dataset"} <= set(doc)
    net = doc["witnesses"][0]
    assert net["kind"] == "relu_net" and all(isinstance(v, str) for v in net["layers"][0]["b"])


@pytest.mark.slow
def test_erm_training_demo():
    rep = train_pair(steps=1500)
    a, b = rep["networks"]
    assert a["train_loss"] < 1e-4 and b["train_loss"] < 1e-4
    assert a["exact_argmax"] == b["exact_argmax"] == [1.0, 1.0]
    assert a["exact_argmin"] == b["exact_argmin"] == [0.0, 0.0]
    assert rep["visualization_gap"] < 1e-2
    assert rep["disagreement_at_x"] > 10 * rep["visualization_gap"]
