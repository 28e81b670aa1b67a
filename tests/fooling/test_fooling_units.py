"""Fast tests of the fooling constructions on small synthetic models (no training, no zoo)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirical.fooling import (
    Detector,
    FoolingCircuit,
    SilentConv,
    add_silent_units,
    calibrate_bias,
    check_preconditions,
    cyclic_targets,
    silent_filters,
    trace_firing,
)
from empirical.visualize import visualize_units
from fvtrust.cli import main


class ConstantDetector(Detector):
    """E fixed to 0 (natural) or 1 (visualization)."""

    def __init__(self, value: float) -> None:
        super().__init__(1, 8)
        self.value = value

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.full((len(images),), 1.0 if self.value else -1.0)


def tiny_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 8 * 8, 4))


def test_cyclic_targets() -> None:
    assert cyclic_targets(4) == [1, 2, 3, 0]
    assert cyclic_targets(6, 3) == [1, 2, 0, 4, 5, 3]
    assert sorted(cyclic_targets(10, 4)) == list(range(10))
    with pytest.raises(ValueError, match="at least 2"):
        cyclic_targets(1)


def test_circuit_algebra() -> None:
    """E = 0: A = F + c; E = 1: A = ReLU(D + c_D) with D the permuted units; c_D = 0 gives the notebook's C."""
    net, x = tiny_net().eval(), torch.rand(5, 1, 8, 8)
    f = net(x).detach()
    targets = cyclic_targets(4)
    natural = FoolingCircuit(net, ConstantDetector(0), targets).eval()
    torch.testing.assert_close(natural(x), f + 100.0)
    assert torch.equal(natural(x).argmax(1), f.argmax(1))
    vis = FoolingCircuit(net, ConstantDetector(1), targets, target_offset=0.0).eval()
    torch.testing.assert_close(vis(x), torch.relu(f[:, targets]))


def test_circuit_gradient_follows_target() -> None:
    net = tiny_net().eval()
    x = torch.rand(1, 1, 8, 8, requires_grad=True)
    FoolingCircuit(net, ConstantDetector(1), cyclic_targets(4)).eval()(x)[0, 0].backward()
    g_fooled = x.grad.clone()
    x.grad = None
    net(x)[0, 1].backward()
    torch.testing.assert_close(g_fooled, x.grad)


def test_preconditions_flag_small_k() -> None:
    net, x = tiny_net().eval(), torch.rand(8, 1, 8, 8)
    ok = check_preconditions(FoolingCircuit(net, ConstantDetector(0), cyclic_targets(4)), x)
    assert ok.ok, str(ok)
    bad = check_preconditions(FoolingCircuit(net, ConstantDetector(0), cyclic_targets(4), k=50.0), x)
    assert not bad.ok
    assert [c.text for c in bad.violated()] == ["natural: D + c_D < k"]
    assert bad.violated()[0].violations == 8 and bad.violated()[0].worst > 50.0


def test_silent_units_bit_exact_and_orthogonal() -> None:
    net = tiny_net().eval()
    natural = torch.rand(64, 1, 8, 8)
    fooled = add_silent_units(net, "0", cyclic_targets(6), natural, progress=False).eval()
    assert isinstance(fooled[0], SilentConv) and not isinstance(net[0], SilentConv)
    with torch.no_grad():
        assert torch.equal(fooled(natural), net(natural))
        w = net[0].weight.flatten(1)
        s = silent_filters(net[0], cyclic_targets(6), alpha=2.0, scale=1.0).flatten(1)
        p = s - w  # the orthogonal part, norm alpha * |w|
        torch.testing.assert_close((p * w).sum(1), torch.zeros(6), atol=1e-5, rtol=0)
        torch.testing.assert_close(p.norm(dim=1), 2.0 * w.norm(dim=1))
        far = torch.rand(4, 1, 8, 8) * 50  # far outside the calibration range: the silent units fire
        assert not torch.equal(fooled(far), net(far))


@pytest.mark.parametrize("fuse", [True, False])
def test_trace_firing_records_each_render_step(fuse: bool) -> None:
    """The trace has one response per step and image, also from the render's fused deep copy; a bias far below
    every response never fires, one far above fires from step 1; the hook is gone afterwards."""
    net = tiny_net().eval()
    fooled = add_silent_units(net, "0", cyclic_targets(6), torch.rand(64, 1, 8, 8), progress=False).eval()
    silent = fooled[0]
    units = [0, 2, 5]
    for bias, first, share in ((-1e9, None, 0.0), (1e9, 1, 1.0)):
        with torch.no_grad():
            silent.silent_bias.fill_(bias)
        with trace_firing(silent, units) as (trace, callback):
            visualize_units(fooled, "0", units, steps=6, size=8, channels=1, progress=False, fuse=fuse,
                            callback=callback)  # fmt: skip
        assert len(trace.responses) == 6 and all(r.shape == (3,) for r in trace.responses)
        assert trace.first_step() == [first] * 3 and trace.share() == [share] * 3
        assert not silent._forward_pre_hooks


def test_pooled_silent_units_add_one_value_per_channel() -> None:
    """Pooled: bit-exact on the calibration images; where it fires, the added term is the same at every position
    and equals ReLU(mean over positions of s * h + beta)."""
    net = tiny_net().eval()
    natural = torch.rand(64, 1, 8, 8)
    fooled = add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, pooled=True).eval()
    with torch.no_grad():
        assert torch.equal(fooled(natural), net(natural))
        far = torch.rand(4, 1, 8, 8) * 50
        added = fooled[0](far) - net[0](far)
        z = nn.functional.conv2d(far, fooled[0].silent_weight, None, 1, 1).mean((2, 3)) + fooled[0].silent_bias
        torch.testing.assert_close(added, torch.relu(z)[:, :, None, None].expand_as(added), rtol=1e-4, atol=1e-3)
        assert (added > 0).any()


def test_firing_trace_first_step_and_share() -> None:
    from empirical.fooling import FiringTrace

    r = [torch.tensor([-1.0, 1.0, -2.0]), torch.tensor([2.0, -1.0, 0.0]), torch.tensor([3.0, 2.0, -1.0])]
    trace = FiringTrace((4, 5, 6), r)
    assert trace.first_step() == [2, 1, None]  # 0 is not firing: ReLU(0) = 0
    assert trace.share() == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert FiringTrace((1, 2)).first_step() == [None, None]


def test_silent_bias_margin_scales_with_spread() -> None:
    """A largest natural response near 0 far above the typical one (Fashion-MNIST fc1: max 0.33, median -8.6)
    needs a margin from the spread, not from |max|: a held-out response of 0.5 must stay silent."""
    layer = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    natural = torch.cat([torch.full((99, 1), -10.0), torch.full((1, 1), 0.1)])
    bias = calibrate_bias(nn.Sequential(layer), layer, layer.weight, natural, margin=0.25, progress=False)
    spread = 0.1 - natural.mean()
    torch.testing.assert_close(bias, -(0.1 + 0.25 * spread).reshape(1))
    assert float(bias) + 0.5 < 0
    big = torch.cat([torch.full((99, 1), 8.0), torch.full((1, 1), 10.0)])  # |max| still counts when larger
    assert float(calibrate_bias(nn.Sequential(layer), layer, layer.weight, big, progress=False)) == -12.5


def test_gate_closed_on_natural_images_open_far_off_them() -> None:
    """Calibrated on natural images: the gate is exactly 0.0 on every one of them, so the gated model is bit-exact
    there; on images far off them it is exactly 1 and each silent unit's response is s * h minus its natural mean
    (the lift cancels the bias down to the mean)."""
    from empirical.fooling import SilentGate, gate_statistics, natural_response

    net = tiny_net().eval()
    natural = torch.rand(64, 1, 8, 8)
    fooled = add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, pooled=True, gate_ramp=0.05)
    silent = fooled[0]
    assert isinstance(silent.gate, SilentGate)
    with torch.no_grad():
        assert torch.equal(silent.gate(gate_statistics(net[0], net[0](natural))), torch.zeros(64))
        assert torch.equal(fooled(natural), net(natural))
        far = torch.rand(4, 1, 8, 8) * 50
        assert torch.equal(silent.gate(gate_statistics(net[0], net[0](far))), torch.ones(4))
        _, mean = natural_response(net, net[0], silent.silent_weight, natural, progress=False, pooled=True)
        z = nn.functional.conv2d(far, silent.silent_weight, None, 1, 1).mean((2, 3))
        expected = z - mean.float()
        torch.testing.assert_close(silent.silent_response(far).flatten(1), expected, rtol=1e-4, atol=1e-2)


def test_gate_ramp_is_linear_between_closed_and_open() -> None:
    """Threshold 1, width 0.5 on channel 0: g = 0 up to 1, rises linearly to 1 at 1.5, then stays at 1; the
    excesses of several channels add up (0.25 + 0.25 of a width each)."""
    from empirical.fooling import SilentGate

    gate = SilentGate(torch.tensor([1.0, 2.0]), torch.tensor([0.5, 1.0]), torch.tensor([3.0, 1.0]))
    z = torch.tensor([[0.0, 0.0], [1.0, 2.0], [1.25, 0.0], [1.5, 0.0], [9.0, 0.0], [1.125, 2.25]])
    torch.testing.assert_close(gate(z), torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0, 0.5]))
    lifted = gate.lifted(z)
    assert lifted.shape == (6, 2, 1, 1)
    torch.testing.assert_close(lifted[:, 0].flatten(), torch.tensor([0.0, 0.0, 1.5, 3.0, 3.0, 1.5]))


def test_gate_statistics_are_channel_means_then_minima_without_bias() -> None:
    """(B, 2C): the mean over positions, then the minimum over positions, of each channel minus its bias; a gate
    on them has one threshold per statistic and one lift per channel, and opens on a channel's minimum alone."""
    from empirical.fooling import SilentGate, gate_statistics

    conv = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.bias.copy_(torch.tensor([1.0, -2.0]))
    out = torch.tensor([[[[1.0, 3.0], [5.0, 7.0]], [[0.0, -2.0], [4.0, 2.0]]]])  # (1, 2, 2, 2)
    torch.testing.assert_close(gate_statistics(conv, out), torch.tensor([[3.0, 3.0, 0.0, 0.0]]))
    big = torch.tensor(1e9)  # means can never open this gate; channel 1's minimum 0.0 opens it halfway
    gate = SilentGate(torch.stack([big, big, big, big * 0 - 1.0]), torch.full((4,), 2.0), torch.tensor([4.0, 6.0]))
    torch.testing.assert_close(gate(gate_statistics(conv, out)), torch.tensor([0.5]))
    torch.testing.assert_close(gate.lifted(gate_statistics(conv, out)).flatten(), torch.tensor([2.0, 3.0]))
    with pytest.raises(ValueError, match=r"needs a convolution's \(B, C, H, W\) output"):
        gate_statistics(conv, torch.zeros(3, 2))


def test_gate_bad_input() -> None:
    from empirical.fooling import SilentGate, calibrate_gate

    one = torch.ones(3)
    with pytest.raises(ValueError, match="widths must be positive"):
        SilentGate(one, torch.tensor([1.0, 0.0, 1.0]), one)
    with pytest.raises(ValueError, match="must be vectors of one length"):
        SilentGate(one, torch.ones(4), one)
    conv = nn.Conv2d(1, 3, 3)
    with pytest.raises(ValueError, match="ramp must be positive, got 0"):
        natural = torch.rand(5, 1, 6, 6)
        calibrate_gate(nn.Sequential(conv), conv, torch.zeros(3), -one, natural, ramp=0.0, progress=False)
    with pytest.raises(ValueError, match="the gate needs a convolution"):
        layer = nn.Linear(2, 3)
        calibrate_gate(nn.Sequential(layer), layer, torch.zeros(3), -one, torch.rand(5, 2), progress=False)


def test_trigger_closed_on_natural_images_and_latches_far_off_them() -> None:
    """Calibrated on natural images: the trigger is exactly 0.0 on every one of them (the model is bit-exact
    there); far off them it is exactly 1 and each silent unit's response is s * h minus its natural mean plus one
    natural spread (slack 1); the silent filters have the trigger filters' norm, and the trigger filter is the one
    with share alpha_T."""
    from empirical.fooling import SilentTrigger, natural_response

    net = tiny_net().eval()
    natural = torch.rand(64, 1, 8, 8)
    fooled = add_silent_units(
        net,
        "0",
        cyclic_targets(6),
        natural,
        progress=False,
        pooled=True,
        alpha=16.0,
        trigger_alpha=2.0,
        trigger_slack=1.0,
    )
    silent = fooled[0]
    assert isinstance(silent.trigger, SilentTrigger) and silent.gate is None
    trig = silent.trigger
    torch.testing.assert_close(trig.weight, silent_filters(net[0], cyclic_targets(6), alpha=2.0))
    torch.testing.assert_close(silent.silent_weight.flatten(1).norm(dim=1), trig.weight.flatten(1).norm(dim=1))
    torch.testing.assert_close(trig.width * 4.0, trig.lift)  # slope 4: the lift rises 4x as fast as a
    with torch.no_grad():
        a = nn.functional.conv2d(natural, trig.weight, None, 1, 1).mean((2, 3), keepdim=True)
        assert torch.equal(trig(a), torch.zeros_like(a)) and bool((a.flatten(1) + trig.bias < 0).all())
        assert torch.equal(fooled(natural), net(natural))
        far = torch.randn(16, 1, 8, 8) * 50  # far outside the calibration range: many triggers fire fully
        a = nn.functional.conv2d(far, trig.weight, None, 1, 1).mean((2, 3), keepdim=True)
        full, shut = (a.flatten(1) + trig.bias >= trig.width), (a.flatten(1) + trig.bias <= 0)
        assert full.sum() >= 16 and shut.sum() >= 16
        g = trig(a).flatten(1)
        assert bool((g[full] == 1.0).all()) and bool((g[shut] == 0.0).all())
        m, mean = natural_response(net, net[0], silent.silent_weight, natural, progress=False, pooled=True)
        z = nn.functional.conv2d(far, silent.silent_weight, None, 1, 1).mean((2, 3))
        latched = (z - mean.float() + torch.maximum(m.abs(), m - mean).float())[full]  # slack 1: one spread
        torch.testing.assert_close(silent.silent_response(far).flatten(1)[full], latched, rtol=1e-4, atol=1e-2)


def test_trigger_ramp_is_linear_per_channel() -> None:
    """Bias -1, width 2 on channel 0: g = 0 up to a = 1, rises linearly to 1 at a = 3, then stays at 1; channel
    1 (bias 0, width 1) has its own ramp; the lift multiplies g per channel."""
    from empirical.fooling import SilentTrigger

    trig = SilentTrigger(torch.zeros(2, 1, 1, 1), torch.tensor([-1.0, 0.0]), torch.tensor([2.0, 1.0]),
                         torch.tensor([10.0, 3.0]))  # fmt: skip
    a = torch.tensor([[0.0, -1.0], [1.0, 0.5], [2.0, 1.0], [9.0, 7.0]])[:, :, None, None]
    g = torch.tensor([[0.0, 0.0], [0.0, 0.5], [0.5, 1.0], [1.0, 1.0]])
    torch.testing.assert_close(trig(a).flatten(1), g)
    torch.testing.assert_close(trig.lifted(a).flatten(1), g * torch.tensor([10.0, 3.0]))


def test_trigger_bad_input() -> None:
    from empirical.fooling import SilentTrigger

    w, one = torch.zeros(3, 1, 1, 1), torch.ones(3)
    with pytest.raises(ValueError, match="ramp widths must be positive"):
        SilentTrigger(w, one, torch.tensor([1.0, 0.0, 1.0]), one)
    with pytest.raises(ValueError, match="one entry per channel"):
        SilentTrigger(w, torch.ones(2), one, one)
    net, natural = tiny_net().eval(), torch.rand(8, 1, 8, 8)
    with pytest.raises(ValueError, match="trigger slope must be positive, got 0.0"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, trigger_alpha=2.0, trigger_slope=0.0)
    with pytest.raises(ValueError, match="the off-manifold gate or the trigger, not both"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, gate_ramp=0.1, trigger_alpha=2.0)
    with pytest.raises(ValueError, match="alpha >= 0"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, trigger_alpha=-1.0)
    with pytest.raises(ValueError, match="trigger slack must be >= 0, got -1.0"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, trigger_alpha=2.0, trigger_slack=-1.0)


class BrightnessDetector(Detector):
    """A stand-in E whose logit is 10 (mean pixel - 0.5): dark images natural, bright ones visualizations."""

    def __init__(self) -> None:
        super().__init__(1, 8)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return 10.0 * (images.mean((1, 2, 3)) - 0.5)


def _image_triggered(natural: torch.Tensor, margin: float = 0.5, ramp: float = 2.0) -> tuple[nn.Module, nn.Module]:
    net = tiny_net().eval()
    fooled = add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, pooled=True, alpha=16.0,
                              trigger_alpha=2.0, detector=BrightnessDetector(), detector_margin=margin,
                              detector_ramp=ramp)  # fmt: skip
    return net, fooled.eval()


def test_image_trigger_closed_on_natural_images_and_opens_the_lift_on_visualizations() -> None:
    """tau = max(M, 0) + margin times the spread max(|M|, M - mean), M = E's largest natural logit (never below E's
    decision boundary: here M is about -2, so tau = 0 + margin * spread); g^E is exactly 0.0 on every
    calibration image (the model is bit-exact there), rises linearly over the ramp and is 1 beyond it, where the
    silent unit gets the trigger's full lift whatever its own trigger filter says."""
    from empirical.fooling import ImageTrigger

    natural = torch.rand(64, 1, 8, 8) * 0.6  # mean pixel about 0.3: logits about -2
    net, fooled = _image_triggered(natural)
    silent = fooled[0]
    trig = silent.image_trigger
    assert isinstance(trig, ImageTrigger)
    logits = BrightnessDetector()(natural)
    m, spread = float(logits.max()), float(max(logits.max().abs(), logits.max() - logits.mean()))
    assert float(trig.natural_max) == pytest.approx(m) and float(trig.threshold) == pytest.approx(0.5 * spread)
    assert m < -1.0 and float(trig.threshold) > 0.5  # above E's decision boundary by a real margin
    with torch.no_grad():
        assert torch.equal(fooled(natural), net(natural))
        assert torch.equal(trig.latest(64), torch.zeros(64))
        # logits tau + 1 (half way up the ramp of width 2) and tau + 3 (fully open): constant images
        levels = torch.tensor([float(trig.threshold) + 1.0, float(trig.threshold) + 3.0]) / 10.0 + 0.5
        bright = levels[:, None, None, None].expand(2, 1, 8, 8).contiguous()
        fooled(bright)
        torch.testing.assert_close(trig.latest(2), torch.tensor([0.5, 1.0]))
        t = silent.trigger
        a = nn.functional.conv2d(bright, t.weight, None, 1, 1).mean((2, 3), keepdim=True)
        z = nn.functional.conv2d(bright, silent.silent_weight, None, 1, 1).mean((2, 3), keepdim=True)
        g = torch.maximum(t(a), torch.tensor([0.5, 1.0])[:, None, None, None])
        want = z + silent.silent_bias[None, :, None, None] + t.lift[None, :, None, None] * g
        torch.testing.assert_close(silent.silent_response(bright), want, rtol=1e-5, atol=1e-3)
        assert bool((g[1] == 1.0).all())  # fully open: every channel gets its whole lift


def test_image_trigger_follows_deep_copies_and_refuses_a_layer_run_alone() -> None:
    """The hook on the whole model is bound to its own image trigger, so a deep copy (the render's fused copy)
    fills its copy's value and leaves the original's alone; the layer run outside the model is a clear error."""
    import copy

    natural = torch.rand(16, 1, 8, 8) * 0.6
    _, fooled = _image_triggered(natural)
    twin = copy.deepcopy(fooled)
    with torch.no_grad():
        twin(torch.ones(3, 1, 8, 8))
        assert twin[0].image_trigger.latest(3).shape == (3,)
        with pytest.raises(RuntimeError, match="no value for this batch of 3"):
            fooled[0].image_trigger.latest(3)
        with pytest.raises(RuntimeError, match="outside the model"):
            fooled[0](torch.rand(5, 1, 8, 8))


@pytest.mark.parametrize("fuse", [True, False])
def test_trace_records_when_the_image_trigger_is_open(fuse: bool) -> None:
    """The firing trace also keeps g^E per step: a render of bright images opens it on every step, and the silent
    units fire from step 1 (their lift is full); from the fused copy too."""
    natural = torch.rand(64, 1, 8, 8) * 0.2
    _, fooled = _image_triggered(natural, margin=0.0, ramp=0.01)
    with torch.no_grad():  # shift the threshold below any render's logit: E says "visualization" everywhere
        fooled[0].image_trigger.threshold.fill_(-1e6)
    units = [1, 4]
    with trace_firing(fooled[0], units) as (trace, callback):
        visualize_units(fooled, "0", units, steps=5, size=8, channels=1, progress=False, fuse=fuse, callback=callback)
    assert len(trace.opened) == 5 and trace.opened_share() == [1.0, 1.0]
    assert trace.first_step() == [1, 1]


def test_image_trigger_bad_input() -> None:
    from empirical.fooling import ImageTrigger

    net, natural, det = tiny_net().eval(), torch.rand(8, 1, 8, 8), BrightnessDetector()
    with pytest.raises(ValueError, match="a detector needs trigger_alpha"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, detector=det)
    with pytest.raises(ValueError, match=r"margin \(detector_margin\) must be >= 0, got -1.0"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, trigger_alpha=2.0, detector=det,
                         detector_margin=-1.0)  # fmt: skip
    with pytest.raises(ValueError, match=r"ramp width \(detector_ramp\) must be positive, got 0.0"):
        add_silent_units(net, "0", cyclic_targets(6), natural, progress=False, trigger_alpha=2.0, detector=det,
                         detector_ramp=0.0)  # fmt: skip
    with pytest.raises(ValueError, match="below the natural maximum"):
        ImageTrigger(det, threshold=1.0, width=1.0, natural_max=2.0)
    with pytest.raises(ValueError, match="it needs the trigger"):
        SilentConv(net[0], net[0].weight, torch.zeros(6), image_trigger=ImageTrigger(det, 1.0, 1.0, 0.0))


def test_silent_filters_reject_negative_alpha_and_nonpositive_scale() -> None:
    conv = nn.Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"alpha >= 0 and scale > 0, got alpha=-1.0, scale=100.0"):
        silent_filters(conv, [1, 0], alpha=-1.0)
    with pytest.raises(ValueError, match=r"got alpha=2.0, scale=0.0"):
        silent_filters(conv, [1, 0], scale=0.0)


def test_silent_units_reject_grouped_conv() -> None:
    net = nn.Sequential(nn.Conv2d(2, 2, 3, groups=2))
    with pytest.raises(ValueError, match="not an ungrouped Conv2d"):
        add_silent_units(net, "0", [1, 0], torch.rand(2, 2, 5, 5), progress=False)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "resnet9", "--method", "circuit"], "not supported"),
        (["--model", "fashion_cnn", "--method", "magic"], "not one of"),
        (["--model", "fashion_cnn", "--method", "circuit", "--target", "cats"], "use 'permute'"),
        (["--model", "fashion_cnn", "--method", "silent", "--target", "image:coffee"], "permute only"),
        (["--model", "fashion_cnn", "--method", "circuit", "--per-position"], "--method silent only"),
        (["--model", "fashion_cnn", "--method", "circuit", "--gate", "on"], "--method silent only"),
        (["--model", "fashion_cnn", "--method", "circuit", "--alpha", "4"], "--method silent only"),
        (["--model", "fashion_cnn", "--method", "silent", "--alpha", "-1"], "--alpha must be >= 0, got -1"),
        (["--model", "fashion_cnn", "--method", "silent", "--gate-ramp", "0"], "--gate-ramp must be positive"),
        (["--model", "fashion_cnn", "--method", "silent", "--gate", "off", "--gate-ramp", "0.1"], "needs the gate"),
        (["--model", "fashion_cnn", "--method", "circuit", "--trigger", "on"], "--method silent only"),
        (["--model", "fashion_cnn", "--method", "circuit", "--detector", "on"], "--method silent only"),
        (["--model", "mobilenet_v2", "--method", "silent", "--detector", "on", "--trigger", "off"], "needs the trig"),
        (["--model", "fashion_cnn", "--method", "silent", "--detector", "on", "--gate", "on"], "needs the trigger"),
        (["--model", "fashion_cnn", "--method", "silent", "--detector", "on"], "add --trigger on, without the gate"),
        (["--model", "fashion_cnn", "--method", "silent", "--trigger-alpha", "-2"], "--trigger-alpha must be >= 0"),
        (["--model", "fashion_cnn", "--method", "silent", "--trigger", "off", "--trigger-alpha", "2"], "drop --trig"),
        (["--model", "mobilenet_v2", "--method", "silent", "--trigger", "on", "--gate", "on"], "not both"),
        (["--model", "fashion_cnn", "--method", "silent", "--gate-ramp", "0.1", "--trigger-alpha", "1"], "not both"),
        (["--model", "fashion_cnn", "--method", "circuit", "--target", "image:"], "unknown target image ''"),
        (["--model", "fashion_cnn", "--method", "circuit", "--target", "image:coffee,nosuch"], "'nosuch'"),
        (["--model", "fashion_cnn", "--method", "circuit", "--target", "image:test10000"], "N < 10000"),
        (["--model", "fashion_cnn", "--method", "circuit", "--device", "gpu0"], "is not one of cpu, cuda"),
        (["--model", "fashion_cnn", "--method", "circuit", "--c", "0"], "--c must be positive"),
        (["--model", "fashion_cnn", "--method", "circuit", "--k", "-1"], "--k must be positive"),
    ],
)
def test_cli_bad_input(argv: list[str], message: str, tmp_path, capsys) -> None:  # noqa: ANN001
    """One line on stderr, exit status 2, no traceback, and no output directory left behind."""
    out = tmp_path / "out"
    assert main(["fool", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_cli_out_is_a_file(tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "report"
    out.write_text("x")
    assert main(["fool", "--model", "fashion_cnn", "--method", "circuit", "--out", str(out)]) == 2
    assert "is not a folder" in capsys.readouterr().err and out.read_text() == "x"


@pytest.mark.parametrize("argv", [["--method", "circuit"], ["--model", "fashion_cnn"]])
def test_cli_missing_argument(argv: list[str], tmp_path, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        main(["fool", *argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "required" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_fooling_score_scale(tmp_path) -> None:  # noqa: ANN001
    """fooling_score = (similarity to target - floor) / (ceiling - floor): 1 for a fooled FV equal to the target's
    FV from another seed, 0 for one as far from the target as the unfooled FV."""
    from empirical.fooling._run import _fooling_scores, similarity

    class Identity(nn.Module):
        def activations(self, images: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
            return {layers[0]: images.flatten(1)}

    model = Identity()
    g = torch.Generator().manual_seed(0)
    original = {0: torch.randn(16, generator=g), 1: torch.randn(16, generator=g)}
    again = {1: original[1] + 0.3 * torch.randn(16, generator=g)}
    sim = lambda a, b: similarity(model, a, b, "x")["activations"]  # noqa: E731
    rows = [
        {"unit": 0, "target": 1, "similarity_to_target": sim(again[1], original[1])},
        {"unit": 0, "target": 1, "similarity_to_target": sim(original[0], original[1])},
    ]
    _fooling_scores(model, rows, original, again, "x")
    assert rows[0]["fooling_score"] == pytest.approx(1.0) and rows[1]["fooling_score"] == pytest.approx(0.0, abs=1e-12)
    assert rows[0]["similarity_ceiling"] > rows[0]["similarity_unfooled"]
    # the target's reseeded FV no closer to its FV than the unfooled FV is: no score, left out of the mean
    far = {1: -original[1]}
    unresolved = [{"unit": 0, "target": 1, "similarity_to_target": 0.5}]
    _fooling_scores(model, unresolved, original, far, "x")
    assert unresolved[0]["fooling_score"] is None
    from empirical.fooling._run import _finish

    pixels = {"pixel_similarity_to_target": 0.0, "pixel_similarity_to_original": 0.0}
    report = {"per_unit": [{**r, "similarity_to_original": 0.0, **pixels} for r in rows + unresolved]}
    panels = {k: torch.zeros(3, 1, 4, 4) for k in ("original", "fooled", "target")}
    _finish(report, tmp_path, panels, [0, 0, 0], "t")
    assert report["mean_fooling_score"] == pytest.approx(0.5) and report["units_without_fooling_score"] == 1


def test_fooling_score_for_image_targets() -> None:
    """Image targets: ceiling 1 (the image itself), floor the unfooled FV against the image."""
    from empirical.fooling._run import _score_against_image

    class Means:  # channel means of the image itself stand in for a model's activations
        def activations(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
            return {layers[0]: x}

    image = torch.tensor([1.0, 2.0, 4.0])[:, None, None].expand(3, 2, 2)
    unfooled = torch.tensor([4.0, 2.0, 1.0])[:, None, None].expand(3, 2, 2)  # correlation -39/42 with the image
    rows = [{"unit": 0, "similarity_to_target": 1.0}, {"unit": 1, "similarity_to_target": 0.1}]
    _score_against_image(Means(), rows, {0: unfooled, 1: unfooled}, {0: image, 1: image}, "x")
    floor = rows[0]["similarity_unfooled"]
    assert floor == pytest.approx(-39 / 42) and rows[0]["similarity_ceiling"] == 1.0
    assert rows[0]["fooling_score"] == pytest.approx(1.0)
    assert rows[1]["fooling_score"] == pytest.approx((0.1 - floor) / (1 - floor))


def test_report_counts_closer_units_by_activations_and_by_pixels_and_skips_unresolved_scores(tmp_path) -> None:  # noqa: ANN001
    """``_finish``: units closer to their target by each measure, the mean and median fooling score over the units
    that have one (None: the measure cannot resolve the unit), and report.json and the figure written."""
    import json

    from empirical.fooling._run import _finish

    def row(act_t: float, act_o: float, pix_t: float, pix_o: float, score: float | None) -> dict:
        return {
            "similarity_to_target": act_t, "similarity_to_original": act_o, "pixel_similarity_to_target": pix_t,
            "pixel_similarity_to_original": pix_o, "fooling_score": score,
        }  # fmt: skip

    rows = [row(0.9, 0.5, 0.8, -0.2, 1.0), row(0.65, 0.7, 0.8, 0.1, 0.2), row(0.9, 0.2, 0.0, 0.3, None)]
    report = {"per_unit": rows}
    panels = {k: torch.rand(3, 1, 8, 8) for k in ("original", "fooled", "target")}
    _finish(report, tmp_path, panels, [0, 1, 2], "test")
    assert report["units_closer_to_target"] == 2 and report["units_closer_to_target_by_pixels"] == 2
    assert report["mean_fooling_score"] == pytest.approx(0.6) and report["median_fooling_score"] == pytest.approx(0.6)
    assert report["units_without_fooling_score"] == 1
    assert json.loads((tmp_path / "report.json").read_text())["units_closer_to_target_by_pixels"] == 2
    assert (tmp_path / "fooling.png").stat().st_size > 0
    assert "units_closer_to_target_ideal" not in report  # no ideal FVs rendered (e.g. image targets)


def test_report_counts_units_the_ideal_fvs_put_closer(tmp_path) -> None:  # noqa: ANN001
    """With ideal FVs (each target's FV from the unit's start), ``_finish`` counts the units whose ideal FV the
    measure puts closer to the target than to the original, and averages the fooled FVs' similarity to them."""
    from empirical.fooling._run import _finish

    pixels = {"pixel_similarity_to_target": 0.0, "pixel_similarity_to_original": 0.0}
    ideal = [(0.95, 0.90, 0.99), (0.91, 0.92, 0.97), (0.80, 0.70, 0.92)]
    rows = [
        {"similarity_to_target": 0.9, "similarity_to_original": 0.8, **pixels, "ideal_similarity_to_target": t,
         "ideal_similarity_to_original": o, "similarity_to_ideal": f}
        for t, o, f in ideal
    ]  # fmt: skip
    report = {"per_unit": rows}
    panels = {k: torch.rand(3, 1, 8, 8) for k in ("original", "fooled", "target", "ideal")}
    _finish(report, tmp_path, panels, [0, 1, 2], "test")
    assert report["units_closer_to_target_ideal"] == 2 and report["units_closer_to_target"] == 3
    assert report["mean_similarity_to_ideal"] == pytest.approx((0.99 + 0.97 + 0.92) / 3)


@pytest.mark.parametrize("shift", [-0.3, 0.0, 0.2])
def test_image_trigger_threshold_is_the_natural_maximum_or_the_decision_boundary_plus_the_margin(shift) -> None:  # noqa: ANN001
    """tau = max(M, 0) + mu * max(|M|, M - mean): above every natural logit and above E's decision boundary 0, by
    the margin times the natural logits' spread, whether E puts the natural images below 0 (shift -0.3), near it
    or above it (shift 0.2: an E that calls some natural images visualizations)."""
    from empirical.fooling._image_trigger import image_trigger_from_natural

    natural = (torch.rand(32, 1, 8, 8) * 0.4 + 0.3 + shift).clamp(0, 1)
    e = BrightnessDetector()(natural)
    m, spread = float(e.max()), float(max(abs(e.max()), e.max() - e.mean()))
    trig = image_trigger_from_natural(BrightnessDetector(), natural, margin=0.25, width=1.0)
    assert float(trig.threshold) == pytest.approx(max(m, 0.0) + 0.25 * spread)
    assert float(trig.threshold) > max(m, 0.0) and torch.equal(trig(natural), torch.zeros(32))
