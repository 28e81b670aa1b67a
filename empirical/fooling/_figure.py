"""The figure in the paper's style: original visualizations, fooled visualizations and targets, one column per
fooled unit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import Tensor

__all__ = ["fooling_figure"]


def fooling_figure(panels: dict[str, Tensor], columns: Sequence[str], path: Path, title: str = "") -> Path:
    """One row per entry of ``panels`` (name -> images (n, C, H, W) in [0, 1]), one column per unit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(panels)
    n = len(columns)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.8 * n, 1.9 * len(rows)), squeeze=False)
    for r, name in enumerate(rows):
        for j in range(n):
            ax = axes[r][j]
            img = panels[name][j].detach().cpu().clamp(0, 1)
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img.permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
