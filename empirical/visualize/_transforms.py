r"""Random transforms applied to the images at every step (transformation robustness), fused into one warp.

Lucent applies, in order: pad 12 px with the constant 0.5, jitter by ``(dx, dy) in {0..7}^2``, scale by
``s in {0.90, 0.92, ..., 1.10}``, rotate by ``a in {-10, ..., 10}`` degrees (0 five extra times), jitter
``{0..3}^2``; each geometric step resamples the image and fills uncovered pixels with 0. Here the geometric
steps of one image compose into one affine map in centred pixel coordinates ``p`` (x right, y down),

.. math:: A = T_n \cdots T_1, \qquad \text{jitter } p \mapsto p + t, \quad
          \text{scale } p \mapsto s p, \quad \text{rotate } p \mapsto R(a) p,

and the output is one bilinear resampling ``out(p) = padded(A^{-1} p)`` (0 outside the padded frame) with
``F.affine_grid``/``F.grid_sample``. Each image draws its own parameters from its own generator, so an image's
transforms do not depend on the other images in the batch. Differences from Lucent: one interpolation instead
of four, and the output keeps the padded frame's size (Lucent's upscaling grows the image up to 1.1x; the
few pixels beyond the frame are cropped here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from empirical.visualize._defaults import PAPER_DEFAULTS, RenderDefaults

__all__ = [
    "AffineWarp",
    "Jitter",
    "Pad",
    "RandomRotate",
    "RandomScale",
    "Transform",
    "standard_transforms",
]


@dataclass(frozen=True)
class Pad:
    """Pad every side by ``width`` pixels of the constant ``value``."""

    width: int
    value: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 0:
            raise ValueError(f"Pad width must be a non-negative int, got {self.width!r}")


@dataclass(frozen=True)
class Jitter:
    """Translate by ``(dx, dy)`` drawn uniformly from ``{0, ..., d-1}^2`` pixels (Lucent's convention)."""

    d: int

    def __post_init__(self) -> None:
        if isinstance(self.d, bool) or not isinstance(self.d, int) or self.d < 1:
            raise ValueError(f"Jitter range d must be a positive int, got {self.d!r}")


@dataclass(frozen=True)
class RandomScale:
    """Scale about the image centre by a factor drawn uniformly from ``scales``."""

    scales: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.scales or any(not s > 0 for s in self.scales):
            raise ValueError(f"RandomScale needs positive scales, got {self.scales!r}")


@dataclass(frozen=True)
class RandomRotate:
    """Rotate about the image centre by an angle in degrees drawn uniformly from ``angles``."""

    angles: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.angles:
            raise ValueError("RandomRotate needs at least one angle")


Transform = Pad | Jitter | RandomScale | RandomRotate


def standard_transforms(defaults: RenderDefaults = PAPER_DEFAULTS) -> tuple[Transform, ...]:
    """Lucent's ``standard_transforms``: pad, jitter, random scale, random rotate, jitter."""
    return (
        Pad(defaults.pad, defaults.pad_value),
        Jitter(defaults.jitter_first),
        RandomScale(defaults.scales),
        RandomRotate(defaults.angles),
        Jitter(defaults.jitter_last),
    )


def transforms_for_size(size: int, defaults: RenderDefaults = PAPER_DEFAULTS) -> tuple[Transform, ...]:
    """The standard set with pad and jitters scaled to the image side (``size / defaults.size``, at least one
    pixel), so that a 28 px image is not padded by 12 px; identical to :func:`standard_transforms` at 224 px."""
    if size >= defaults.size:
        return standard_transforms(defaults)
    f = size / defaults.size
    return (
        Pad(max(1, round(defaults.pad * f)), defaults.pad_value),
        Jitter(max(1, round(defaults.jitter_first * f))),
        RandomScale(defaults.scales),
        RandomRotate(defaults.angles),
        Jitter(max(1, round(defaults.jitter_last * f))),
    )


def _choice(values: Sequence[float], steps: int, generator: torch.Generator) -> Tensor:
    index = torch.randint(len(values), (steps,), generator=generator)
    return torch.tensor(values, dtype=torch.float64)[index]


class AffineWarp:
    """A fused transform pipeline for images of size ``height x width``.

    ``sample(generators, steps)`` draws every step's parameters up front (one generator per image) and returns
    the ``F.affine_grid`` matrices, shape ``(steps, B, 2, 3)``; ``warp(images, theta)`` applies one step's.
    Pads must come before the geometric transforms; the output has size ``(H + 2 pad) x (W + 2 pad)`` (Lucent),
    or ``H x W`` with ``crop=True``: the centre of the same warped frame, so the model runs at the input size
    (cheaper; not what Lucent does).
    """

    def __init__(self, transforms: Sequence[Transform], height: int, width: int, crop: bool = False) -> None:
        self.transforms = tuple(transforms)
        pad, value, geometric = 0, 0.0, []
        for t in self.transforms:
            if isinstance(t, Pad):
                if geometric:
                    raise ValueError("Pad must come before the geometric transforms (jitter, scale, rotate)")
                if pad and t.value != value:
                    raise ValueError("consecutive Pads must use the same value")
                pad, value = pad + t.width, t.value
            elif isinstance(t, Jitter | RandomScale | RandomRotate):
                geometric.append(t)
            else:
                raise ValueError(f"unknown transform {t!r}; use Pad, Jitter, RandomScale or RandomRotate")
        self.pad, self.pad_value, self.geometric = pad, value, tuple(geometric)
        self.frame_height, self.frame_width = height + 2 * pad, width + 2 * pad
        self.crop = crop
        self.out_height, self.out_width = (height, width) if crop else (self.frame_height, self.frame_width)

    def _forward_matrices(self, steps: int, generator: torch.Generator) -> Tensor:
        """``A = T_n ... T_1`` for each step, in centred pixel coordinates, shape ``(steps, 3, 3)``, float64."""
        a = torch.eye(3, dtype=torch.float64).repeat(steps, 1, 1)
        for t in self.geometric:
            m = torch.eye(3, dtype=torch.float64).repeat(steps, 1, 1)
            if isinstance(t, Jitter):
                m[:, :2, 2] = torch.randint(t.d, (steps, 2), generator=generator).to(torch.float64)
            elif isinstance(t, RandomScale):
                s = _choice(t.scales, steps, generator)
                m[:, 0, 0], m[:, 1, 1] = s, s
            else:
                rad = _choice(t.angles, steps, generator) * (math.pi / 180.0)
                c, s = torch.cos(rad), torch.sin(rad)
                m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
            a = m @ a
        return a

    def sample(self, generators: Sequence[torch.Generator], steps: int) -> Tensor:
        """Grid matrices ``theta = N_in A^{-1} N_out^{-1}`` (``N`` = centred pixels to ``[-1, 1]`` of the padded frame
        and of the output), shape ``(steps, B, 2, 3)``."""
        if not generators:
            raise ValueError("need at least one generator")
        norm = torch.diag(torch.tensor([2.0 / self.frame_width, 2.0 / self.frame_height, 1.0], dtype=torch.float64))
        norm_inv = torch.diag(torch.tensor([self.out_width / 2.0, self.out_height / 2.0, 1.0], dtype=torch.float64))
        thetas = [norm @ torch.linalg.inv(self._forward_matrices(steps, g)) @ norm_inv for g in generators]
        return torch.stack(thetas, dim=1)[:, :, :2, :]

    def warp(self, images: Tensor, theta: Tensor | None) -> Tensor:
        """Pad ``images`` (B, C, H, W), then resample them once with ``theta`` (B, 2, 3); ``None``: pad only."""
        if self.crop and (theta is None or not self.geometric):
            return images  # pad, then crop the centre: the identity
        if self.pad:
            images = F.pad(images, [self.pad] * 4, mode="constant", value=self.pad_value)
        if theta is None or not self.geometric:
            return images
        size = [images.shape[0], images.shape[1], self.out_height, self.out_width]
        grid = F.affine_grid(theta, size, align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
