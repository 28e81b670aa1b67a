"""The class ``constant``: f(y) = c.

Theorem. A visualization is consistent iff f_max = f_min, and then f(x) = f_max for every x: the
visualization determines f. Decoder: f(x) = f_max.
"""

from __future__ import annotations

from typing import Any

from theory._range import ValueRange
from theory._setting import TOL, FeatureVisualization, FloatArray, Observations
from theory._witness import ConstantWitness
from theory.classes._base import FunctionClass, InconsistentVisualization


class Constant(FunctionClass):
    """Constant functions on [0,1]^d."""

    name = "constant"
    label = "constant"

    def check_consistent(self, obs: Observations) -> None:
        spread = float(obs.values.max() - obs.values.min())
        if spread > TOL * obs.scale:
            raise InconsistentVisualization(
                f"a constant function cannot take different values (observed values spread over {spread:g}; "
                "a constant function has f_max = f_min)"
            )

    def _value_range(self, obs: Observations, x: FloatArray) -> ValueRange:
        c = float(obs.values[0])
        w = ConstantWitness(c, self.d)
        return ValueRange(c, c, True, True, w, w, x, obs, "closed form (constant)")

    def probe_visualizations(self):  # type: ignore[no-untyped-def]
        for p in self.probe_points()[:2]:
            yield FeatureVisualization(p, 1.0, 1 - p, 1.0)

    def decoder_expr(self, syms: dict[str, Any]) -> Any:
        return syms["f_max"]

    def decoder(self) -> dict[str, Any] | None:
        return {"expr": "f_max", "vars": self._decoder_vars()}

    def _decoder_vars(self) -> list[str]:
        d = self.d
        return [
            *(f"x{k}" for k in range(d)),
            *(f"x_max{k}" for k in range(d)),
            *(f"x_min{k}" for k in range(d)),
            "f_max",
            "f_min",
        ]
