"""E's threshold rules (``threshold_detector``): the natural-quantile rule and the max-margin rule it sits beside."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from empirical.fooling import Detector, preset, run_circuit, threshold_detector, train_detector
from empirical.fooling._presets import DETECTOR_FPR_FIXED
from empirical.fooling._run import _with_detector_rule
from empirical.fooling._train import DETECTOR_RULES, check_detector_rule, natural_quantile


def _detector(seed: int = 0) -> Detector:
    torch.manual_seed(seed)
    return Detector(3, 16, width=4).eval()


def _natural(n: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("n", [1, 7, 399, 400, 401, 2400, 5000])
@pytest.mark.parametrize("q", [0.0025, 0.01, 0.1, 0.25, 0.49])
def test_quantile_leaves_at_most_q_above(n: int, q: float) -> None:
    e = torch.randn(n, generator=torch.Generator().manual_seed(n))
    tau = natural_quantile(e, q)
    k = int(q * n)
    above = int((e > tau).sum())
    assert above <= q * n
    assert above == k  # distinct logits: exactly floor(q n) above, so no stricter than the budget asks
    ordered = e.double().sort(descending=True).values
    assert ordered[k] <= tau  # the (k + 1)-th largest is called natural
    if k:
        assert tau < ordered[k - 1]  # the k-th largest is called a visualization


def test_quantile_with_fewer_than_one_allowed_is_the_largest() -> None:
    e = torch.tensor([0.5, -2.0, 3.0, 1.0])
    assert natural_quantile(e, 0.2) == 3.0  # 0.2 * 4 < 1: no natural above, tau = max
    assert natural_quantile(e, 0.25) == pytest.approx(2.0)  # one allowed above: midway between 3 and 1


def test_quantile_with_ties_never_exceeds_the_share() -> None:
    e = torch.tensor([1.0] * 10 + [0.0] * 90)
    for q in (0.01, 0.05, 0.1, 0.2):
        tau = natural_quantile(e, q)
        assert int((e > tau).sum()) <= q * len(e)


def test_quantile_does_not_depend_on_order_or_dtype() -> None:
    e = torch.randn(1000, generator=torch.Generator().manual_seed(3))
    perm = e[torch.randperm(1000, generator=torch.Generator().manual_seed(4))]
    assert natural_quantile(e, 0.0025) == natural_quantile(perm, 0.0025)
    assert natural_quantile(e, 0.0025) == natural_quantile(e.double(), 0.0025)


@pytest.mark.parametrize("q", [0.0, -0.01, 0.5, 0.75, 1.0, math.nan, math.inf, None])
def test_share_outside_open_interval_is_refused(q: float | None) -> None:
    with pytest.raises(ValueError, match=r"detector_fpr in \(0, 0.5\)"):
        check_detector_rule("quantile", q)
    with pytest.raises(ValueError, match=r"detector_fpr in \(0, 0.5\)"):
        threshold_detector(_detector(), _natural(8), rule="quantile", fpr=q)
    if q is not None:
        with pytest.raises(ValueError, match=r"detector_fpr in \(0, 0.5\)"):
            natural_quantile(torch.randn(10), q)


def test_unknown_rule_is_refused() -> None:
    assert DETECTOR_RULES == ("max_margin", "quantile")
    with pytest.raises(ValueError, match="detector rule 'median' is not one of: max_margin, quantile"):
        threshold_detector(_detector(), _natural(8), rule="median")


def test_quantile_needs_natural_images() -> None:
    with pytest.raises(ValueError, match="no natural"):
        natural_quantile(torch.empty(0), 0.1)
    with pytest.raises(ValueError, match="no natural images"):
        threshold_detector(_detector(), _natural(0), rule="quantile", fpr=0.1)


@pytest.mark.parametrize("q", [0.0025, 0.02, 0.3])
def test_thresholded_detector_fires_on_at_most_q_of_its_calibration_images(q: float) -> None:
    det, nat = _detector(), _natural(800)
    with torch.no_grad():
        raw = det(nat)
    folded, tau = threshold_detector(det, nat, batch=100, rule="quantile", fpr=q)
    assert tau == natural_quantile(raw, q)
    fires = folded.is_visualization(nat)
    assert int(fires.sum()) == int(q * len(nat))  # the threshold folded into the bias, float rounding included
    with torch.no_grad():
        assert torch.equal(det(nat), raw)  # the original E is not changed
        assert torch.allclose(folded(nat), raw - tau, atol=1e-5)


def test_max_margin_rule_is_unchanged() -> None:
    det, nat = _detector(), _natural(300)
    with torch.no_grad():
        e = det(nat)
    m, mean = float(e.max()), float(e.mean())
    expected = max(m, 0.0) + 0.25 * max(abs(m), m - mean)
    for folded, tau in (threshold_detector(det, nat, 0.25), threshold_detector(det, nat, 0.25, rule="max_margin")):
        assert tau == pytest.approx(expected, rel=0, abs=0)
        assert int(folded.is_visualization(nat).sum()) == 0  # every calibration image natural
    with pytest.raises(ValueError, match="margin must be >= 0"):
        threshold_detector(det, nat, -1.0)
    threshold_detector(det, nat, -1.0, rule="quantile", fpr=0.1)  # the margin is unused by the quantile rule


def test_presets_keep_the_old_rule_and_record_the_share() -> None:
    for model in ("fashion_cnn", "mobilenet_v2", "inceptionv1"):
        for quick in (False, True):
            p = preset(model, quick)
            assert p.detector_rule == "max_margin"  # every committed result was made with it: reproducible
            assert p.detector_fpr == 0.0025  # half of the 0.5 pp top-1 budget, fixed a priori
            assert p.detector_fpr_fixed == DETECTOR_FPR_FIXED
    assert DETECTOR_FPR_FIXED.startswith("2026-12-06")
    assert "not tuned" in DETECTOR_FPR_FIXED and "budget" in DETECTOR_FPR_FIXED
    with pytest.raises(ValueError, match=r"detector_fpr in \(0, 0.5\)"):
        replace(preset("mobilenet_v2", True), detector_rule="quantile", detector_fpr=0.5)
    with pytest.raises(ValueError, match="detector rule"):
        replace(preset("mobilenet_v2", True), detector_rule="max")


def test_run_time_rule_is_recorded_in_the_preset() -> None:
    p = preset("mobilenet_v2", True)
    assert _with_detector_rule(p, None, None) is p
    q = _with_detector_rule(p, "quantile", None)
    assert (q.detector_rule, q.detector_fpr, q.detector_fpr_fixed) == ("quantile", 0.0025, DETECTOR_FPR_FIXED)
    assert _with_detector_rule(p, "quantile", 0.0025).detector_fpr_fixed == DETECTOR_FPR_FIXED
    r = _with_detector_rule(p, "quantile", 0.01)
    assert (r.detector_fpr, r.detector_fpr_fixed) == (0.01, "given at run time (detector_fpr)")
    back = replace(r, detector_rule="max_margin", detector_fpr=p.detector_fpr, detector_fpr_fixed=p.detector_fpr_fixed)
    assert back == p


def test_bad_rule_is_refused_before_any_work(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"detector_fpr in \(0, 0.5\)"):
        run_circuit("mobilenet_v2", tmp_path / "out", quick=True, detector_rule="quantile", detector_fpr=0.7)
    with pytest.raises(ValueError, match="detector rule"):
        train_detector(None, "none", threshold_rule="top")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()
