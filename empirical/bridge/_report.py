"""Outputs of the bridge: figure, Markdown summary, files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from empirical.bridge._analyse import BridgeResult


def plot(result: BridgeResult, path: Path, title: str) -> None:
    """Actual activation per image (sorted) against the certified interval and the what-if interval."""
    order = np.argsort(result.actual)
    rank = np.arange(len(order))
    rep = result.report
    lip = rep["lipschitz"]
    fig = Figure(figsize=(8, 5))  # no pyplot: no global state, no display backend
    ax = fig.add_subplot()
    ax.fill_between(
        rank,
        result.certified[0][order],
        result.certified[1][order],
        step="mid",
        color="0.85",
        label=f"certified range, L = {lip['upper']['upper']:.3g} (upper bound)",
    )
    ax.fill_between(
        rank,
        result.what_if[0][order],
        result.what_if[1][order],
        step="mid",
        color="tab:blue",
        alpha=0.35,
        label=f"what-if range, L = {lip['what_if_L']:.3g} (sampled lower bound)",
    )
    ax.plot(rank, result.actual[order], ".", ms=3, color="k", label="actual activation")
    for y, style, name in (
        (rep["f_max"], "--", "f_max"),
        (rep["f_min"], "--", "f_min"),
        ((rep["f_max"] + rep["f_min"]) / 2, ":", "c"),
    ):
        ax.axhline(y, ls=style, lw=0.8, color="tab:red")
        ax.annotate(name, (len(order) - 1, y), fontsize=8, color="tab:red", va="bottom", ha="right")
    ax.set(xlabel="natural test image (sorted by activation)", ylabel="unit activation f(x)", title=title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def markdown(report: dict[str, Any]) -> str:
    """A short Markdown summary of the report."""
    u, lip = report["unit"], report["lipschitz"]
    n = report["settings"]["images"]
    rows = []
    for key, name, L in (
        ("certified", "certified (upper bound)", lip["upper"]["upper"]),
        ("what_if", "what-if (sampled lower bound)", lip["what_if_L"]),
    ):
        s = report[key]
        shares = f"{_pct(s['share_max'])} / {_pct(s['share_min'])}"
        width = f"{s['width_median']:.4g} ({s['width_over_spread_median']:.3g}x spread)"
        rows.append(f"| {name} | {L:.4g} | {shares} | {width} | {s['contained']}/{n} |")
    need = report["needed_L"]
    obs = report["observations"]
    return "\n".join([
        f"## Bridge: {report.get('model', 'model')} unit {u['layer']}:{u['index']} (d = {u['d']})",
        "",
        f"Observations: {len(obs)} ({', '.join(o['label'] for o in obs[:2])}"
        + (f", {len(obs) - 2} exemplars" if len(obs) > 2 else "") + f"); f_max = {report['f_max']:.4g}, "
        f"f_min = {report['f_min']:.4g}, Delta = {report['delta']:.4g} (true FV values {obs[0]['true_value']:.4g}, "
        f"{obs[1]['true_value']:.4g}). Actual activations over {n} natural images: "
        f"[{report['actual']['min']:.4g}, {report['actual']['max']:.4g}], spread {report['actual']['spread']:.4g}.",
        "",
        f"Lipschitz constant (2-norm): certified upper bound {lip['upper']['upper']:.4g}, sampled lower bound "
        f"{lip['lower']['lower']:.4g} (gradients {lip['lower']['grad_max']:.4g}, quotients "
        f"{lip['lower']['quotient_max']:.4g}); ratio {lip['upper_over_lower']:.3g}. lower <= upper: "
        f"{lip['lower_le_upper']}.",
        "",
        "| L | value | certified closer to max / min | median width | actual in range |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Certified radius Delta/(2L) = {report['distances']['certified_radius']:.3g} against a median distance "
        f"{report['distances']['median_to_observations']:.3g} from a test image to its nearest observation. "
        + _needed_text(need, report["lipschitz"]["smallest_consistent"]),
        "",
        _premise_text(report),
    ])  # fmt: skip


def _needed_text(need: dict[str, Any], L_obs: float) -> str:
    if need["median"] == 0:
        return (
            f"Even the smallest L consistent with the observations ({L_obs:.4g}) certifies "
            f"{_pct(1 - need['share_never'])} of the images."
        )
    return (
        f"To certify half of the images, L would have to be at most {need['median']:.4g} "
        f"({need['L_upper_over_median']:.3g} times below the certified bound)."
    )


def _premise_text(report: dict[str, Any]) -> str:
    cert, n = report["certified"], report["settings"]["images"]
    out = report["actual"]["outside_fmin_fmax"]
    text = f"Lipschitz-only range (true values, no extremum premise) contains {cert['contained_unconditional']}/{n}."
    if out:
        text += f" {out} images lie outside [f_min, f_max]: there the visualizations are not global extrema."
    return text


def write_outputs(result: BridgeResult, out: Path, title: str) -> dict[str, Path]:
    """``bridge.json``, ``bridge.png`` and ``bridge.md`` in ``out`` (created).

    Each file is written to a unique temporary name in ``out`` and renamed into place only when all three are
    complete, so a failure leaves no partial output behind.
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bridge.json", "figure": out / "bridge.png", "markdown": out / "bridge.md"}
    temps: dict[str, Path] = {}
    try:
        for key, path in paths.items():
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=out)
            os.close(fd)
            temps[key] = Path(name)
        temps["json"].write_text(json.dumps(result.to_dict(), indent=2, default=float) + "\n")
        plot(result, temps["figure"], title)
        temps["markdown"].write_text(markdown(result.to_dict()) + "\n")
        for key, path in paths.items():
            os.replace(temps[key], path)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    return paths
