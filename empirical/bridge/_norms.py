"""Operator norms of single layers, all in the 2-norm, as maps between flattened tensors."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

#: Relative safety margin added to every computed operator norm (float64 SVD/FFT round-off is ~1e-15).
SAFETY = 1e-9


def linear_norm(weight: Tensor) -> float:
    r"""Exact :math:`\|W\|_2 = \sigma_{\max}(W)` (float64 SVD)."""
    return float(torch.linalg.matrix_norm(weight.detach().double().cpu(), ord=2))


def _grouped(weight: Tensor, groups: int) -> Tensor:
    """Conv weight (c_out, c_in/g, kh, kw) -> (g, c_out/g, c_in/g, kh, kw), float64 on the CPU."""
    w = weight.detach().double().cpu()
    return w.reshape(groups, w.shape[0] // groups, *w.shape[1:])


def conv_offset_bound(weight: Tensor, groups: int = 1) -> float:
    r"""Bound :math:`\sum_k \max_g \|W_{g,k}\|_2` for a zero-padded Conv2d (any stride, dilation, groups).

    The conv is :math:`y = \sum_k T_k x` with :math:`(T_k x)_p = W_k x_{s p + k\,\mathrm{dil} - \mathrm{pad}}`
    (zero outside the image). The index map :math:`p \mapsto sp + k\,\mathrm{dil} - \mathrm{pad}` is injective,
    so :math:`\|T_k x\|^2 \le \|W_k\|^2 \|x\|^2`, and the triangle inequality gives the sum. ``W_k`` is
    block-diagonal over the groups, so its norm is the largest block norm (depthwise: :math:`\max_c |w_{c,k}|`).
    """
    g = _grouped(weight, groups)
    blocks = g.flatten(3).permute(3, 0, 1, 2)  # (K, g, c_out/g, c_in/g)
    return float(torch.linalg.matrix_norm(blocks, ord=2).amax(dim=1).sum())


def conv_frobenius_bound(weight: Tensor) -> float:
    r"""Bound :math:`\sqrt{K}\,\|W\|_F \ge \sum_k \|W_k\|_F \ge \sum_k \|W_k\|_2` (Cauchy--Schwarz; K offsets)."""
    w = weight.detach().double()
    return float(w.norm() * math.sqrt(w.shape[2] * w.shape[3]))


def _conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    """Numeric padding per side; ``"same"`` is bounded by the dilated kernel extent."""
    if conv.padding_mode != "zeros":
        raise ValueError(f"Conv2d with padding_mode={conv.padding_mode!r}: only zero padding is certified here")
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return 0, 0
        return tuple((k - 1) * d for k, d in zip(conv.kernel_size, conv.dilation, strict=True))  # type: ignore[return-value]
    return int(conv.padding[0]), int(conv.padding[1])


def conv_fft_bound(
    weight: Tensor, groups: int, in_hw: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]
) -> float:
    r"""Bound :math:`\max_{\omega} \max_g \|\hat W_g(\omega)\|_2` over the DFT grid of an ``N_H x N_W`` torus.

    With :math:`N \ge n + 2\,\mathrm{pad} + (k-1)\mathrm{dil}` per axis, the zero-padded conv of an ``n``-pixel
    input equals a circular convolution on the ``N``-torus of the zero-extended input, followed by a selection of
    output positions (no tap wraps onto the image, distinct outputs stay distinct; stride is a selection too).
    Zero extension is an isometry and a selection has norm <= 1, and a circular convolution is block-diagonalised
    by the DFT, its singular values being those of the ``c_out x c_in`` symbols
    :math:`\hat W(\omega) = \sum_k W_k e^{-i\omega\cdot k\,\mathrm{dil}}` at the ``N_H N_W`` grid frequencies
    (exactly, not sampled). Real kernels: :math:`\hat W(-\omega) = \overline{\hat W(\omega)}`, so ``rfft2`` suffices.
    """
    g = _grouped(weight, groups)
    kh, kw = g.shape[-2:]
    n_h = in_hw[0] + 2 * padding[0] + (kh - 1) * dilation[0] + 1
    n_w = in_hw[1] + 2 * padding[1] + (kw - 1) * dilation[1] + 1
    grid = torch.zeros(*g.shape[:3], n_h, n_w, dtype=torch.float64)
    grid[..., : (kh - 1) * dilation[0] + 1 : dilation[0], : (kw - 1) * dilation[1] + 1 : dilation[1]] = g
    symbols = torch.fft.rfft2(grid).permute(0, 3, 4, 1, 2)  # (g, N_H, N_W//2+1, c_out/g, c_in/g)
    if symbols.shape[-1] == 1 or symbols.shape[-2] == 1:
        return float(torch.linalg.vector_norm(symbols, dim=(-2, -1)).max())
    return float(torch.linalg.matrix_norm(symbols, ord=2).max())


def maxpool_bound(pool: nn.MaxPool2d) -> float:
    r"""Bound :math:`\sqrt{m}`, ``m`` the largest number of windows sharing an input pixel.

    :math:`|\max a - \max b| \le \|a - b\|_{\infty,\mathrm{window}} \le \|a - b\|_{2,\mathrm{window}}`; summing the
    squares over windows counts each pixel at most ``m`` times. Per axis
    :math:`m \le \min(k, \lceil((k-1)\mathrm{dil}+1)/s\rceil)`; non-overlapping windows give 1.
    """
    pair = nn.modules.utils._pair
    m = 1
    for k, s, d in zip(pair(pool.kernel_size), pair(pool.stride or pool.kernel_size), pair(pool.dilation), strict=True):
        m *= min(k, math.ceil(((k - 1) * d + 1) / s))
    return math.sqrt(m)


def schur_bound(op: Callable[[Tensor], Tensor], sample: Tensor) -> float:
    r"""Schur test for a linear map with nonnegative matrix ``A`` (average pooling of any geometry):
    :math:`\|A\|_2 \le \sqrt{\|A\|_1 \|A\|_\infty}` = sqrt(largest column sum x largest row sum).

    Row sums are ``A 1`` (the op applied to ones), column sums ``A^T 1`` (the gradient of ``sum(A x)``).
    """
    with torch.enable_grad():
        ones = torch.ones_like(sample[:1], dtype=torch.float64, requires_grad=True)
        out = op(ones)
        (cols,) = torch.autograd.grad(out.sum(), ones)
    return math.sqrt(float(out.detach().max()) * float(cols.max()))
