r"""Checking the fooling circuit's preconditions on data.

On natural images :math:`x` the circuit equals :math:`F + c` iff :math:`E(x) = 0`, :math:`F_i(x) + c > 0` and
:math:`D_i(x) + c_D < k` for every unit :math:`i`; on visualization inputs only :math:`D` drives the gradient iff
:math:`E(x) = 1` and :math:`F_i(x) + c < k` (and :math:`D_i + c_D > 0`, else the ReLU passes no gradient).
Each condition is counted per image (an image violates it if any unit does), with the worst value seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from empirical.fooling._circuit import FoolingCircuit

__all__ = ["Condition", "PreconditionReport", "check_preconditions"]


@dataclass
class Condition:
    """``violations`` of ``of`` images break ``text``; ``worst`` is the most extreme value of its left side."""

    text: str
    violations: int
    of: int
    worst: float


@dataclass
class PreconditionReport:
    conditions: list[Condition]

    @property
    def ok(self) -> bool:
        return all(c.violations == 0 for c in self.conditions)

    def violated(self) -> list[Condition]:
        return [c for c in self.conditions if c.violations]

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "conditions": [asdict(c) for c in self.conditions]}

    def __str__(self) -> str:
        lines = [
            f"{'VIOLATED' if c.violations else 'ok':8s} {c.text}: {c.violations}/{c.of} images, worst {c.worst:.4g}"
            for c in self.conditions
        ]
        return "\n".join(lines)


@torch.no_grad()
def _collect(circuit: FoolingCircuit, images: Tensor, batch: int) -> tuple[Tensor, Tensor, Tensor]:
    dev = next(circuit.parameters()).device
    fs, ds, es = [], [], []
    for i in range(0, len(images), batch):
        f, d, e = circuit.parts(images[i : i + batch].to(dev))
        fs.append(f.flatten(1).cpu())
        ds.append(d.flatten(1).cpu())
        es.append(e.cpu())
    return torch.cat(fs), torch.cat(ds), torch.cat(es)


def check_preconditions(
    circuit: FoolingCircuit, natural: Tensor, visualizations: Tensor | None = None, batch: int = 256
) -> PreconditionReport:
    """Count the images of each kind that break a precondition (see the module docstring)."""
    c, k, cd = circuit.c, circuit.k, circuit.target_offset
    conds: list[Condition] = []
    circuit.eval()
    if len(natural):
        f, d, e = _collect(circuit, natural, batch)
        n = len(natural)
        lo = (f + c).amin(1)
        hi = (d + cd).amax(1)
        conds += [
            Condition("natural: E = 0", int((e > 0).sum()), n, float(e.max())),
            Condition("natural: F + c > 0", int((lo <= 0).sum()), n, float(lo.min())),
            Condition("natural: D + c_D < k", int((hi >= k).sum()), n, float(hi.max())),
        ]
    if visualizations is not None and len(visualizations):
        f, d, e = _collect(circuit, visualizations, batch)
        n = len(visualizations)
        hi = (f + c).amax(1)
        lo = (d + cd).amin(1)
        conds += [
            Condition("visualizations: E = 1", int((e < 1).sum()), n, float(e.min())),
            Condition("visualizations: F + c < k", int((hi >= k).sum()), n, float(hi.max())),
            Condition("visualizations: D + c_D > 0", int((lo <= 0).sum()), n, float(lo.min())),
        ]
    return PreconditionReport(conds)
