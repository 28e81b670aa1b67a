"""Counterexamples as self-contained JSON files: a reader needs nothing from this project to re-check them.

ReLU-network witnesses of the piecewise-affine rows are also written as their pieces (``witnesses_as_pieces``,
and in d = 1 ``witnesses_as_breakpoints``), so either form can be re-checked."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from counterexamples._pieces import TooManyPieces, pieces_of
from theory._table import FILE_MODE, refuse_taken

PIECES_CLASSES = ("piecewise_affine", "neural_network", "erm_network")
CONVENTIONS = (
    "relu_net: h = relu(W h + b) between layers, no ReLU after the last; numbers are exact "
    "fractions; sympy: expressions in x0..x{d-1} over [0,1]^d; witnesses_as_pieces (same order as witnesses): "
    "pwa_pieces, the same function as pieces {A, c, w, b}: f(y) = w . y + b on {y in [0,1]^d : A y <= c}, one "
    "piece per full-dimensional activation region, the pieces cover the box and agree where they meet; "
    "witnesses_as_breakpoints (d = 1): pwa_1d, f's values at breakpoints from 0 to 1, linear in between"
)


def _as_pieces(specs: list[dict[str, Any]], d: int, cache: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The relu_net witnesses as pieces (and breakpoints in d = 1); {} if one has too many regions."""
    out: dict[str, list[dict[str, Any]]] = {"witnesses_as_pieces": []}
    if d == 1:
        out["witnesses_as_breakpoints"] = []
    for spec in specs:
        key = json.dumps(spec, sort_keys=True)
        if key not in cache:
            try:
                cache[key] = (pieces_of(spec), pieces_of(spec, form="1d") if d == 1 else None)
            except (TooManyPieces, ValueError):
                cache[key] = None
        if cache[key] is None:
            return {}
        out["witnesses_as_pieces"].append(cache[key][0])
        if d == 1:
            out["witnesses_as_breakpoints"].append(cache[key][1])
    return out


def counterexample_certificates(reports: Iterable[Any]) -> list[dict[str, Any]]:
    """The counterexamples behind the answers of class reports (``check_class``, or ``TableRow.report`` of the
    theory table), in order, as ``write_witnesses`` takes them: every counterexample certificate, and of a
    threshold certificate ("depends" on L) the counterexample above L*. Other certificates hold no witnesses."""
    flat: list[dict[str, Any]] = []
    for report in reports:
        for answer in report.answers.values():
            cert = answer.certificate
            if cert.get("type") == "counterexample":
                flat.append(cert)
            elif cert.get("type") == "threshold":
                flat.append(cert["above"])
    return flat


def write_witnesses(
    directory: str | Path, certificates: Iterable[dict[str, Any]], *, dry_run: bool = False
) -> list[Path]:
    """One JSON file per counterexample certificate: class, parameters, visualization, x, both witnesses (as
    exact ReLU-network layers or sympy expressions) and their exact values at x. ReLU-network witnesses of the
    piecewise_affine, neural_network and erm_network rows are written a second time as their pieces. Every target
    is checked before anything is written (something other than a file there: ``ValueError`` naming it);
    ``dry_run`` stops after the check and returns the paths that would be written."""
    out = Path(directory)
    docs: list[tuple[Path, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    cache: dict[str, Any] = {}
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
            "conventions": CONVENTIONS,
        }
        if cert["class"] in PIECES_CLASSES and all(s.get("kind") == "relu_net" for s in cert["witnesses"]):
            doc.update(_as_pieces(cert["witnesses"], int(p["d"]), cache))
        if "dataset" in cert:
            doc["dataset"] = cert["dataset"]
        docs.append((out / f"{stem}.json", doc))
    refuse_taken([p for p, _ in docs], "the witnesses")  # checked before anything is written
    if dry_run:
        return [p for p, _ in docs]
    written: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, doc in docs:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")  # unique, never a symlink
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(json.dumps(doc, indent=1))
                os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; exported witnesses are ordinary files
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(path)
    except OSError as err:  # e.g. a full disk: one line naming the folder and how far it got
        raise ValueError(
            f"cannot write the witnesses to {out} ({err.strerror or err}); {len(written)} of {len(docs)} written"
        ) from None
    return written
