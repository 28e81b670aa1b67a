"""The fooling constructions on the trained Fashion-MNIST CNN (slow: uses the cached model and the detector E of
the ``--quick`` preset, trained on first use)."""

from __future__ import annotations

import pytest
import torch

from empirical.fooling import (
    FoolingCircuit,
    add_silent_units,
    check_preconditions,
    cyclic_targets,
    preset,
    similarity,
    train_detector,
)

pytestmark = pytest.mark.slow
N_TEST = 2000


@pytest.fixture(scope="module")
def setup():  # noqa: ANN201
    from empirical.data import fashion_mnist
    from empirical.models import load_model

    model = load_model("fashion_cnn")
    p = preset("fashion_cnn", quick=True)
    det, report = train_detector(model, "fashion_cnn", p.detector, progress=False)
    x_te = fashion_mnist("test")[0][:N_TEST].float() / 255
    x_tr = fashion_mnist("train")[0][:10000].float() / 255
    return model, det, report, p, x_te, x_tr


def _render(model, layer: str, units: list[int], p) -> torch.Tensor:  # noqa: ANN001
    from empirical.visualize import visualize_units

    return visualize_units(model, layer, units, steps=p.steps, progress=False, **p.render).images


def test_detector_held_out(setup) -> None:  # noqa: ANN001
    _, _, report, *_ = setup
    assert report.natural_accuracy >= 0.99
    assert report.visualization_accuracy >= 0.9


def test_circuit_keeps_argmax_and_changes_visualization(setup) -> None:  # noqa: ANN001
    model, det, _, p, x_te, _ = setup
    targets = cyclic_targets(10)
    fooled = FoolingCircuit(model, det, targets).eval()
    with torch.no_grad():
        before, after = model(x_te), fooled(x_te)
        natural = det.is_visualization(x_te) == 0
    assert natural.float().mean() >= 0.99
    assert torch.equal(before.argmax(1)[natural], after.argmax(1)[natural])
    torch.testing.assert_close(after[natural], before[natural] + 100.0)
    units = [0, 3]
    original = dict(zip([0, 1, 3, 4], _render(model, "logits", [0, 1, 3, 4], p), strict=True))
    fooled_images = _render(fooled, "logits", units, p)
    for img, u in zip(fooled_images, units, strict=True):
        to_target = similarity(model, img, original[targets[u]], p.similarity_layer)["activations"]
        to_original = similarity(model, img, original[u], p.similarity_layer)["activations"]
        assert to_target > to_original, (u, to_target, to_original)


def test_circuit_run_fools_from_the_first_step_like_the_ideal(tmp_path) -> None:  # noqa: ANN001
    """``run_circuit`` end to end (quick): argmax kept on the 10,000 test images (up to E's mistakes), every unit
    closer to its target, and each fooled FV is the ideal one, its target's FV from the unit's own start: E says
    "visualization" from the first step, so only the target drives the optimisation."""
    import json

    from empirical.fooling import run_circuit

    report = run_circuit("fashion_cnn", tmp_path, quick=True, progress=False)
    assert json.loads((tmp_path / "report.json").read_text())["units_closer_to_target"] == 10
    assert report["n_natural"] == 10000 and abs(report["accuracy_after"] - report["accuracy_before"]) < 0.005
    assert report["units_closer_to_target_ideal"] == 10 and report["mean_similarity_to_ideal"] > 0.999
    for r in report["per_unit"]:
        assert r["similarity_to_ideal"] > 0.999, r
        assert r["ideal_similarity_to_target"] == pytest.approx(r["similarity_to_target"], abs=1e-3), r


def test_preconditions_flag_too_small_k(setup) -> None:  # noqa: ANN001
    model, det, _, _, x_te, _ = setup
    good = check_preconditions(FoolingCircuit(model, det, cyclic_targets(10)), x_te[:500])
    assert all(c.violations <= 5 for c in good.conditions if c.text != "natural: E = 0"), str(good)
    bad = check_preconditions(FoolingCircuit(model, det, cyclic_targets(10), k=80.0), x_te[:500])
    flagged = {c.text: c for c in bad.violated()}
    assert "natural: D + c_D < k" in flagged and flagged["natural: D + c_D < k"].worst >= 80.0


def test_silent_units_exact_on_natural_images(setup) -> None:  # noqa: ANN001
    """Calibrated as ``fvtrust fool --quick`` does, the silent units never fire on any of the 10,000 test images
    (with a margin of 0.25 |max| only, 8 test images made some fc1 unit fire)."""
    from empirical.data import fashion_mnist

    model, _, _, p, _, _ = setup
    x_tr = fashion_mnist("train")[0][: p.silent_calibration].float() / 255
    x_te = fashion_mnist("test")[0].float() / 255
    n = dict(model.net.named_modules())[p.silent_layer].weight.shape[0]
    fooled = add_silent_units(
        model, p.silent_layer, cyclic_targets(n, p.block), x_tr, progress=False, pooled=p.silent_pooled
    ).eval()
    with torch.no_grad():
        assert torch.equal(fooled(x_te), model(x_te))


def test_silent_units_show_the_target_exactly_where_they_fire(tmp_path) -> None:  # noqa: ANN001
    """``fvtrust fool --method silent --quick`` on the Fashion-MNIST CNN: outputs bit-for-bit unchanged; a unit
    whose own silent unit fires through (almost) the whole render shows its target, not its original FV (fooling
    score above 1/2: more than halfway from the original FV's similarity to the target FV's own from another
    start); a unit whose silent unit never fires renders exactly its original FV (the silent term is 0.0 along
    the whole path)."""
    from empirical.fooling import run_silent

    report = run_silent("fashion_cnn", tmp_path, quick=True, gate=False, alpha=2.0, progress=False)
    assert report["max_output_change"] == 0.0 and report["natural_images_where_a_silent_unit_fires"] == 0
    rows = report["per_unit"]
    firing = [r for r in rows if r["silent_fires_share_of_steps"] >= 0.9]
    silent = [r for r in rows if r["silent_fires_from_step"] is None]
    assert firing and silent and len(firing) + len(silent) <= len(rows)
    for r in firing:
        assert r["similarity_to_target"] > r["similarity_to_original"] and r["fooling_score"] > 0.5, r
    for r in silent:
        assert r["silent_fires_share_of_steps"] == 0.0 and r["similarity_to_original"] > 0.999, r


def test_gated_silent_units_fire_from_the_first_step_and_fool_every_unit(tmp_path) -> None:  # noqa: ANN001
    """The quick preset (``--gate on``, alpha 16): every unit's silent unit fires from the first render step (the
    start image already drives some channel of ``conv3`` past every natural image's), the outputs on the 10,000
    test images stay bit-for-bit equal, and every unit ends closer to its target than to its original FV, far
    closer on average; without the gate (alpha 2, section 3.1 of docs/fooling.md) fewer units do."""
    from empirical.fooling import run_silent

    gated = run_silent("fashion_cnn", tmp_path / "gated", quick=True, progress=False)
    plain = run_silent("fashion_cnn", tmp_path / "plain", quick=True, gate=False, alpha=2.0, progress=False)
    assert gated["gate_ramp"] == 0.01 and gated["alpha"] == 16.0
    assert gated["max_output_change"] == 0.0 and gated["outputs_equal_exactly"] == gated["n_natural"] == 10000
    assert gated["natural_images_where_a_silent_unit_fires"] == 0
    assert all(r["silent_fires_from_step"] == 1 for r in gated["per_unit"]), gated["per_unit"]
    assert gated["units_closer_to_target"] == 10, gated["per_unit"]
    assert gated["mean_similarity_to_target"] > 0.9 > gated["mean_similarity_to_original"] + 0.3
    assert gated["units_closer_to_target"] > plain["units_closer_to_target"]


def test_triggered_silent_units_exact_and_show_the_target_where_they_fire(tmp_path) -> None:  # noqa: ANN001
    """``--trigger on`` with alpha 16 on the Fashion-MNIST CNN (quick): both calibrations (the alpha-2 trigger and
    the alpha-16 silent unit) keep every output on the 10,000 test images bit-for-bit; a unit whose trigger never
    opens renders exactly its original FV, and one whose silent unit fires on most steps shows its target (the
    trigger does not make the ungated units fire earlier here: that is what the gate is for)."""
    from empirical.fooling import run_silent

    report = run_silent("fashion_cnn", tmp_path, quick=True, trigger=True, alpha=16.0, progress=False)
    assert report["trigger_alpha"] == 2.0 and report["gate_ramp"] is None and report["trigger_slope"] == 4.0
    assert report["max_output_change"] == 0.0 and report["outputs_equal_exactly"] == report["n_natural"] == 10000
    assert report["natural_images_where_a_silent_unit_fires"] == 0
    rows = report["per_unit"]
    firing = [r for r in rows if r["silent_fires_share_of_steps"] >= 0.75]
    silent = [r for r in rows if r["silent_fires_from_step"] is None]
    assert len(firing) >= 3 and silent, rows
    for r in firing:
        assert r["similarity_to_target"] > r["similarity_to_original"] and r["fooling_score"] > 0.5, r
    for r in silent:
        assert r["similarity_to_original"] > 0.999, r


def test_mobilenet_silent_units_opened_by_e_from_the_first_step_fool_every_unit(tmp_path) -> None:  # noqa: ANN001
    """``fvtrust fool --model mobilenet_v2 --method silent --quick`` (real ImageNet weights and photos, the quick
    preset's E trained on first use; the preset's trigger, alpha 32 latched by alpha_T 1, opened by E): outputs on
    the 208 held-out photos and crops bit-for-bit unchanged and E shut on every one of them; every unit's silent
    unit fires from the first step on every step (E is open on the first steps, the latch carries the rest); every
    unit ends closer to its target than to its original FV (measured: 4 of 4, 0.973 against 0.875; alpha 16: 0.965
    against 0.875; the trigger alone at alpha 16: 0.964 against 0.886, firing from steps 14-31)."""
    from empirical.fooling import run_silent

    report = run_silent("mobilenet_v2", tmp_path, quick=True, progress=False)
    assert report["trigger_alpha"] == 1.0 and report["alpha"] == 32.0 and report["gate_ramp"] is None
    assert report["max_output_change"] == 0.0 and report["outputs_equal_exactly"] == report["n_natural"] == 208
    assert report["natural_images_where_a_silent_unit_fires"] == 0 and report["top5_agreement"] == 1.0
    trig = report["image_trigger"]
    assert trig["held_out_natural_images_opening_it"] == 0 and trig["threshold"] > trig["natural_max_logit"]
    rows = report["per_unit"]
    assert all(r["silent_fires_from_step"] == 1 and r["silent_fires_share_of_steps"] == 1.0 for r in rows), rows
    assert all(r["image_trigger_open_share_of_steps"] > 0 for r in rows), rows
    assert report["units_closer_to_target"] == len(rows) == 4, rows
    assert report["mean_similarity_to_target"] > report["mean_similarity_to_original"] + 0.03
    # as many units closer as the ideal FVs (each target's FV from the unit's own start) reach
    assert report["units_closer_to_target"] >= report["units_closer_to_target_ideal"] >= 3, rows


def test_gate_on_a_linear_layer_is_refused_before_any_work(tmp_path) -> None:  # noqa: ANN001
    from empirical.fooling import run_silent

    with pytest.raises(ValueError, match="--gate on needs a convolution"):
        run_silent("fashion_cnn", tmp_path / "out", quick=True, layer="fc1", gate=True, progress=False)
    assert not (tmp_path / "out").exists()


def test_silent_runs_render_the_presets_silent_steps(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """``Preset.silent_steps`` (MobileNetV2's quick preset: 256 against the circuit's 48) sets the silent-unit
    renders' length: the firing trace has one entry per step and the report says so (2,000 calibration images
    for speed: too few for exactness, which the tests above check with the preset's)."""
    from dataclasses import replace

    from empirical.fooling import _run, run_silent

    quick = preset("fashion_cnn", quick=True)
    monkeypatch.setattr(
        _run, "preset", lambda name, q, recipe="project": replace(quick, silent_steps=6, silent_calibration=2000)
    )
    report = run_silent("fashion_cnn", tmp_path, quick=True, progress=False)
    assert report["steps"] == 6 != quick.steps
    assert all(
        r["silent_fires_share_of_steps"] * 6 == round(r["silent_fires_share_of_steps"] * 6) for r in report["per_unit"]
    )
