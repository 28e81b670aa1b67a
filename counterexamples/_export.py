"""Counterexamples as self-contained JSON files: a reader needs nothing from this project to re-check them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_witnesses(directory: str | Path, certificates: Iterable[dict[str, Any]]) -> list[Path]:
    """One JSON file per counterexample certificate: class, parameters, visualization, x, both witnesses (as
    exact ReLU-network layers or sympy expressions) and their exact values at x."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: dict[str, int] = {}
    for cert in certificates:
        if cert.get("type") != "counterexample":
            raise ValueError(f"only counterexample certificates are exported, got type {cert.get('type')!r}")
        p = cert["params"]
        stem = "_".join(
            [cert["class"], f"d{p['d']}", *(f"{k}{p[k]}" for k in ("L", "norm") if k in p), cert.get("question", "")]
        ).replace("/", "over")
        seen[stem] = seen.get(stem, 0) + 1
        if seen[stem] > 1:
            stem += f"_{seen[stem]}"
        doc = {
            "class": cert["class"],
            "params": p,
            "question": cert.get("question"),
            "visualization": cert["fv"],
            "x": cert["x"],
            "witnesses": cert["witnesses"],
            "values_at_x": cert["values_at_x"],
            "disagreement_over_delta": cert.get("disagreement"),
            "conventions": "relu_net: h = relu(W h + b) between layers, no ReLU after the last; numbers are exact "
            "fractions; sympy: expressions in x0..x{d-1} over [0,1]^d",
        }
        if "dataset" in cert:
            doc["dataset"] = cert["dataset"]
        path = out / f"{stem}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.replace(path)
        written.append(path)
    return written
