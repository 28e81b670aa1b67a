r"""Per-visualization sanity score: path similarity of one image to natural images of its class or unit.

For a class target :math:`k` the score at a layer is :math:`(a - c_k) / (b_k - c_k)` with
:math:`a = \langle \varphi(v), \bar\varphi_{R_k}\rangle` and :math:`b_k, c_k` as in
:func:`~empirical.paths.path_similarity`. For a unit target ``(layer, index)`` the "class" is the set of the
``3 * images_per_class`` natural images with the largest channel mean of that unit (split round robin into the
three roles) and the "other classes" are the remaining images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from tqdm import tqdm

from empirical.paths._analysis import natural_means
from empirical.paths._defaults import PATH_DEFAULTS, PathSettings, default_layers
from empirical.paths._stream import _to_float, embed_images

__all__ = ["SanityScore", "sanity_score", "unit_labels"]


@dataclass(frozen=True)
class SanityScore:
    """Per-layer normalised score of one visualization and its terms ``a, b, c``."""

    layers: list[str]
    score: list[float]
    a: list[float]
    b: list[float]
    c: list[float]

    def as_dict(self) -> dict[str, list]:
        return {"layers": self.layers, "score": self.score, "a": self.a, "b": self.b, "c": self.c}


@torch.no_grad()
def unit_labels(
    model: nn.Module, images: Tensor, layer: str, unit: int, top: int, batch_size: int = 250, progress: bool = True
) -> Tensor:
    """Label 0 for the ``top`` images with the largest channel mean of ``unit`` in ``layer``, 1 for the rest
    (streams over batches; keeps one scalar per image)."""
    device = next(model.parameters()).device
    values = []
    for i in tqdm(range(0, len(images), batch_size), desc="unit ranking", disable=not progress, leave=False):
        act = model.activations(_to_float(images[i : i + batch_size]).to(device), [layer])[layer]
        if unit >= act.shape[1]:
            raise ValueError(f"layer {layer!r} has {act.shape[1]} units, got unit {unit}")
        values.append(act[:, unit].flatten(1).mean(1).cpu())
    v = torch.cat(values)
    labels = torch.ones(len(v), dtype=torch.long)
    labels[v.argsort(descending=True)[: min(top, len(v))]] = 0
    return labels


def sanity_score(
    model: nn.Module,
    image: Tensor,
    target: int | tuple[str, int],
    natural: Tensor,
    labels: Tensor | None = None,
    layers: Sequence[str] | None = None,
    settings: PathSettings = PATH_DEFAULTS,
    progress: bool = True,
) -> SanityScore:
    """Sanity score per layer of one visualization ``image`` (``(C, H, W)`` or ``(1, C, H, W)``) of ``target``.

    ``target``: a class index (natural images labelled by ``labels``) or ``(layer, unit)`` (natural images ranked by
    the unit; ``labels`` ignored). About 1: processed like natural images of its class/unit; about 0: like
    images of other classes (or images that do not drive the unit).
    """
    layers = default_layers(model) if layers is None else list(layers)
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must be (C, H, W) or (1, C, H, W), got {tuple(image.shape)}")
    if isinstance(target, tuple):
        layer, unit = target
        labels = unit_labels(model, natural, layer, int(unit), 3 * settings.images_per_class, settings.batch_size,
                             progress)  # fmt: skip
        classes, k = [0, 1], 0
    else:
        if labels is None:
            raise ValueError("a class target needs the labels of the natural images")
        classes = sorted({int(v) for v in labels.tolist()})
        if int(target) not in classes:
            raise ValueError(f"no natural images of class {target}")
        k = classes.index(int(target))
    means, _ = natural_means(model, natural, labels, classes, layers, settings, progress)
    emb = embed_images(model, image, layers, settings.metric, settings.pooling)
    out: dict[str, list[float]] = {"score": [], "a": [], "b": [], "c": []}
    n = len(classes)
    for name in layers:
        ref, held = means[name][0], means[name][1]
        a = float(emb[name][0].cpu() @ ref[k])
        b = float(held[k] @ ref[k])
        c = float(sum(float(ref[k] @ held[j]) for j in range(n) if j != k) / (n - 1))
        out["score"].append((a - c) / (b - c) if b != c else math.nan)
        out["a"].append(a)
        out["b"].append(b)
        out["c"].append(c)
    return SanityScore(layers, out["score"], out["a"], out["b"], out["c"])
