"""Tests of the feature-visualization engine on small synthetic models (and the zoo when present: slow)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from empirical.visualize import (
    PAPER_DEFAULTS,
    AffineWarp,
    FFTImage,
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    channel,
    class_logit,
    color_correlation_matrix,
    decorrelate_colors,
    direction,
    image_seed,
    layer_names,
    neuron,
    per_image,
    render,
    spectrum_scale,
    standard_transforms,
    visualize_units,
    weighted_sum,
)

# Lucent's published constants (lucent/optvis/param/color.py), typed in independently of the engine.
LUCENT_COLOR_SVD_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


def gabor_net() -> nn.Sequential:
    """A small model with meaningful first-layer weights: 4 oriented Gabor filters (and their negatives) on
    luminance, ReLU, then a random conv head and a linear classifier with 3 classes."""
    k = 7
    r = torch.arange(k, dtype=torch.float32) - k // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    filters = []
    for i in range(4):
        a = math.pi * i / 4
        g = torch.exp(-(xx**2 + yy**2) / 8.0) * torch.cos(2 * math.pi * (xx * math.cos(a) + yy * math.sin(a)) / 4)
        filters += [g - g.mean(), g.mean() - g]
    conv = nn.Conv2d(3, 8, k, padding=k // 2)
    torch.manual_seed(0)
    head = nn.Conv2d(8, 4, 3, stride=2, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.stack(filters)[:, None].repeat(1, 3, 1, 1) / 3)
        conv.bias.zero_()
    return nn.Sequential(conv, nn.ReLU(), head, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


class FakeZooModel(nn.Module):
    """The ZooModel interface of docs/interfaces.md around a plain network (fixed input size: a Linear head)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 12 * 12, 5))
        self.input_size = (1, 12, 12)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net((images - 0.5) / 0.25)

    def layer_names(self) -> list[str]:
        return [n for n, _ in self.net.named_modules() if n] + ["logits"]

    def get_layer(self, name: str) -> nn.Module:
        modules = dict(self.net.named_modules())
        if name not in modules or not name:
            raise ValueError(f"unknown layer {name!r}; layers: {', '.join(self.layer_names())}")
        return modules[name]


QUICK = dict(size=32, channels=3, progress=False)


# --- the render loop -------------------------------------------------------------------------------------


def test_render_increases_objective_by_a_large_factor() -> None:
    res = visualize_units(gabor_net(), "1", [1, 3], steps=20, seed=0, **QUICK)
    assert res.images.shape == (2, 3, 32, 32)
    assert float(res.images.min()) >= 0.0 and float(res.images.max()) <= 1.0
    assert np.all(res.objective_start > 0)
    assert np.all(res.objective_final > 10 * res.objective_start), (res.objective_start, res.objective_final)
    assert res.trace.shape == (20, 2)


def test_batched_render_equals_single_renders() -> None:
    net = gabor_net().double()
    units = [0, 3, 5, 6]
    batched = visualize_units(net, "1", units, steps=8, seed=3, dtype=torch.float64, **QUICK)
    for b, unit in enumerate(units):
        single = visualize_units(net, "1", [unit], steps=8, seed=3, dtype=torch.float64, **QUICK)
        torch.testing.assert_close(single.images[0], batched.images[b], atol=1e-9, rtol=0)
        np.testing.assert_allclose(single.objective_final[0], batched.objective_final[b], rtol=1e-9)
    # the order of the units does not matter either
    reordered = visualize_units(net, "1", units[::-1], steps=8, seed=3, dtype=torch.float64, **QUICK)
    torch.testing.assert_close(reordered.images.flip(0), batched.images, atol=1e-9, rtol=0)


def test_batched_render_equals_single_renders_float32_logits() -> None:
    net = gabor_net()
    batched = visualize_units(net, "logits", [0, 2], steps=5, seed=1, **QUICK)
    single = visualize_units(net, "logits", [2], steps=5, seed=1, **QUICK)
    torch.testing.assert_close(single.images[0], batched.images[1], atol=1e-4, rtol=0)


def test_seeds_reproduce_and_differ() -> None:
    net = gabor_net()
    a = visualize_units(net, "1", [2], steps=3, seed=0, **QUICK)
    b = visualize_units(net, "1", [2], steps=3, seed=0, **QUICK)
    c = visualize_units(net, "1", [2], steps=3, seed=1, **QUICK)
    assert torch.equal(a.images, b.images)
    assert not torch.allclose(a.images, c.images)
    assert image_seed(0, 2) != image_seed(1, 2) and image_seed(0, 2) != image_seed(0, 3)


def test_start_units_start_from_another_units_image() -> None:
    """start_units: unit 2 rendered from unit 3's start has unit 3's initial image, then optimises unit 2."""
    net = gabor_net()
    start = visualize_units(net, "1", [2], steps=0, seed=0, start_units=[3], **QUICK)
    assert torch.equal(start.images, visualize_units(net, "1", [3], steps=0, seed=0, **QUICK).images)
    assert not torch.equal(start.images, visualize_units(net, "1", [2], steps=0, seed=0, **QUICK).images)
    own = visualize_units(net, "1", [2, 3], steps=3, seed=0, **QUICK)
    same = visualize_units(net, "1", [2, 3], steps=3, seed=0, start_units=[2, 3], **QUICK)
    assert torch.equal(own.images, same.images)
    moved = visualize_units(net, "1", [2], steps=3, seed=0, start_units=[3], **QUICK)
    assert not torch.allclose(moved.images[0], own.images[0]) and not torch.allclose(moved.images[0], own.images[1])
    with pytest.raises(ValueError, match=r"start_units needs one unit per visualised unit \(2\), got 1"):
        visualize_units(net, "1", [2, 3], steps=1, start_units=[3], **QUICK)


def test_snapshots_at_thresholds_and_pixel_param() -> None:
    res = visualize_units(gabor_net(), "1", [1], steps=4, thresholds=(1, 4), param="pixel", **QUICK)
    assert sorted(res.snapshots) == [1, 4]
    torch.testing.assert_close(res.snapshots[4], res.images)
    with pytest.raises(ValueError, match="thresholds"):
        visualize_units(gabor_net(), "1", [1], steps=4, thresholds=(5,), **QUICK)
    with pytest.raises(ValueError, match="parameterisation"):
        visualize_units(gabor_net(), "1", [1], steps=1, param="cppn", **QUICK)


def test_model_state_is_restored() -> None:
    net = gabor_net().train()
    visualize_units(net, "1", [1], steps=1, **QUICK)
    assert net.training and all(p.requires_grad for p in net.parameters())


# --- Lucent parity of the deterministic parts --------------------------------------------------------------


@pytest.mark.parametrize(("h", "w"), [(8, 8), (6, 9), (224, 224)])
def test_spectrum_scale_matches_lucent(h: int, w: int) -> None:
    # Lucent: fy = fftfreq(h)[:, None]; fx = fftfreq(w)[: w // 2 + 1 (+1 if w odd)]; 1 / max(sqrt(.), 1/max(h, w))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + 2 if w % 2 else w // 2 + 1]
    expected = 1.0 / np.maximum(np.sqrt(fx * fx + fy * fy), 1.0 / max(w, h))
    got = spectrum_scale(h, w).numpy()
    # columns beyond w//2 + 1 exist in Lucent only as parameters that irfftn(s=(h, w)) discards
    np.testing.assert_allclose(got, expected[:, : w // 2 + 1], rtol=1e-12)
    if (h, w) == (224, 224):
        assert got[0, 0] == pytest.approx(224.0) and got[0, 1] == pytest.approx(224.0)
        assert got[1, 1] == pytest.approx(224 / math.sqrt(2)) and got[112, 112] == pytest.approx(math.sqrt(2))


def test_color_decorrelation_matches_lucent() -> None:
    normalized = LUCENT_COLOR_SVD_SQRT / np.max(np.linalg.norm(LUCENT_COLOR_SVD_SQRT, axis=0))
    np.testing.assert_allclose(color_correlation_matrix(torch.float64).numpy(), normalized, rtol=1e-12)
    assert normalized[0, 0] == pytest.approx(0.26 / math.sqrt(0.26**2 + 2 * 0.27**2))
    x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64).reshape(1, 3, 1, 1).repeat(2, 1, 2, 3)
    # Lucent: (x.permute(0, 2, 3, 1) @ normalized.T).permute(0, 3, 1, 2)
    expected = np.einsum("bhwc,cd->bdhw", x.permute(0, 2, 3, 1).numpy(), normalized.T)
    np.testing.assert_allclose(decorrelate_colors(x).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(expected[0, :, 0, 0], normalized @ [1.0, -2.0, 0.5])


def test_fft_image_matches_lucent_formula() -> None:
    h, w = 6, 8
    gen = [torch.Generator().manual_seed(0)]
    image = FFTImage(1, 3, h, w, generators=gen, dtype=torch.float64)
    spectrum = image.spectrum.detach().numpy()
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[: w // 2 + 1]
    scale = 1.0 / np.maximum(np.sqrt(fx * fx + fy * fy), 1.0 / max(w, h))
    raw = np.fft.irfft2(scale * (spectrum[..., 0] + 1j * spectrum[..., 1]), s=(h, w), norm="ortho") / 4.0
    normalized = LUCENT_COLOR_SVD_SQRT / np.max(np.linalg.norm(LUCENT_COLOR_SVD_SQRT, axis=0))
    expected = 1.0 / (1.0 + np.exp(-np.einsum("ij,bjhw->bihw", normalized, raw)))
    np.testing.assert_allclose(image().detach().numpy(), expected, rtol=1e-10)


def test_paper_defaults() -> None:
    d = PAPER_DEFAULTS
    assert (d.steps, d.lr, d.size, d.param, d.decorrelate) == (512, 0.05, 224, "fft", True)
    assert (d.pad, d.pad_value, d.jitter_first, d.jitter_last) == (12, 0.5, 8, 4)
    assert d.scales[0] == pytest.approx(0.9) and d.scales[-1] == pytest.approx(1.1) and len(d.scales) == 11
    assert min(d.angles) == -10 and max(d.angles) == 10 and d.angles.count(0.0) == 6
    assert [type(t) for t in standard_transforms()] == [Pad, Jitter, RandomScale, RandomRotate, Jitter]


# --- transforms ------------------------------------------------------------------------------------------


def test_fused_jitter_is_an_exact_integer_shift() -> None:
    x = torch.rand(2, 3, 10, 10, dtype=torch.float64)
    warp = AffineWarp([Pad(3, 0.5), Jitter(4)], 10, 10)
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    theta = warp.sample(gens, 5)
    for step in range(5):
        out = warp.warp(x, theta[step])
        padded = torch.nn.functional.pad(x, [3] * 4, value=0.5)
        for b in range(2):
            dx, dy = (round(-float(theta[step, b, i, 2]) * 16 / 2) for i in (0, 1))
            assert 0 <= dx < 4 and 0 <= dy < 4
            expected = torch.zeros_like(padded[b])
            expected[:, dy:, dx:] = padded[b, :, : 16 - dy, : 16 - dx]
            torch.testing.assert_close(out[b], expected, atol=1e-12, rtol=0)


def test_crop_is_the_centre_of_the_padded_warp() -> None:
    x = torch.rand(3, 3, 10, 12, dtype=torch.float64)
    transforms = [Pad(3, 0.5), Jitter(4), RandomScale((0.9, 1.1)), RandomRotate((-10.0, 7.0))]
    full, crop = AffineWarp(transforms, 10, 12), AffineWarp(transforms, 10, 12, crop=True)
    gens = [torch.Generator().manual_seed(s) for s in range(3)]
    theta_full = full.sample(gens, 1)[0]
    theta_crop = crop.sample([torch.Generator().manual_seed(s) for s in range(3)], 1)[0]
    out = crop.warp(x, theta_crop)
    assert out.shape == (3, 3, 10, 12)
    torch.testing.assert_close(out, full.warp(x, theta_full)[:, :, 3:13, 3:15], atol=1e-10, rtol=0)
    torch.testing.assert_close(crop.warp(x, None), x)


def test_fused_rotation_by_90_degrees_and_unit_scale() -> None:
    x = torch.rand(1, 2, 7, 7, dtype=torch.float64)
    warp = AffineWarp([RandomRotate((90.0,)), RandomScale((1.0,))], 7, 7)
    out = warp.warp(x, warp.sample([torch.Generator().manual_seed(0)], 1)[0])
    torch.testing.assert_close(out, torch.rot90(x, k=1, dims=(3, 2)), atol=1e-12, rtol=0)


def test_transform_validation() -> None:
    with pytest.raises(ValueError, match="before"):
        AffineWarp([Jitter(2), Pad(2)], 8, 8)
    with pytest.raises(ValueError):
        Jitter(0)
    with pytest.raises(ValueError):
        RandomScale(())
    assert AffineWarp(standard_transforms(), 224, 224).out_height == 248


# --- objectives ------------------------------------------------------------------------------------------


def test_objective_arithmetic_and_kinds() -> None:
    act = torch.arange(2 * 3 * 3 * 3, dtype=torch.float64).reshape(2, 3, 3, 3)
    acts = {"a": act, "logits": torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)}
    ch = channel("a", 1)(acts)
    torch.testing.assert_close(ch, act[:, 1].mean((1, 2)))
    torch.testing.assert_close(channel("a", [2, 0])(acts), torch.stack([act[0, 2].mean(), act[1, 0].mean()]))
    torch.testing.assert_close(neuron("a", 1)(acts), act[:, 1, 1, 1])
    torch.testing.assert_close(class_logit(1)(acts), torch.tensor([2.0, 4.0], dtype=torch.float64))
    combo = 2 * channel("a", 1) - class_logit(0) / 2 + 1
    torch.testing.assert_close(combo(acts), 2 * ch - acts["logits"][:, 0] / 2 + 1)
    assert set(combo.layers) == {"a", "logits"}
    ws = weighted_sum([channel("a", 0), channel("a", 2)], [0.25, -1.0])(acts)
    torch.testing.assert_close(ws, 0.25 * act[:, 0].mean((1, 2)) - act[:, 2].mean((1, 2)))
    pi = per_image([channel("a", 0), class_logit(1)])(acts)
    torch.testing.assert_close(pi, torch.stack([act[0, 0].mean(), torch.tensor(4.0, dtype=torch.float64)]))
    v = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    expected = (act[:, 0] / act.norm(dim=1)).flatten(1).mean(1)
    torch.testing.assert_close(direction("a", v)(acts), expected)


def test_direction_objective_renders() -> None:
    res = render(gabor_net(), direction("1", torch.ones(8)), [0, 1], size=24, steps=3, progress=False)
    assert res.images.shape == (2, 3, 24, 24) and res.objective_final.shape == (2,)


# --- errors ----------------------------------------------------------------------------------------------


def test_unknown_layer_lists_layer_names() -> None:
    net = gabor_net()
    with pytest.raises(ValueError, match=r"unknown layer 'conv9'.*layers: 0, 1, 2") as info:
        visualize_units(net, "conv9", [0], steps=1, **QUICK)
    assert "logits" in str(info.value)
    assert layer_names(net)[:3] == ["0", "1", "2"] and layer_names(net)[-1] == "logits"


def test_unit_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"unit 8 is out of range for layer '1' with 8 units"):
        visualize_units(gabor_net(), "1", [0, 8], steps=1, **QUICK)
    with pytest.raises(ValueError, match=r"unit 3 is out of range for layer 'logits'"):
        visualize_units(gabor_net(), "logits", [3], steps=1, **QUICK)
    with pytest.raises(ValueError, match="non-negative"):
        visualize_units(gabor_net(), "1", [-1], steps=1, **QUICK)
    with pytest.raises(ValueError, match="no units"):
        visualize_units(gabor_net(), "1", [], steps=1, **QUICK)


def test_wrong_input_sizes() -> None:
    model = FakeZooModel()
    res = visualize_units(model, "1", [3], steps=2, progress=False)  # size from input_size
    assert res.images.shape == (1, 1, 12, 12)
    with pytest.raises(ValueError, match=r"cannot process images of shape \(1, 1, 16, 16\)"):
        visualize_units(model, "logits", [0], steps=1, size=16, progress=False)
    # the padded frame (12 px + 2 x 1 px: pad scaled to the image size) does not fit
    with pytest.raises(ValueError, match=r"transformed images of shape \(1, 1, 14, 14\).*crop=True"):
        visualize_units(model, "logits", [0], steps=1, progress=False)  # the padded frame does not fit
    assert visualize_units(model, "logits", [0], steps=2, crop=True, progress=False).images.shape == (1, 1, 12, 12)
    with pytest.raises(ValueError, match="takes 1-channel images"):
        visualize_units(model, "logits", [0], steps=1, channels=3, progress=False)
    with pytest.raises(ValueError, match="unknown layer 'features.17'"):
        visualize_units(model, "features.17", [0], steps=1, progress=False)
    with pytest.raises(ValueError, match="no input_size: pass size"):
        visualize_units(gabor_net(), "1", [0], steps=1, channels=3, progress=False)
    with pytest.raises(ValueError, match="size must be"):
        visualize_units(gabor_net(), "1", [0], steps=1, size=0, channels=3, progress=False)
    with pytest.raises(ValueError, match="3 channels"):
        visualize_units(gabor_net(), "1", [0], steps=1, size=8, channels=1, decorrelate=True, progress=False)


# --- the real zoo (when it is installed) -------------------------------------------------------------------


@pytest.mark.slow
def test_zoo_mobilenet_render_small() -> None:
    models = pytest.importorskip("empirical.models")
    model = models.load_model("mobilenet_v2", weights=None, device="cpu")
    res = visualize_units(model, "features.17", [3, 42], steps=25, size=64, progress=False)
    assert res.images.shape == (2, 3, 64, 64)
    # random weights: the objective starts near 0 and climbs well above it (10 steps were too few to be sure)
    assert np.all(res.objective_final > res.objective_start + 0.5), (res.objective_start, res.objective_final)


def test_default_transforms_scale_with_image_size() -> None:
    from empirical.visualize import Jitter, Pad, standard_transforms, transforms_for_size

    assert transforms_for_size(224) == standard_transforms()
    small = transforms_for_size(28)
    assert small[0] == Pad(2, 0.5) and small[1] == Jitter(1) and small[-1] == Jitter(1)
    assert transforms_for_size(112)[0] == Pad(6, 0.5)
