"""Figures of the path analysis: normalised similarity across depth (one panel per metric), visualization grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

__all__ = ["plot_metrics", "save_grid"]

_BLOCKS = (
    ("score", "feature visualization of class c", "C3"),
    ("control_same_class", "control: other photos of class c", "C2"),
    ("control_other_class", "control: photos of other classes", "C7"),
)


def _num(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def plot_metrics(result: dict[str, Any], path: Path) -> None:
    """One panel per metric of a ``fvtrust.paths/2`` result: the three blocks with their intervals, the paper's
    reference levels 0 and 1, and a line where the "first two thirds" of the layers end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = result["layers"]
    metrics = list(result["metrics"])
    x = list(range(len(layers)))
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(max(6.0, 0.35 * len(layers) + 2.5), 3.2 * len(metrics) + 0.8), squeeze=False
    )
    vis = result["visualizations"]
    nat = result["natural_images"]
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        block = result["metrics"][metric]
        for key, label, colour in _BLOCKS:
            y = [block[key][n]["score"] for n in layers]
            lo = [_num(block[key][n]["ci"][0]) for n in layers]
            hi = [_num(block[key][n]["ci"][1]) for n in layers]
            ax.plot(x, [_num(v) for v in y], "o-", color=colour, label=label, ms=3)
            ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
        ax.axhline(0, color="k", lw=0.5)
        ax.axhline(1, color="k", lw=0.5, ls=":")
        ax.axvline(result["n_early_layers"] - 0.5, color="k", lw=0.7, ls="--")
        ax.set_xticks(x, layers if ax is axes[-1][0] else [""] * len(x), rotation=70, ha="right", fontsize=7)
        ax.set_ylabel(f"normalised {metric} similarity")
        ax.set_title(metric, fontsize=9)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"{result['model']}: {nat['n_classes']} classes, {nat['photos_per_class']['min']}-"
        f"{nat['photos_per_class']['max']} photos each,\n{len(vis['seeds'])} x {vis['steps']}-step logit FVs "
        f"per class, "
        f"{result['settings']['pooling']} pooling; dashed: end of the first {result['n_early_layers']} layers",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def save_grid(images: Tensor, names: list[str], path: Path) -> None:
    """Grid of visualizations ``(K, n, C, H, W)``: one column per class, one row per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k, n = images.shape[:2]
    fig, axes = plt.subplots(n, k, figsize=(1.3 * k, 1.4 * n), squeeze=False)
    for i in range(k):
        for j in range(n):
            img = images[i, j].permute(1, 2, 0).numpy()
            axes[j][i].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            axes[j][i].axis("off")
        axes[0][i].set_title(names[i][:14], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
