"""Good certificates pass every verifier; deliberately broken ones are rejected, naming the failed check."""

from __future__ import annotations

import copy

import pytest

from counterexamples.verify import (
    VerificationError,
    verify_counterexample,
    verify_lipschitz_region,
    verify_witness,
    verify_yes_proof,
)

FV1 = {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"}
FV2 = {"x_max": ["1", "1"], "f_max": "1", "x_min": ["0", "0"], "f_min": "0"}


def tent_net(centres, heights, K, base="0"):
    """base + sum_j h_j relu(1 - K ||y - c_j||_1), built by hand (independent of the engine's builder)."""
    d = len(centres[0])
    W1, b1 = [], []
    for c in centres:
        for k in range(d):
            W1 += [[("1" if i == k else "0") for i in range(d)], [("-1" if i == k else "0") for i in range(d)]]
            b1 += [f"-{c[k]}", f"{c[k]}"]
    n = len(centres)
    W2 = [[(f"-{K}" if 2 * d * j <= u < 2 * d * (j + 1) else "0") for u in range(2 * d * n)] for j in range(n)]
    return {
        "kind": "relu_net",
        "layers": [{"W": W1, "b": b1}, {"W": W2, "b": ["1"] * n}, {"W": [list(heights)], "b": [base]}],
    }


def cex(cls, witnesses, values, q="exact", fv=FV2, x=("1", "0"), params=None, **extra):
    return {
        "class": cls,
        "params": params or {"d": len(fv["x_max"])},
        "question": q,
        "fv": fv,
        "x": list(x),
        "witnesses": witnesses,
        "values_at_x": values,
        **extra,
    }


GOOD_NN = cex(
    "neural_network",
    [
        tent_net([["1", "1"], ["0", "0"], ["1", "0"]], ["1", "0", "0"], 2),
        tent_net([["1", "1"], ["0", "0"], ["1", "0"]], ["1", "0", "1"], 2),
    ],
    ["0", "1"],
    "approx",
)


def test_good_network_counterexample_passes():
    rep = verify_counterexample(GOOD_NN)
    assert rep.ok, rep.to_dict()
    names = [c.name for c in rep.checks]
    assert any("MILP" in n for n in names) and any("z3" in n for n in names)


def test_changed_weight_that_moves_the_argmax_is_rejected():
    bad = copy.deepcopy(GOOD_NN)
    bad["witnesses"][1]["layers"][2]["W"][0][2] = "3/2"  # the bump at x now exceeds f_max
    bad["values_at_x"][1] = "3/2"
    rep = verify_counterexample(bad)
    assert not rep.ok
    assert any("global max" in c.name and not c.ok for c in rep.checks)
    with pytest.raises(VerificationError, match="global max"):
        rep.raise_if_failed()


def test_erm_pair_needs_zero_loss_and_one_architecture():
    good = copy.deepcopy(GOOD_NN)
    good["class"] = "erm_network"
    good["dataset"] = {"X": [["1", "1"], ["0", "0"]], "y": ["1", "0"], "loss": "squared"}
    assert verify_counterexample(good).ok
    bad = copy.deepcopy(good)
    bad["dataset"]["y"] = ["1", "1/2"]
    rep = verify_counterexample(bad)
    assert not rep.ok and any("zero squared loss" in c.name and not c.ok for c in rep.checks)


def sym(expr, d=1):
    return {"kind": "sympy", "expr": expr, "vars": [f"x{k}" for k in range(d)]}


@pytest.mark.parametrize(
    "norm,expr_lo,expr_hi",
    [
        ("2", "Max(0, 1/2 - sqrt((x0 - 1)**2 + (x1 - 1)**2))", "Min(1/2, sqrt(x0**2 + x1**2))"),
        ("1", "Max(0, 1/2 - Abs(x0 - 1) - Abs(x1 - 1))", "Min(1/2, Abs(x0) + Abs(x1))"),
        ("inf", "Max(0, 1/2 - Max(Abs(x0 - 1), Abs(x1 - 1)))", "Min(1/2, Max(Abs(x0), Abs(x1)))"),
    ],
)
def test_lipschitz_counterexample_and_a_too_steep_slope(norm, expr_lo, expr_hi):
    fv = {"x_max": ["1", "1"], "f_max": "1/2", "x_min": ["0", "0"], "f_min": "0"}
    good = cex(
        "lipschitz",
        [sym(expr_lo, 2), sym(expr_hi, 2)],
        ["0", "1/2"],
        "min_or_max",
        fv=fv,
        params={"d": 2, "L": "1", "norm": norm},
    )
    assert verify_counterexample(good).ok, verify_counterexample(good).to_dict()
    steep = copy.deepcopy(good)
    steep["params"]["L"] = "1/2"  # the same witnesses are not 1/2-Lipschitz
    rep = verify_counterexample(steep)
    assert not rep.ok and any("Lipschitz" in c.name and not c.ok for c in rep.checks)


def test_convexity_and_monotonicity_claims():
    assert verify_witness(
        sym("Max(0, 1 - 2*x0, 2*x0 - 1)"), {**FV1, "x_max": ["0"], "x_min": ["1/2"]}, "convex", {"d": 1}
    ).ok
    concave = verify_witness(sym("Min(1, 2*x0)"), FV1, "convex", {"d": 1})
    assert not concave.ok and any(c.name.endswith("convex") and not c.ok for c in concave.checks)
    assert verify_witness(sym("Min(1, 2*x0)"), FV1, "monotonic", {"d": 1}).ok
    decreasing = verify_witness(sym("1 - x0"), {**FV1, "x_max": ["0"], "x_min": ["1"]}, "monotonic", {"d": 1})
    assert not decreasing.ok and any("nondecreasing" in c.name and not c.ok for c in decreasing.checks)


def test_wrong_visualization_is_rejected():
    rep = verify_witness(sym("x0*(1 - x0)*4"), FV1, "black_box", {"d": 1})  # max 1 at 1/2, f(1) = 0
    assert not rep.ok and any("f(x_max) = f_max" in c.name and not c.ok for c in rep.checks)
    rep = verify_witness(sym("Min(1, 2*x0)"), {**FV1, "f_max": "1/2"}, "black_box", {"d": 1})
    assert not rep.ok


DEC = ["x0", "x_max0", "x_min0", "f_max", "f_min"]


def test_yes_proofs_and_a_wrong_decoder():
    ok = verify_yes_proof(
        {
            "class": "affine",
            "params": {"d": 1},
            "question": "exact",
            "decoder": {"expr": "f_min + (f_max - f_min)*Abs(x0 - x_min0)", "vars": DEC},
        }
    )
    assert ok.ok, ok.to_dict()
    wrong = verify_yes_proof(
        {
            "class": "affine",
            "params": {"d": 1},
            "question": "exact",
            "decoder": {"expr": "f_min + (f_max - f_min)*x0", "vars": DEC},
        }
    )
    assert not wrong.ok  # f(x) = 1 - x has x_max = 0, x_min = 1: the decoder gets it wrong
    assert verify_yes_proof(
        {
            "class": "constant",
            "params": {"d": 2},
            "question": "exact",
            "decoder": {"expr": "f_max", "vars": ["x0", "x1", "f_max", "f_min"]},
        }
    ).ok
    assert not verify_yes_proof(
        {
            "class": "constant",
            "params": {"d": 2},
            "question": "exact",
            "decoder": {"expr": "f_max + x0", "vars": ["x0", "x1", "f_max", "f_min"]},
        }
    ).ok


def test_lipschitz_region_claims():
    fv = {"x_max": ["1", "1"], "f_max": "1", "x_min": ["0", "0"], "f_min": "0"}
    claim = {
        "class": "lipschitz",
        "params": {"d": 2, "L": "1", "norm": "2"},
        "fv": fv,
        "x": ["1/4", "1/4"],
        "decision": "min",
    }
    assert verify_lipschitz_region(claim).ok  # ||x - x_min|| = sqrt(2)/4 < Delta/(2L) = 1/2
    assert not verify_lipschitz_region({**claim, "decision": "max"}).ok
    far = {**claim, "x": ["1/2", "1/2"]}  # sqrt(2)/2 > 1/2: not certified
    assert not verify_lipschitz_region(far).ok
    vacuous = {**claim, "params": {"d": 2, "L": "1/2", "norm": "2"}}  # Delta > L ||x_max - x_min||: impossible FV
    rep = verify_lipschitz_region(vacuous)
    assert not rep.ok and any("consistent" in c.name and not c.ok for c in rep.checks)


def net(layers):
    return {"kind": "relu_net", "layers": [{"W": W, "b": b} for W, b in layers]}


def test_relu_net_lipschitz_by_activation_regions():
    tents = tent_net([["1", "1"], ["0", "0"]], ["1", "0"], 2)  # gradient (2, 2) near (1, 1), 0 elsewhere
    for norm, L_ok, L_bad in (("1", "2", "19/10"), ("inf", "4", "39/10"), ("2", "2829/1000", "2828/1000")):
        good = verify_witness(tents, FV2, "lipschitz", {"d": 2, "L": L_ok, "norm": norm})
        assert good.ok, good.to_dict()
        assert any("activation regions" in c.detail for c in good.checks)
        bad = verify_witness(tents, FV2, "lipschitz", {"d": 2, "L": L_bad, "norm": norm})
        assert not bad.ok and any("Lipschitz" in c.name and not c.ok for c in bad.checks)


def test_relu_net_monotone_affine_constant():
    ramp = net([([["1"], ["1"]], ["0", "-1/2"]), ([["1", "-1"]], ["0"])])  # min(x0, 1/2)
    fv = {"x_max": ["1"], "f_max": "1/2", "x_min": ["0"], "f_min": "0"}
    assert verify_witness(ramp, fv, "monotonic", {"d": 1}).ok
    assert not verify_witness(ramp, fv, "affine", {"d": 1}).ok  # two slopes
    down = net([([["1"]], ["0"]), ([["-1"]], ["1"])])  # 1 - x0
    rep = verify_witness(down, {"x_max": ["0"], "f_max": "1", "x_min": ["1"], "f_min": "0"}, "monotonic", {"d": 1})
    assert not rep.ok and any("nondecreasing" in c.name and not c.ok for c in rep.checks)
    assert verify_witness(down, {"x_max": ["0"], "f_max": "1", "x_min": ["1"], "f_min": "0"}, "affine", {"d": 1}).ok
    flat = net([([["0"]], ["1"]), ([["0"]], ["3"])])
    assert verify_witness(flat, {"x_max": ["0"], "f_max": "3", "x_min": ["1"], "f_min": "3"}, "constant", {"d": 1}).ok
    assert not verify_witness(down, {"x_max": ["0"], "f_max": "1", "x_min": ["1"], "f_min": "0"}, "constant", {}).ok


def test_polynomials_by_hessian_and_partial_derivatives():
    assert verify_witness(sym("x0**2"), FV1, "convex", {"d": 1}).ok  # Hessian 2 >= 0 (z3)
    hump = verify_witness(sym("1 - (x0 - 1)**2"), FV1, "convex", {"d": 1})  # concave
    assert not hump.ok and any(c.name.endswith("convex") and not c.ok for c in hump.checks)
    assert verify_witness(sym("1 - (x0 - 1)**2"), FV1, "monotonic", {"d": 1}).ok  # f' = 2(1 - x0) >= 0 on [0,1]
    wiggle = verify_witness(sym("27/4*x0*(x0 - 2/3)**2"), FV1, "monotonic", {"d": 1})  # f(1/3)=1/4 > f(2/3)=0
    assert not wiggle.ok and any("nondecreasing" in c.name and not c.ok for c in wiggle.checks)


@pytest.mark.parametrize("encoding", ["vertices", "forall"])
def test_affine_proof_encodings(encoding):
    cert = {"class": "affine", "params": {"d": 1}, "question": "exact"}
    good = {"expr": "f_min + (f_max - f_min)*Abs(x0 - x_min0)", "vars": DEC}
    assert verify_yes_proof({**cert, "decoder": good}, encoding=encoding).ok
    wrong = {"expr": "f_max - (f_max - f_min)*Abs(x0 - x_max0)/2", "vars": DEC}
    rep = verify_yes_proof({**cert, "decoder": wrong}, encoding=encoding)
    assert not rep.ok and "sat" in rep.checks[-1].detail
