"""How much a visualization reveals, for one class: plots and a Markdown report (``fvtrust explore``).

For the visualization x_min = 0, x_max = 1 (all ones), f_min = 0, f_max = Delta:
  - d = 1: the value range [lo(x), hi(x)] and the worst-case error of the best decoder, (hi - lo)/2, along x;
  - d = 2: heat maps of that error and of where "closer to min or max" is certified;
  - Lipschitz-type classes: the certified share of the domain against L/L_min for d = 1, 2 (exact) and 3
    (Monte Carlo), each norm; and the number of extra observations needed for eps-approximation everywhere
    (greedy and grid placement) against the covering-number bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from theory._explore import covering_number, grid, lipschitz_certified_share, observation_budget, question_map
from theory._setting import FeatureVisualization
from theory.classes import Lipschitz, get_class

LP_CLASSES = {"convex", "convex_lipschitz"}


def _fv(fc: Any, d: int) -> FeatureVisualization:
    one, zero = np.ones(d), np.zeros(d)
    if hasattr(fc, "L"):
        D = Lipschitz(d, fc.L, fc.norm).dist(one, zero)
        return FeatureVisualization(one, fc.L * D / 2, zero, 0.0)  # L is twice the smallest the FV allows
    return FeatureVisualization(one, 1.0, zero, 0.0)


def explore(name: str, out: Path, *, eps: float = 0.1, **params: Any) -> dict[str, Any]:
    """Write ``d1_range.png``, ``d2_maps.png`` (and for Lipschitz-type classes ``lipschitz_share.png`` and
    ``observations.png``), ``report.json`` and ``report.md`` into ``out``; return the report. matplotlib is
    imported here only (Agg backend), so ``import theory`` does not load it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory._table import refuse_taken

    names = ["d1_range.png", "d2_maps.png", "lipschitz_share.png", "observations.png", "report.json", "report.md"]
    refuse_taken([out / n for n in names], "the exploration")  # before any work
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"class": name, "params": params, "eps": eps, "figures": []}
    n1, n2 = (41, 11) if name in LP_CLASSES else (401, 41)
    # d = 1 curves
    fc1 = get_class(name, **{**params, "d": 1})
    fv1 = _fv(fc1, 1)
    X1 = np.linspace(0, 1, n1)[:, None]
    m1 = question_map(fc1, fv1, X1, eps=eps)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].fill_between(X1[:, 0], m1.lo, m1.hi, alpha=0.35, label="value range [lo, hi]")
    ax[0].axhline(fv1.midpoint, ls="--", c="k", lw=0.8, label="c = (f_max + f_min)/2")
    ax[0].plot([fv1.x_min[0], fv1.x_max[0]], [fv1.f_min, fv1.f_max], "ko", label="visualization")
    ax[0].set(xlabel="x", ylabel="f(x)", title=f"{fc1!r}: what f(x) can be")
    ax[0].legend(fontsize=8)
    ax[1].plot(X1[:, 0], m1.half_width / fv1.delta)
    ax[1].axhline(eps, ls=":", c="r", label=f"eps = {eps}")
    ax[1].set(xlabel="x", ylabel="worst-case error / Delta", title="best decoder: half-width of the range")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "d1_range.png", dpi=120)
    plt.close(fig)
    report["figures"].append("d1_range.png")
    report["d1_shares"] = m1.shares()
    # d = 2 maps
    fc2 = get_class(name, **{**params, "d": 2})
    fv2 = _fv(fc2, 2)
    X2 = grid(2, n2)
    m2 = question_map(fc2, fv2, X2, eps=eps)
    fig, ax = plt.subplots(1, 2, figsize=(9.5, 4))
    ext = (0, 1, 0, 1)
    im = ax[0].imshow((m2.half_width / fv2.delta).reshape(n2, n2).T, origin="lower", extent=ext, vmin=0, vmax=0.5)
    fig.colorbar(im, ax=ax[0], label="worst-case error / Delta")
    ax[1].imshow(m2.min_or_max.reshape(n2, n2).T, origin="lower", extent=ext, cmap="Greens", vmin=0, vmax=1)
    for a, title in zip(ax, ("best decoder's worst-case error", "'closer to min or max' certified"), strict=True):
        a.plot(*fv2.x_min, "bv", ms=9, label="x_min")
        a.plot(*fv2.x_max, "r^", ms=9, label="x_max")
        a.set(title=title, xlabel="x0", ylabel="x1")
    ax[0].legend(fontsize=8, loc="center")
    fig.suptitle(f"{fc2!r}")
    fig.tight_layout()
    fig.savefig(out / "d2_maps.png", dpi=120)
    plt.close(fig)
    report["figures"].append("d2_maps.png")
    report["d2_shares"] = m2.shares()
    if isinstance(fc1, Lipschitz):
        report.update(_lipschitz_curves(fc1, out, eps, plt))
        report["figures"] += ["lipschitz_share.png", "observations.png"]
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    (out / "report.md").write_text(_markdown(report))
    return report


def _lipschitz_curves(fc: Lipschitz, out: Path, eps: float, plt: Any) -> dict[str, Any]:
    ratios = np.array([1.0, 1.1, 1.25, 1.5, 2, 3, 4, 6, 8])
    curves: dict[str, Any] = {}
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for a, d in zip(ax, (1, 2, 3), strict=True):
        for p in ("1", "2", "inf"):
            lip = Lipschitz(d, fc.L, p)
            D = lip.dist(np.ones(d), np.zeros(d))
            rows = [
                lipschitz_certified_share(
                    FeatureVisualization(np.ones(d), fc.L * D / lam, np.zeros(d), 0.0), fc.L, p, n_mc=50_000
                )
                for lam in ratios
            ]
            share = np.array([r[0] for r in rows])
            ci = np.array([r[1] for r in rows])
            a.errorbar(ratios, share, yerr=ci, marker="o", ms=3, label=f"{p}-norm")
            curves[f"d{d}_norm{p}"] = {
                "L_over_L_min": ratios.tolist(),
                "share": share.tolist(),
                "ci95": ci.tolist(),
                "method": rows[0][2],
            }
        a.set(xscale="log", xlabel="L / L_min  (L_min = Delta / ||x_max - x_min||)", title=f"d = {d}")
    ax[0].set_ylabel("share of [0,1]^d certified")
    ax[0].legend(fontsize=8)
    fig.suptitle("'closer to min or max' is certified only in balls of radius Delta/(2L)")
    fig.tight_layout()
    fig.savefig(out / "lipschitz_share.png", dpi=120)
    plt.close(fig)
    # observation budgets in d = 1 against the covering bound
    eps_list = [0.2, 0.1, 0.05, 0.025]
    budget: dict[str, Any] = {"eps": eps_list, "greedy": [], "grid": [], "covering_bound": []}
    fv = FeatureVisualization([1.0], fc.L / 4, [0.0], 0.0)  # L = 4 L_min
    for e in eps_list:
        for s in ("greedy", "grid"):
            budget[s].append(observation_budget(fv, fc.L, e, norm=fc.norm, strategy=s).added)
        budget["covering_bound"].append(covering_number(e * fv.delta / fc.L, 1))
    fig, a = plt.subplots(figsize=(5, 3.6))
    for key in ("greedy", "grid", "covering_bound"):
        a.plot(eps_list, budget[key], marker="o", label=key.replace("_", " "))
    a.set(
        xscale="log",
        yscale="log",
        xlabel="eps (relative to Delta)",
        ylabel="extra observations",
        title="d = 1, L = 4 L_min: observations for eps-approximation everywhere",
    )
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "observations.png", dpi=120)
    plt.close(fig)
    return {"certified_share": curves, "observation_budget_d1": budget}


def _markdown(rep: dict[str, Any]) -> str:
    lines = [
        f"# What a feature visualization reveals: `{rep['class']}` {rep['params']}",
        "",
        "Visualization: x_min = 0, x_max = 1 (all ones), f_min = 0; eps = " + f"{rep['eps']} (relative to Delta).",
        "",
        "| d | share exact | share eps-approx | share min-or-max certified |",
        "|---|---|---|---|",
    ]
    for d in (1, 2):
        s = rep[f"d{d}_shares"]
        lines.append(f"| {d} | {s['exact']:.3f} | {s['approx']:.3f} | {s['min_or_max']:.3f} |")
    if "certified_share" in rep:
        lines += [
            "",
            "Certified share of the domain for 'closer to min or max' as L grows (L_min = Delta/||x_max - x_min||):",
            "",
            "| d, norm | "
            + " | ".join(f"L = {r:g} L_min" for r in rep["certified_share"]["d1_norm2"]["L_over_L_min"])
            + " |",
            "|---|" + "---|" * len(rep["certified_share"]["d1_norm2"]["L_over_L_min"]),
        ]
        for key, row in rep["certified_share"].items():
            lines.append(f"| {key} ({row['method']}) | " + " | ".join(f"{v:.3f}" for v in row["share"]) + " |")
        b = rep["observation_budget_d1"]
        lines += [
            "",
            "Extra observations for eps-approximation everywhere (d = 1, L = 4 L_min):",
            "",
            "| eps | greedy | grid | covering bound |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {e} | {g} | {gr} | {c} |"
            for e, g, gr, c in zip(b["eps"], b["greedy"], b["grid"], b["covering_bound"], strict=True)
        ]
    lines += ["", *(f"![{f}]({f})" for f in rep["figures"]), ""]
    return "\n".join(lines)
