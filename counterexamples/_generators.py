"""Counterexamples one can hold: for each function class, two members with exactly the same feature
visualization that disagree at a point, as concrete objects (sympy expressions with rational coefficients or
real torch ReLU networks) with exact certificates.

The instance (visualization, point) is the strongest one ``theory.check_class`` finds (the range at x is all of
[f_min, f_max] wherever the class allows it, so the disagreement is Delta); the witnesses are the engine's
extremal members, turned into concrete objects here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy
import torch

from counterexamples.verify._grammar import parse_expression
from theory import FeatureVisualization, check_class

CLASSES = (
    "black_box",
    "neural_network",
    "erm_network",
    "lipschitz",
    "piecewise_affine",
    "monotonic",
    "convex",
    "affine",
    "quadratic",
    "smooth",
)


def relu_sequential(spec: dict[str, Any], dtype: torch.dtype = torch.float64) -> torch.nn.Sequential:
    """A torch ``Sequential`` of Linear/ReLU with the spec's weights (exact when they are dyadic rationals)."""
    mods: list[torch.nn.Module] = []
    layers = spec["layers"]
    for i, layer in enumerate(layers):
        W = torch.tensor([[float(Fraction(v)) for v in row] for row in layer["W"]], dtype=dtype)
        b = torch.tensor([float(Fraction(v)) for v in layer["b"]], dtype=dtype)
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(W)
            lin.bias.copy_(b)
        mods.append(lin)
        if i < len(layers) - 1:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def sympy_expr(spec: dict[str, Any]) -> sympy.Expr:
    """The sympy expression of a ``{"kind": "sympy", "expr", "vars"}`` spec, read by the allow-list grammar (never
    evaluated as Python)."""
    return parse_expression(spec["expr"], spec["vars"], "witness spec")


@dataclass
class Counterexample:
    """Two members f, g of a class with the same visualization and f(x) != g(x)."""

    cls: str
    params: dict[str, Any]
    fv: FeatureVisualization
    x: list[Fraction]
    f: Any  # sympy.Expr or torch.nn.Sequential
    g: Any
    values: tuple[str, str]
    disagreement: float  # |f(x) - g(x)| / Delta
    certificate: dict[str, Any] = field(repr=False)

    def to_certificate(self) -> dict[str, Any]:
        return self.certificate

    def evaluate(self, which: str, points: torch.Tensor) -> torch.Tensor:
        """f or g at points (n, d), float64."""
        obj = self.f if which == "f" else self.g
        if isinstance(obj, torch.nn.Module):
            with torch.no_grad():
                return obj(points.to(torch.float64))[:, 0]
        fn = sympy.lambdify([sympy.Symbol(f"x{k}", real=True) for k in range(points.shape[1])], obj, "math")
        return torch.tensor([float(fn(*p)) for p in points.tolist()], dtype=torch.float64)


def generate(cls: str, d: int = 2, **params: Any) -> Counterexample:
    """The strongest counterexample for ``cls`` in dimension ``d`` (Lipschitz: parameters L, norm; smooth: L)."""
    if cls not in CLASSES:
        raise ValueError(
            f"no counterexample for class {cls!r}: it is one of the 'yes' rows or unknown; "
            f"classes with counterexamples: {', '.join(CLASSES)}"
        )
    if cls == "affine" and d == 1:
        raise ValueError("affine functions in d = 1 are determined by their visualization: no counterexample")
    report = check_class(cls, d=d, **params)
    ans = report.answers["approx"]
    cert = ans.certificate if ans.certificate.get("type") == "counterexample" else report.answers["exact"].certificate
    specs = cert["witnesses"]
    objs = [relu_sequential(s) if s["kind"] == "relu_net" else sympy_expr(s) for s in specs]
    return Counterexample(
        cls=cls,
        params=cert["params"],
        fv=FeatureVisualization.from_dict(cert["fv"]),
        x=[Fraction(v) for v in cert["x"]],
        f=objs[0],
        g=objs[1],
        values=tuple(cert["values_at_x"]),
        disagreement=float(cert["disagreement"]),
        certificate=cert,
    )


def generate_all(ds: tuple[int, ...] = (1, 2, 3)) -> list[Counterexample]:
    """Every class with a counterexample, in each dimension (Lipschitz with L = 1 in each norm, smooth with L = 1)."""
    out = []
    for d in ds:
        for cls in CLASSES:
            if cls == "affine" and d == 1:
                continue
            if cls == "lipschitz":
                out += [generate(cls, d=d, L=1.0, norm=p) for p in ("1", "2", "inf")]
            elif cls == "smooth":
                out.append(generate(cls, d=d, L=1.0))
            else:
                out.append(generate(cls, d=d))
    return out
