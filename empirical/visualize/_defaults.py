"""The paper's feature-visualization settings (Lucent's defaults), in one named place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAPER_DEFAULTS", "RenderDefaults"]


@dataclass(frozen=True)
class RenderDefaults:
    """Settings of a render; :data:`PAPER_DEFAULTS` holds the values the paper used (Lucent 0.1.x).

    Attributes:
        steps: Adam steps.
        lr: Adam learning rate.
        size: image side in pixels for ImageNet models (the paper optimised at 224 px directly).
        param: image parameterisation, ``"fft"`` or ``"pixel"``.
        decorrelate: colour decorrelation for 3-channel images.
        sd: standard deviation of the random initial parameters.
        decay_power: exponent ``a`` of the spectrum scaling ``1 / max(f, 1/max(h, w))**a``.
        fft_divisor: Lucid's constant dividing the inverse FFT (``4``; reduces saturation).
        pad: constant padding width in pixels of the standard transforms.
        pad_value: the padding's constant value.
        jitter_first: range ``d`` of the first jitter (shifts in ``{0, ..., d-1}`` pixels per axis).
        scales: choices of the random scale.
        angles: choices of the random rotation in degrees (0 is five times more likely, as in Lucent).
        jitter_last: range of the last jitter.
        crop: feed the model the centre ``size x size`` of the transformed frame instead of the whole padded
            frame (``size + 2 pad``). Off in the paper (Lucent); on is faster (a smaller model input).
    """

    steps: int = 512
    lr: float = 0.05
    size: int = 224
    param: str = "fft"
    decorrelate: bool = True
    sd: float = 0.01
    decay_power: float = 1.0
    fft_divisor: float = 4.0
    pad: int = 12
    pad_value: float = 0.5
    jitter_first: int = 8
    scales: tuple[float, ...] = tuple(1.0 + (i - 5) / 50.0 for i in range(11))
    angles: tuple[float, ...] = tuple(float(a) for a in range(-10, 11)) + (0.0,) * 5
    jitter_last: int = 4
    crop: bool = False


#: The settings of the paper's feature visualizations (Lucent defaults at 224 px).
PAPER_DEFAULTS = RenderDefaults()
