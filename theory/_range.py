"""Value ranges: the exact set of values f(x) over all members of a class that share the observations."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from theory._numbers import fraction_str, vector_str
from theory._setting import FloatArray, Observations, value_tol
from theory._witness import Witness

Decision = Literal["min", "max", "tie"]


@dataclass(frozen=True)
class ValueRange:
    """The set {f(x) : f in class, f agrees with the observations} = an interval from ``lo`` to ``hi``.

    ``lo_attained`` / ``hi_attained`` say whether the ends belong to the set; ``witness_lo`` and ``witness_hi`` are
    members of the class with the same observations whose value at x is ``lo`` and ``hi`` (or approaches them).
    ``method`` names how the range was computed (a closed form, or the LP solver that ran)."""

    lo: float
    hi: float
    lo_attained: bool
    hi_attained: bool
    witness_lo: Witness
    witness_hi: Witness
    x: FloatArray
    observations: Observations
    method: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.hi - self.lo

    @cached_property
    def f_max(self) -> float:
        v = self.observations.f_max
        return float(np.max(self.observations.values)) if v is None else v

    @cached_property
    def f_min(self) -> float:
        v = self.observations.f_min
        return float(np.min(self.observations.values)) if v is None else v

    @property
    def delta(self) -> float:
        return self.f_max - self.f_min

    @property
    def tol(self) -> float:
        """Tolerance relative to Delta and to the magnitude of the values (never an absolute number)."""
        return value_tol(self.f_min, self.f_max)

    def affine_image(self, shift: float, scale: float, observations: Observations) -> ValueRange:
        """The range of shift + scale * f (scale > 0) for the original ``observations``: used by the LP classes,
        which solve in normalised units (f_min = 0, Delta = 1) so that solver tolerances are relative to Delta."""
        fmax = observations.f_max
        top = fmax if fmax is not None and fmax > shift else None  # the image of 1, exactly (Delta > 0)
        return ValueRange(
            shift + scale * self.lo,
            shift + scale * self.hi,
            self.lo_attained,
            self.hi_attained,
            self.witness_lo.affine_image(shift, scale, top),  # type: ignore[attr-defined]
            self.witness_hi.affine_image(shift, scale, top),  # type: ignore[attr-defined]
            self.x,
            observations,
            self.method + " (normalised to f_min = 0, Delta = 1)",
            extra=dict(self.extra),
        )

    # The three questions, answered for this x (see docs/theory.md).
    def is_exact(self) -> bool:
        """Exact prediction at x is possible iff lo = hi."""
        return self.width <= self.tol

    def is_approximable(self, eps: float) -> bool:
        """eps-approximate prediction (eps relative to Delta) is possible iff hi - lo <= 2 eps Delta."""
        return self.width <= 2 * eps * self.delta + self.tol

    def decision(self) -> Decision | None:
        """Answer to "closer to min or max?" if every member agrees: "min" (f(x) < c), "max" (f(x) > c) or
        "tie" (f(x) = c); ``None`` if members disagree."""
        c, tol = (self.f_max + self.f_min) / 2, self.tol
        if self.hi < c - tol:
            return "min"
        if self.lo > c + tol:
            return "max"
        if abs(self.hi - c) <= tol and abs(self.lo - c) <= tol:
            return "tie"
        return None

    def midpoint_decoder(self) -> float:
        """The best predictor in the worst case: (lo + hi) / 2, with error at most (hi - lo) / 2."""
        return (self.lo + self.hi) / 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": vector_str(self.x),
            "lo": self.lo,
            "hi": self.hi,
            "lo_exact": fraction_str(self.lo),
            "hi_exact": fraction_str(self.hi),
            "lo_attained": self.lo_attained,
            "hi_attained": self.hi_attained,
            "method": self.method,
            "witness_lo": self.witness_lo.to_spec(),
            "witness_hi": self.witness_hi.to_spec(),
        }

    def __repr__(self) -> str:
        left = "[" if self.lo_attained else "("
        right = "]" if self.hi_attained else ")"
        return f"ValueRange({left}{self.lo:.6g}, {self.hi:.6g}{right} at x={self.x.tolist()}, {self.method})"
