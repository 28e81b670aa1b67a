"""The paper's feature-visualization settings (Lucent's defaults), in one named place, and the limits of a render.

Limits (checked by :func:`check_render_limits` before anything is allocated): at most :data:`MAX_STEPS` steps,
image sides in ``1..MAX_SIZE`` pixels, and an estimated working memory of a batch (:func:`render_bytes`:
:data:`BYTES_PER_PIXEL` per pixel of every image rendered together) within the device's memory (the CPU: the
machine's physical memory).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BYTES_PER_PIXEL",
    "MAX_SIZE",
    "MAX_STEPS",
    "PAPER_DEFAULTS",
    "RenderDefaults",
    "check_render_limits",
    "device_memory",
    "render_bytes",
]

#: Most Adam steps of one render (the paper used 512; ``fvtrust sweep`` has the same limit).
MAX_STEPS = 100_000
#: Largest image side in pixels (the paper rendered at 224).
MAX_SIZE = 4096
#: Working memory of a float32 render per pixel of each image (image parameters, Adam state, transforms and the
#: model's activations and gradients): measured as 1.5-2.3 KiB (peak RSS growth) for MobileNetV2 and
#: EfficientNet-Lite0 logits at 224-448 px, 1-4 images; rounded up.
BYTES_PER_PIXEL = 2560


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


def device_memory(device: object = None) -> int | None:
    """Bytes of memory of ``device`` (a CUDA GPU's total memory, else the machine's physical memory; None:
    unknown)."""
    kind = getattr(device, "type", str(device or "cpu").split(":")[0])
    if kind == "cuda":
        import torch

        if torch.cuda.is_available():
            index = getattr(device, "index", None)
            return int(torch.cuda.get_device_properties(index if index is not None else 0).total_memory)
        return None
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def render_bytes(images: int, size: Sequence[int], dtype_bytes: int = 4) -> int:
    """Estimated working memory of rendering ``images`` images of ``size`` (height, width) together."""
    h, w = size
    return images * h * w * BYTES_PER_PIXEL * dtype_bytes // 4


def check_render_limits(
    steps: int, size: int | Sequence[int] | None = None, images: int = 1, device: object = None, dtype_bytes: int = 4
) -> None:
    """``ValueError`` naming the setting and its limit when ``steps``, ``size`` (side or (height, width); None: not
    checked) or the estimated memory of ``images`` images rendered together is out of bounds. Allocates nothing."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer in 0..{MAX_STEPS}, got {steps!r}")
    if size is None:
        return
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if len(hw) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIZE for v in hw):
        raise ValueError(f"size must be an integer in 1..{MAX_SIZE} pixels (or two), got {size!r}")
    need = render_bytes(images, hw, dtype_bytes)
    have = device_memory(device)
    if have is not None and need > have:
        raise ValueError(
            f"size {hw[0]}x{hw[1]} with {images} image(s) rendered together needs about {need / 2**30:.1f} GiB "
            f"(~{BYTES_PER_PIXEL} bytes per pixel), more than the {have / 2**30:.1f} GiB of {device or 'cpu'}; "
            "use a smaller --size or fewer units per layer"
        )
