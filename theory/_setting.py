"""The formal setting: the domain [0,1]^d, feature visualizations and finite observations.

A feature visualization (FV) of f : [0,1]^d -> R reveals a global maximiser and minimiser with their values,

    x_max in argmax f,  f_max = f(x_max),   x_min in argmin f,  f_min = f(x_min),   Delta = f_max - f_min.

The engine works on a general finite set of observations (points with values, some marked as global maxima or
minima); an FV is the two-point case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory._numbers import fraction_str, vector_str

Kind = Literal["max", "min", "value"]
FloatArray = NDArray[np.float64]

#: Relative tolerance for comparisons of values: TOL * Delta, plus a few units in the last place of the values'
#: magnitude (so that adding a constant to f changes no verdict).
TOL = 1e-9
#: Largest magnitude accepted for values and parameters (L): products and squares of such numbers stay finite.
MAX_MAGNITUDE = 1e150
#: Largest ratio of the values' magnitude to their spread Delta > 0: beyond it the floats of the values keep fewer
#: than about 7 significant digits of Delta, the magnitude term of ``value_tol`` would exceed 1e-5 Delta, and
#: verdicts could change when a constant is added to f (at 1e13 they did).
MAX_OFFSET_RATIO = 1e9


def check_spread(f_min: float, f_max: float, what: str = "f_max - f_min") -> None:
    """Refuse a spread Delta > 0 below 1/MAX_OFFSET_RATIO of the values' magnitude (one line naming both)."""
    delta, size = f_max - f_min, max(abs(f_min), abs(f_max))
    if delta > 0 and size > MAX_OFFSET_RATIO * delta:
        raise ValueError(
            f"{what} = {delta:.6g} is below {1 / MAX_OFFSET_RATIO:g} of the values' magnitude {size:.6g}: too few "
            "significant digits of the spread are left; subtract a constant from the values (e.g. f_min), which "
            "changes no verdict"
        )


def value_tol(f_min: float, f_max: float) -> float:
    """TOL * Delta + 1e-14 * max(|f_min|, |f_max|): relative to the spread and to the magnitude of the values."""
    return TOL * (f_max - f_min) + 1e-14 * max(abs(f_min), abs(f_max))


def as_point(x: ArrayLike, d: int | None = None, *, name: str = "x") -> FloatArray:
    """Validate a point of the domain [0,1]^d (a list, tuple or array of numbers) and return it as a float
    vector. Booleans are refused: True/False are not coordinates."""
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} = {x!r} is text; a point is a list, tuple or array of numbers")
    if isinstance(x, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in x):
        raise ValueError(f"{name} = {x!r} contains booleans; a point's coordinates must be numbers in [0, 1]")
    raw = np.asarray(x)
    if raw.dtype == bool or (raw.dtype == object and any(isinstance(v, (bool, np.bool_)) for v in raw.ravel())):
        raise ValueError(f"{name} = {x!r} contains booleans; a point's coordinates must be numbers in [0, 1]")
    if raw.dtype.kind not in "iuf" and raw.dtype != object:
        raise ValueError(f"{name} = {x!r} is not a vector of numbers (dtype {raw.dtype})")
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {x!r} is not a vector of numbers") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a point (a vector), got an array of shape {arr.shape}")
    if d is not None and arr.shape[0] != d:
        raise ValueError(f"{name} has dimension {arr.shape[0]}, but the input dimension is d = {d}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} = {arr.tolist()} has a non-finite coordinate; points must be finite")
    if np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name} = {arr.tolist()} is outside the domain [0,1]^{arr.shape[0]}")
    return arr


def as_value(v: Any, *, name: str) -> float:
    if isinstance(v, (bool, np.bool_, str, bytes)):
        raise ValueError(f"{name} = {v!r} is not a number; values must be finite numbers")
    try:
        val = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {v!r} is not a number") from None
    if not np.isfinite(val):
        raise ValueError(f"{name} = {v!r} is not finite; values must be finite numbers")
    if abs(val) > MAX_MAGNITUDE:
        raise ValueError(f"{name} = {v!r} is too large; values must lie within +-{MAX_MAGNITUDE:g} (overflow)")
    return val


def check_dimension(d: Any) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or int(d) < 1:
        raise ValueError(f"input dimension d = {d!r} is not allowed; d must be an integer >= 1")
    return int(d)


@dataclass(frozen=True)
class Observations:
    """Finitely many observations of f: ``f(points[i]) = values[i]``; ``kinds[i]`` says whether the point is a
    known global maximiser (``"max"``), global minimiser (``"min"``) or just a value (``"value"``)."""

    points: FloatArray
    values: FloatArray
    kinds: tuple[Kind, ...]

    def __init__(self, points: ArrayLike, values: ArrayLike, kinds: Sequence[str] | None = None) -> None:
        pts = np.asarray(points, dtype=float)
        if pts.ndim == 1:
            pts = pts.reshape(1, -1)
        if pts.ndim != 2 or pts.shape[0] == 0:
            raise ValueError(f"observation points must form an (n, d) array with n >= 1, got shape {pts.shape}")
        vals = np.asarray(values, dtype=float).reshape(-1)
        if vals.shape[0] != pts.shape[0]:
            raise ValueError(f"{pts.shape[0]} observation points but {vals.shape[0]} values")
        for i, p in enumerate(pts):
            as_point(p, name=f"observation point {i}")
        for i, v in enumerate(vals):
            as_value(v, name=f"observation value {i}")
        kinds_t = tuple(kinds) if kinds is not None else ("value",) * len(vals)
        if len(kinds_t) != len(vals):
            raise ValueError(f"{len(vals)} observations but {len(kinds_t)} kinds")
        for k in kinds_t:
            if k not in ("max", "min", "value"):
                raise ValueError(f"observation kind {k!r} is not one of 'max', 'min', 'value'")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "kinds", kinds_t)  # type: ignore[arg-type]
        check_spread(float(vals.min()), float(vals.max()), "the spread of the observed values")
        self._check_basic()

    @classmethod
    def _trusted(cls, points: FloatArray, values: FloatArray, kinds: tuple[Kind, ...]) -> Observations:
        """Observations from data already validated (a FeatureVisualization's): no checks repeated."""
        obs = object.__new__(cls)
        object.__setattr__(obs, "points", points)
        object.__setattr__(obs, "values", values)
        object.__setattr__(obs, "kinds", kinds)
        return obs

    @property
    def d(self) -> int:
        return int(self.points.shape[1])

    @property
    def n(self) -> int:
        return int(self.points.shape[0])

    @property
    def f_max(self) -> float | None:
        """The global maximum if some observation is a known maximiser."""
        return self._extreme("max")

    @property
    def f_min(self) -> float | None:
        """The global minimum if some observation is a known minimiser."""
        return self._extreme("min")

    def _extreme(self, kind: str) -> float | None:
        cache = self.__dict__.setdefault("_extremes", {})
        if kind not in cache:
            vals = [v for v, k in zip(self.values, self.kinds, strict=True) if k == kind]
            cache[kind] = float(vals[0]) if vals else None
        return cache[kind]

    @property
    def scale(self) -> float:
        """The unit in which tolerances are measured: the spread of the values plus 1e-5 of their magnitude, so
        that TOL * scale is relative to Delta and covers rounding at the values' magnitude."""
        return float(np.ptp(self.values)) + 1e-5 * float(np.max(np.abs(self.values)))

    def normalised(self) -> tuple[Observations, float, float] | None:
        """(observations of (f - f_min)/Delta, f_min, Delta), or None when already normalised (f_min = 0,
        f_max = 1). With Delta = 0 only the shift is removed (scale 1)."""
        fmin, fmax = self.f_min, self.f_max
        if fmin is None or fmax is None or (fmin == 0 and fmax == 1) or (fmin == 0 and fmax == 0):
            return None
        delta = fmax - fmin if fmax > fmin else 1.0
        return Observations._trusted(self.points, (self.values - fmin) / delta, self.kinds), fmin, delta

    def index_of(self, x: FloatArray) -> int | None:
        """Index of an observation at exactly the point ``x``, if any."""
        hits = np.flatnonzero(np.all(self.points == x, axis=1))
        return int(hits[0]) if hits.size else None

    def with_value(self, x: FloatArray, value: float) -> Observations:
        """These observations and one more: ``f(x) = value``."""
        return Observations(np.vstack([self.points, x[None, :]]), np.append(self.values, value), (*self.kinds, "value"))

    def _check_basic(self) -> None:
        tol = TOL * self.scale
        fmax, fmin = self.f_max, self.f_min
        for label, kind, ref in (("maximum", "max", fmax), ("minimum", "min", fmin)):
            for v, k in zip(self.values, self.kinds, strict=True):
                if k == kind and ref is not None and abs(v - ref) > tol:
                    raise ValueError(f"two global {label}s with different values {ref} and {v}")
        if fmax is not None and fmin is not None and fmin > fmax + tol:
            raise ValueError(f"f_min = {fmin} is larger than f_max = {fmax}")
        for v in self.values:
            if fmax is not None and v > fmax + tol:
                raise ValueError(f"observed value {v} exceeds the global maximum f_max = {fmax}")
            if fmin is not None and v < fmin - tol:
                raise ValueError(f"observed value {v} is below the global minimum f_min = {fmin}")
        for i in range(self.n):
            for j in range(i + 1, self.n):
                if np.array_equal(self.points[i], self.points[j]) and abs(self.values[i] - self.values[j]) > tol:
                    raise ValueError(
                        f"the point {self.points[i].tolist()} is observed with two values "
                        f"{self.values[i]} and {self.values[j]}"
                    )


@dataclass(frozen=True)
class FeatureVisualization:
    """What a feature visualization reveals: ``x_max`` in argmax f with ``f_max``, ``x_min`` in argmin f with
    ``f_min``, over the domain [0,1]^d."""

    x_max: FloatArray
    f_max: float
    x_min: FloatArray
    f_min: float

    def __init__(self, x_max: ArrayLike, f_max: float, x_min: ArrayLike, f_min: float) -> None:
        xmax = as_point(x_max, name="x_max")
        xmin = as_point(x_min, d=xmax.shape[0], name="x_min")
        fmax = as_value(f_max, name="f_max")
        fmin = as_value(f_min, name="f_min")
        if fmin > fmax:
            raise ValueError(f"f_min = {fmin} is larger than f_max = {fmax}; a visualization needs f_min <= f_max")
        if np.array_equal(xmax, xmin) and fmax != fmin:
            raise ValueError(f"x_max = x_min = {xmax.tolist()} but f_max = {fmax} != f_min = {fmin}")
        check_spread(fmin, fmax)
        object.__setattr__(self, "x_max", xmax)
        object.__setattr__(self, "x_min", xmin)
        object.__setattr__(self, "f_max", fmax)
        object.__setattr__(self, "f_min", fmin)

    @property
    def d(self) -> int:
        return int(self.x_max.shape[0])

    @property
    def delta(self) -> float:
        """Delta = f_max - f_min."""
        return self.f_max - self.f_min

    @property
    def midpoint(self) -> float:
        """c = (f_max + f_min) / 2: the threshold of the question "closer to min or max?"."""
        return (self.f_max + self.f_min) / 2

    def observations(self) -> Observations:
        """The two observations (x_max, f_max, "max") and (x_min, f_min, "min"); built once per visualization
        (both objects are immutable)."""
        obs = self.__dict__.get("_observations")
        if obs is None:
            obs = Observations._trusted(
                np.vstack([self.x_max, self.x_min]), np.array([self.f_max, self.f_min]), ("max", "min")
            )
            object.__setattr__(self, "_observations", obs)
        return obs

    def to_dict(self) -> dict[str, Any]:
        """Exact JSON form (numbers as fraction strings)."""
        return {
            "x_max": vector_str(self.x_max),
            "f_max": fraction_str(self.f_max),
            "x_min": vector_str(self.x_min),
            "f_min": fraction_str(self.f_min),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureVisualization:
        from fractions import Fraction

        def num(v: Any) -> float:
            return float(Fraction(v)) if isinstance(v, str) else float(v)

        return cls(
            [num(v) for v in data["x_max"]],
            num(data["f_max"]),
            [num(v) for v in data["x_min"]],
            num(data["f_min"]),
        )


def as_observations(fv: FeatureVisualization | Observations) -> Observations:
    if isinstance(fv, FeatureVisualization):
        return fv.observations()
    if isinstance(fv, Observations):
        return fv
    raise TypeError(
        f"expected a FeatureVisualization or Observations, got {type(fv).__name__}; "
        "build one with theory.FeatureVisualization(x_max, f_max, x_min, f_min)"
    )
