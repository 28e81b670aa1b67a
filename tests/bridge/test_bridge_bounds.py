"""Certified Lipschitz upper bounds of small synthetic networks against exact norms and sampled gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.functional import jacobian

from empirical.bridge import (
    chain_steps,
    conv_fft_bound,
    conv_frobenius_bound,
    conv_offset_bound,
    forward_ops,
    linear_norm,
    lipschitz_upper_bound,
    maxpool_bound,
)

torch.set_default_dtype(torch.float32)


def _seed_bn(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random running statistics and affine parameters (small variances: BatchNorm scales up)."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            m.running_var.uniform_(0.05, 2.0, generator=g)
            m.running_mean.normal_(generator=g).mul_(0.1)
            m.weight.data.normal_(generator=g)
    return net.eval()


def _unit(net: nn.Module, layer: str | None, index: int) -> callable:
    """f(x) = channel mean of ``layer`` (``None``: output) at ``index``, for a plain Sequential net."""

    def f(x: Tensor) -> Tensor:
        out = net(x) if layer is None else net[: int(layer) + 1](x)
        return out[:, index].flatten(1).mean(1) if out.ndim > 2 else out[:, index]

    return f


def _max_grad(f: callable, shape: tuple[int, ...], n: int = 256, ascent: int = 30, seed: int = 0) -> float:
    """Largest gradient norm over random points, refined by projected ascent on ||grad f||^2."""
    x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    best = 0.0
    for _ in range(ascent):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
        norms = g.flatten(1).norm(dim=1)
        best = max(best, float(norms.detach().max()))
        (h,) = torch.autograd.grad(norms.sum(), x) if norms.requires_grad else (torch.randn_like(x),)
        x = (x + 0.05 * h.sign() + 0.02 * torch.randn_like(x)).clamp(0, 1)
    return best


# ---- single layers ---------------------------------------------------------------------------------------------
def test_linear_norm_is_the_largest_singular_value() -> None:
    w = torch.randn(7, 5, generator=torch.Generator().manual_seed(1))
    assert linear_norm(w) == pytest.approx(float(torch.linalg.svdvals(w.double())[0]), rel=1e-12)


CONVS = [  # c_in, c_out, kernel, stride, padding, dilation, groups, input side
    (3, 5, 3, 1, 1, 1, 1, 7),
    (4, 6, 3, 2, 1, 1, 2, 8),
    (4, 4, 3, 1, 0, 2, 4, 9),
    (2, 3, 5, 3, 2, 1, 1, 10),
    (3, 3, 3, 1, "same", 2, 1, 6),
    (6, 6, 3, 2, 1, 1, 6, 9),
]


@pytest.mark.parametrize("cfg", CONVS)
def test_conv_bounds_dominate_the_exact_operator_norm(cfg: tuple) -> None:
    ci, co, k, s, p, d, g, n = cfg
    torch.manual_seed(0)
    conv = nn.Conv2d(ci, co, k, stride=s, padding=p, dilation=d, groups=g, bias=False).double()
    jac = jacobian(lambda x: conv(x).flatten(), torch.zeros(1, ci, n, n, dtype=torch.float64)).reshape(-1, ci * n * n)
    exact = float(torch.linalg.matrix_norm(jac, ord=2))
    pad = (k - 1) * d if p == "same" else p
    fft = conv_fft_bound(conv.weight, g, (n, n), (pad, pad), (d, d))
    offset, frob = conv_offset_bound(conv.weight, g), conv_frobenius_bound(conv.weight)
    assert exact <= fft * (1 + 1e-9) <= offset * (1 + 1e-9) <= frob * (1 + 1e-9)
    assert fft <= 2.0 * exact  # the FFT bound is not vacuous


def test_conv_fft_bound_is_exact_for_circular_friendly_kernels() -> None:
    """A 1x1 conv is a matrix per pixel: every bound equals its spectral norm."""
    w = torch.randn(4, 3, 1, 1, generator=torch.Generator().manual_seed(2))
    exact = linear_norm(w[:, :, 0, 0])
    assert conv_fft_bound(w, 1, (5, 5), (0, 0), (1, 1)) == pytest.approx(exact, rel=1e-10)
    assert conv_offset_bound(w) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize(("k", "s", "expected"), [(2, 2, 1.0), (3, 2, 2.0), (3, 1, 3.0), (3, 3, 1.0)])
def test_maxpool_overlap_bound(k: int, s: int, expected: float) -> None:
    assert maxpool_bound(nn.MaxPool2d(k, s)) == pytest.approx(expected)


def test_overlapping_maxpool_can_exceed_one() -> None:
    """Why 1 is wrong for overlapping windows: one pixel that wins 4 windows of a 3x3/2 pool has gain 2."""
    pool = nn.MaxPool2d(3, 2)
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    gain = float(pool(x).norm() / x.norm())
    assert gain == pytest.approx(2.0) and gain <= maxpool_bound(pool)


# ---- whole networks ----------------------------------------------------------------------------------------------
def test_linear_network_bound_is_exact_for_one_layer_and_valid_for_two() -> None:
    torch.manual_seed(3)
    one = nn.Sequential(nn.Flatten(), nn.Linear(12, 5)).eval()
    bound = lipschitz_upper_bound(one, "logits", 2, (3, 2, 2))
    assert bound.upper == pytest.approx(float(one[1].weight[2].detach().double().norm()), rel=1e-8)
    two = nn.Sequential(nn.Flatten(), nn.Linear(12, 9), nn.Linear(9, 5)).eval()
    bound = lipschitz_upper_bound(two, "logits", 1, (3, 2, 2))
    w1, row = two[1].weight.detach().double(), two[2].weight[1].detach().double()
    exact = float((row @ w1).norm())  # f is linear: its Lipschitz constant is its gradient norm
    assert exact <= bound.upper * (1 + 1e-9)
    assert bound.upper == pytest.approx(linear_norm(w1) * float(row.norm()), rel=1e-8)


def test_linear_conv_network_bound_dominates_the_exact_gradient() -> None:
    torch.manual_seed(4)
    net = _seed_bn(nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 3, stride=2)))
    bound = lipschitz_upper_bound(net, "2", 1, (2, 9, 9))
    x = torch.rand(1, 2, 9, 9, requires_grad=True)
    (g,) = torch.autograd.grad(net(x)[:, 1].mean(), x)
    assert float(g.norm()) <= bound.upper * (1 + 1e-5)


def test_composition_rule_product_of_factors() -> None:
    """upper = product of the step bounds (last affine step replaced by the exact readout norm)."""
    torch.manual_seed(5)
    net = _seed_bn(
        nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16, 3),
        )
    )  # fmt: skip
    b = lipschitz_upper_bound(net, "logits", 0, (1, 8, 8))
    kinds = [s.kind for s in b.steps]
    assert kinds == ["Conv2d + BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "AvgPool2d", "Flatten", "Linear"]
    assert b.steps[5].bound == pytest.approx(0.5)  # 2x2 average of disjoint windows: 1/2
    assert b.upper == pytest.approx(math.prod(s.bound for s in b.steps[:-1]) * b.readout, rel=1e-12)
    assert b.readout == pytest.approx(float(net[8].weight[0].detach().double().norm()), rel=1e-6)
    at_relu = lipschitz_upper_bound(net, "5", 2, (1, 8, 8))  # 4x4 positions: readout 1/4
    assert at_relu.readout == pytest.approx(0.25)
    assert at_relu.upper == pytest.approx(math.prod(s.bound for s in at_relu.steps) / 4, rel=1e-12)


RELU_NETS = {
    "cnn": lambda: nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=3), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 4),
    ),
    "mlp": lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                                 nn.Linear(16, 3)),
    "depthwise": lambda: nn.Sequential(
        nn.Conv2d(1, 8, 1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 2, 1), nn.BatchNorm2d(2),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(RELU_NETS))
def test_relu_network_bound_dominates_sampled_gradients(name: str) -> None:
    torch.manual_seed(6)
    net = _seed_bn(RELU_NETS[name]()).double()
    layer = "logits" if name != "depthwise" else "7"
    bound = lipschitz_upper_bound(net, layer, 1, (1, 8, 8))
    f = _unit(net, None if layer == "logits" else layer, 1)
    sampled = _max_grad(f, (1, 8, 8))
    assert 0 < sampled <= bound.upper * (1 + 1e-9)


class InvertedResidual(nn.Module):
    """torchvision's block: ``x + conv(x)`` when ``use_res_connect``."""

    def __init__(self, c: int, expand: int, res: bool) -> None:
        super().__init__()
        self.use_res_connect = res
        self.conv = nn.Sequential(
            nn.Sequential(nn.Conv2d(c, c * expand, 1, bias=False), nn.BatchNorm2d(c * expand), nn.ReLU6()),
            nn.Sequential(nn.Conv2d(c * expand, c * expand, 3, padding=1, groups=c * expand, bias=False),
                          nn.BatchNorm2d(c * expand), nn.ReLU6()),
            nn.Conv2d(c * expand, c, 1, bias=False), nn.BatchNorm2d(c),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MiniMobileNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU6()),
            InvertedResidual(4, 3, True),
            InvertedResidual(4, 2, True),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 5))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), (1, 1)), 1))


class ZooLike(nn.Module):
    """The ZooModel contract: normalisation buffers, ``net``, images in [0, 1]."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
        self.net = net
        self.input_size = (3, 8, 8)

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.mean) / self.std)

    def layer_names(self) -> list[str]:
        return [n for n, _ in self.net.named_modules() if n] + ["logits"]

    def get_layer(self, name: str) -> nn.Module:
        modules = dict(self.net.named_modules())
        if name not in modules or not name:
            raise ValueError(f"unknown layer {name!r}")
        return modules[name]


@pytest.mark.parametrize("layer", ["logits", "features.2", "features.1.conv.1.0", "features.0"])
def test_mobilenet_like_bound_dominates_sampled_gradients(layer: str) -> None:
    torch.manual_seed(7)
    model = ZooLike(_seed_bn(MiniMobileNet())).eval().double()
    bound = lipschitz_upper_bound(model, layer, 1, (3, 8, 8))
    assert bound.forward_error < 1e-6
    assert bound.steps[0].kind.startswith("Normalise + Conv2d")  # 1/std folded into the first conv

    def f(x: Tensor) -> Tensor:
        from empirical.bridge import layer_activation

        act = layer_activation(model, layer, x)
        return act[:, 1].flatten(1).mean(1) if act.ndim > 2 else act[:, 1]

    assert 0 < _max_grad(f, (3, 8, 8), n=64, ascent=15) <= bound.upper * (1 + 1e-9)


def test_residual_rule_is_one_plus_branch() -> None:
    torch.manual_seed(8)
    block = _seed_bn(nn.Sequential(InvertedResidual(4, 2, True)))
    steps, _ = chain_steps(forward_ops(block, "0"), torch.rand(2, 4, 6, 6))
    (res,) = steps
    assert res.bound == pytest.approx(1 + math.prod(c.bound for c in res.children), rel=1e-12)


def test_unknown_module_and_mismatched_forward_are_refused() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU(), nn.Flatten(), nn.Linear(8, 2)).eval()
    with pytest.raises(ValueError, match="GELU"):
        lipschitz_upper_bound(net, "logits", 0, (1, 4, 4))

    class Doubled(nn.Sequential):
        def forward(self, x: Tensor) -> Tensor:
            return 2 * super().forward(x)

    with pytest.raises(ValueError, match="does not reproduce"):
        lipschitz_upper_bound(Doubled(nn.Flatten(), nn.Linear(4, 2)).eval(), "logits", 0, (1, 2, 2))
    with pytest.raises(ValueError, match="out of range"):
        lipschitz_upper_bound(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).eval(), "logits", 5, (1, 2, 2))
