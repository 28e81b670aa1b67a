"""The class ``black_box``: any function f : [0,1]^d -> R (no continuity assumed)."""

from __future__ import annotations

from theory.classes._interpolating import InterpolatingClass


class BlackBox(InterpolatingClass):
    """any function f : [0,1]^d -> R (no continuity assumed).

    Value range at an unobserved x: [f_min, f_max], both ends attained by tent ReLU networks."""

    name = "black_box"
    label = "black-box"
