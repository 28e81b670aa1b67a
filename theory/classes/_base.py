"""The base of all function classes and the registry of class names."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from theory._range import ValueRange
from theory._setting import (
    FeatureVisualization,
    FloatArray,
    Observations,
    as_observations,
    as_point,
    check_dimension,
)

_REGISTRY: dict[str, type[FunctionClass]] = {}


class InconsistentVisualization(ValueError):
    """The observations (e.g. a feature visualization) cannot come from any member of the class."""


class FunctionClass(ABC):
    """A class of functions f : [0,1]^d -> R.

    Subclasses implement ``check_consistent`` (can a member have these observations?) and ``_value_range``
    (the exact set of f(x) over members with these observations, with witnesses)."""

    name: ClassVar[str]
    label: ClassVar[str]
    #: parameter names besides ``d``
    param_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, d: int = 1) -> None:
        self.d = check_dimension(d)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    @property
    def params(self) -> dict[str, Any]:
        return {"d": self.d}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"

    # ---- consistency and value ranges -------------------------------------------------------------------
    @abstractmethod
    def check_consistent(self, obs: Observations) -> None:
        """Raise :class:`InconsistentVisualization` naming the problem if no member has these observations."""

    @abstractmethod
    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange: ...

    def _value_ranges(self, obs: Observations, X: FloatArray) -> list[ValueRange]:
        """Value ranges at each row of X (consistent observations assumed); classes with a closed form
        override this with one vectorised evaluation."""
        return [self._value_range(obs, x) for x in X]

    def value_range(self, fv: FeatureVisualization | Observations, x: ArrayLike) -> ValueRange:
        obs = as_observations(fv)
        if obs.d != self.d:
            raise ValueError(f"the visualization lives in dimension {obs.d}, but the class {self!r} has d = {self.d}")
        if obs.f_max is None or obs.f_min is None:
            raise ValueError("observations must include a global maximiser and a global minimiser ('max', 'min')")
        xp = as_point(x, self.d)
        self.check_consistent(obs)
        return self._value_range(obs, xp)

    def is_consistent(self, fv: FeatureVisualization | Observations) -> bool:
        try:
            self.check_consistent(as_observations(fv))
        except InconsistentVisualization:
            return False
        return True

    # ---- what check_class searches over -------------------------------------------------------------------
    def probe_points(self) -> list[FloatArray]:
        """Candidate points for x_max, x_min and the query x: vertices 0 and 1, e_1, 1 - e_1, the centre and
        the quarter points. The search is over all pairs of them (a finite family that contains the classical
        counterexamples); it finds, it does not prove: "yes" verdicts need a proof object."""
        d = self.d
        e1 = np.zeros(d)
        e1[0] = 1.0
        cands = [
            np.zeros(d),
            np.ones(d),
            e1,
            1 - e1,
            np.full(d, 0.5),
            np.full(d, 0.25),
            np.full(d, 0.75),
            np.where(np.arange(d) == 0, 0.25, 0.0),
        ]
        uniq: list[FloatArray] = []
        for c in cands:
            if not any(np.array_equal(c, u) for u in uniq):
                uniq.append(c)
        return uniq

    def probe_visualizations(self) -> Iterator[FeatureVisualization]:
        """Feature visualizations with f_min = 0, f_max = 1 at pairs of probe points that the class allows."""
        for a, b in itertools.permutations(self.probe_points(), 2):
            fv = FeatureVisualization(a, 1.0, b, 0.0)
            if self.is_consistent(fv):
                yield fv

    def probe_instances(self) -> Iterator[tuple[FeatureVisualization, FloatArray]]:
        pts = self.probe_points()
        keys = [tuple(x.tolist()) for x in pts]
        for fv in self.probe_visualizations():
            skip = {tuple(fv.x_max.tolist()), tuple(fv.x_min.tolist())}
            for x, key in zip(pts, keys, strict=True):
                if key not in skip:
                    yield fv, x

    def ranges_exact(self) -> bool:
        """Are the value ranges exact (True for every class except L-smooth in d >= 2, which has brackets)?"""
        return True

    def approx_bound(self) -> dict[str, Any] | None:
        """A proved bound on (hi(x) - lo(x)) / Delta over every visualization and every x, as
        ``{"sup_width": "p/q", "argument": ...}`` when the supremum is known and attained; otherwise None."""
        return None

    def approx_condition(self) -> str:
        """The exact condition under which x is answered within eps Delta (stated in every "depends")."""
        return "hi(x) - lo(x) <= 2 eps Delta, with [lo(x), hi(x)] the class's exact value range (value_range)"

    def decoder_expr(self, syms: dict[str, Any]) -> Any:
        """The decoder as a sympy expression built from the symbols ``syms`` (named as in ``decoder()["vars"]``):
        constructed explicitly, never parsed from text. None where there is no decoder."""
        return None

    def decoder(self) -> dict[str, Any] | None:
        """For classes where the visualization determines f(x): the decoder as an exact expression in
        ``x0.., x_max0.., x_min0.., f_max, f_min`` (verified independently); otherwise None."""
        return None


def get_class(name: str | FunctionClass, **params: Any) -> FunctionClass:
    """The function class registered as ``name`` with the given parameters."""
    if isinstance(name, FunctionClass):
        if params:
            raise ValueError(f"parameters {sorted(params)} given together with a class instance {name!r}")
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown function class {name!r}; valid classes: {', '.join(class_names())}")
    cls = _REGISTRY[name]
    allowed = {"d", *cls.param_names}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for class {name!r}; allowed: {', '.join(sorted(allowed))}"
        )
    return cls(**params)


def class_names() -> list[str]:
    return sorted(_REGISTRY)
