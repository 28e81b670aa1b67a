r"""Image parameterisations: pixel and Fourier, colour decorrelation, sigmoid.

An image parameterisation is an ``nn.Module`` whose parameters are optimised and whose ``forward()`` returns
images in ``[0, 1]`` of shape ``(B, C, H, W)``:

* pixel: :math:`x = \sigma(D\,p)` with :math:`p \in \mathbb{R}^{B \times C \times H \times W}`;
* FFT: :math:`x = \sigma\big(D\,\mathcal{F}^{-1}_\text{ortho}(s \odot \hat p) / 4\big)` where :math:`\hat p` is a
  complex half-spectrum ``(B, C, H, W//2+1)`` and :math:`s(f) = 1/\max(f, 1/\max(H, W))^{a}` scales each
  frequency :math:`f = \sqrt{f_x^2 + f_y^2}` (cycles per pixel) by its inverse (``a = 1``), so that all
  frequencies have about equal energy in the image ("whitened" gradients);
* :math:`D` is colour decorrelation: each pixel's colour vector is multiplied by ``M / max_j ||M[:, j]||`` with
  ``M`` the square root of ImageNet's colour correlation matrix (Lucid's constants); identity for non-RGB images.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from empirical.visualize._defaults import PAPER_DEFAULTS

__all__ = [
    "COLOR_CORRELATION_SVD_SQRT",
    "FFTImage",
    "ImageParam",
    "PixelImage",
    "color_correlation_matrix",
    "decorrelate_colors",
    "rfft2d_freqs",
    "spectrum_scale",
]

#: Square root of ImageNet's colour correlation matrix via its SVD (Lucid/Lucent constants), rows = RGB.
COLOR_CORRELATION_SVD_SQRT: tuple[tuple[float, float, float], ...] = (
    (0.26, 0.09, 0.02),
    (0.27, 0.00, -0.05),
    (0.27, -0.09, 0.03),
)


def color_correlation_matrix(dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """``M / max_j ||M[:, j]||_2``: the colour matrix normalised by its largest column norm, shape (3, 3)."""
    m = torch.tensor(COLOR_CORRELATION_SVD_SQRT, dtype=torch.float64)
    m = m / torch.linalg.vector_norm(m, dim=0).max()
    return m.to(dtype=dtype, device=device)


def decorrelate_colors(images: Tensor, matrix: Tensor | None = None) -> Tensor:
    """Map decorrelated colours to RGB: ``out[b, i, y, x] = sum_j M[i, j] images[b, j, y, x]``."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"colour decorrelation needs images of shape (B, 3, H, W), got {tuple(images.shape)}")
    if matrix is None:
        matrix = color_correlation_matrix(images.dtype, images.device)
    return torch.einsum("ij,bjhw->bihw", matrix, images)


def rfft2d_freqs(height: int, width: int) -> Tensor:
    """Frequencies ``sqrt(fx^2 + fy^2)`` (cycles/pixel) of the real 2-D FFT, shape ``(H, W//2 + 1)``, float64."""
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(width, dtype=torch.float64)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def spectrum_scale(height: int, width: int, decay_power: float = PAPER_DEFAULTS.decay_power) -> Tensor:
    """``1 / max(f, 1/max(H, W))**decay_power`` for each frequency of :func:`rfft2d_freqs`, float64."""
    freqs = rfft2d_freqs(height, width)
    return 1.0 / freqs.clamp(min=1.0 / max(height, width)) ** decay_power


def _check_shape(batch: int, channels: int, height: int, width: int) -> None:
    for name, value in (("batch", batch), ("channels", channels), ("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"image {name} must be a positive int, got {value!r}")


def _initial_values(
    shape: tuple[int, ...], generators: list[torch.Generator], sd: float, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """One standard-normal draw per image from its own CPU generator (float32, so every dtype and device starts
    from the same numbers), times ``sd``."""
    draws = [torch.randn(shape, generator=g, dtype=torch.float32) for g in generators]
    return (torch.stack(draws) * sd).to(dtype=dtype, device=device)


class ImageParam(nn.Module):
    """Base class: ``forward()`` returns images in ``[0, 1]`` of shape ``(B, C, H, W)``."""

    batch: int
    channels: int
    height: int
    width: int

    def __init__(self, batch: int, channels: int, height: int, width: int, decorrelate: bool) -> None:
        super().__init__()
        _check_shape(batch, channels, height, width)
        if decorrelate and channels != 3:
            raise ValueError(f"colour decorrelation needs 3 channels, the image has {channels}")
        self.batch, self.channels, self.height, self.width = batch, channels, height, width
        self.decorrelate = decorrelate

    def _to_rgb(self, raw: Tensor) -> Tensor:
        if self.decorrelate:
            raw = torch.einsum("ij,bjhw->bihw", self.color_matrix, raw)
        return torch.sigmoid(raw)

    def _register_color(self, dtype: torch.dtype, device: torch.device) -> None:
        self.register_buffer("color_matrix", color_correlation_matrix(dtype, device), persistent=False)


class PixelImage(ImageParam):
    """Pixel parameterisation ``x = sigmoid(D p)``."""

    def __init__(
        self,
        batch: int,
        channels: int,
        height: int,
        width: int,
        *,
        generators: list[torch.Generator],
        sd: float = PAPER_DEFAULTS.sd,
        decorrelate: bool = False,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(batch, channels, height, width, decorrelate)
        if len(generators) != batch:
            raise ValueError(f"need one generator per image: {batch} images, {len(generators)} generators")
        device = torch.device(device)
        self.pixels = nn.Parameter(_initial_values((channels, height, width), generators, sd, dtype, device))
        self._register_color(dtype, device)

    def forward(self) -> Tensor:
        return self._to_rgb(self.pixels)


class FFTImage(ImageParam):
    """Fourier parameterisation ``x = sigmoid(D irfft2(s * p_hat, norm="ortho") / 4)`` (see module docstring)."""

    def __init__(
        self,
        batch: int,
        channels: int,
        height: int,
        width: int,
        *,
        generators: list[torch.Generator],
        sd: float = PAPER_DEFAULTS.sd,
        decay_power: float = PAPER_DEFAULTS.decay_power,
        divisor: float = PAPER_DEFAULTS.fft_divisor,
        decorrelate: bool = True,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(batch, channels, height, width, decorrelate)
        if len(generators) != batch:
            raise ValueError(f"need one generator per image: {batch} images, {len(generators)} generators")
        device = torch.device(device)
        shape = (channels, height, width // 2 + 1, 2)
        self.spectrum = nn.Parameter(_initial_values(shape, generators, sd, dtype, device))
        scale = spectrum_scale(height, width, decay_power) / divisor
        self.register_buffer("scale", scale.to(dtype=dtype, device=device)[..., None], persistent=False)
        self._register_color(dtype, device)

    def forward(self) -> Tensor:
        spectrum = torch.view_as_complex(self.scale * self.spectrum)
        raw = torch.fft.irfft2(spectrum, s=(self.height, self.width), norm="ortho")
        return self._to_rgb(raw)
