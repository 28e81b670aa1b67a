"""The class ``piecewise_affine``: continuous piecewise-affine functions [0,1]^d -> R."""

from __future__ import annotations

from theory.classes._interpolating import InterpolatingClass


class PiecewiseAffine(InterpolatingClass):
    """continuous piecewise-affine functions [0,1]^d -> R.

    Value range at an unobserved x: [f_min, f_max], both ends attained by tent ReLU networks."""

    name = "piecewise_affine"
    label = "piecewise affine"
