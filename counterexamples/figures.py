"""Pictures of the counterexamples: for each class, the two witnesses in d = 1 (curves) and d = 2 (heat maps),
the shared visualization's points and the point where they disagree.

    python -m counterexamples.figures [--out docs/figures]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from counterexamples._generators import CLASSES, generate


def _params(cls: str) -> dict[str, object]:
    return {"L": 1.0, "norm": "2"} if cls == "lipschitz" else {}


def plot_class(cls: str, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    if cls != "affine":
        cx = generate(cls, d=1, **_params(cls))
        t = torch.linspace(0, 1, 801, dtype=torch.float64)[:, None]
        for which, style in (("f", "-"), ("g", "--")):
            axes[0].plot(t[:, 0], cx.evaluate(which, t), style, label=f"witness {which}")
        axes[0].plot(cx.fv.x_max, [cx.fv.f_max], "r^", ms=10, label="x_max (shared)")
        axes[0].plot(cx.fv.x_min, [cx.fv.f_min], "bv", ms=10, label="x_min (shared)")
        axes[0].axvline(float(cx.x[0]), c="k", lw=0.8, ls=":", label=f"x = {cx.x[0]}: they disagree")
        axes[0].set(title=f"d = 1: disagreement {cx.disagreement:.2g} Delta", xlabel="x")
        axes[0].legend(fontsize=7)
    else:
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "affine, d = 1:\nthe visualization determines f\n(no counterexample)", ha="center")
    cx2 = generate(cls, d=2, **_params(cls))
    n = 101
    axis = torch.linspace(0, 1, n, dtype=torch.float64)
    G = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    for ax, which in zip(axes[1:], ("f", "g"), strict=True):
        vals = cx2.evaluate(which, G).reshape(n, n).numpy()
        im = ax.imshow(
            vals.T, origin="lower", extent=(0, 1, 0, 1), vmin=cx2.fv.f_min, vmax=cx2.fv.f_max, cmap="viridis"
        )
        ax.plot(*cx2.fv.x_max, "r^", ms=12, clip_on=False, zorder=5)
        ax.plot(*cx2.fv.x_min, "bv", ms=12, clip_on=False, zorder=5)
        ax.plot(*[float(v) for v in cx2.x], "wo", ms=11, mec="k", clip_on=False, zorder=5)
        ax.set(title=f"d = 2, witness {which}", xlabel="x0", ylabel="x1")
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"{cls}: same feature visualization (▲ x_max, ▼ x_min), different values at ○")
    fig.tight_layout()
    path = out / f"counterexamples_{cls}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for cls in CLASSES:
        print(plot_class(cls, args.out))


if __name__ == "__main__":
    main()
