"""Training data for the detector :math:`E`: feature visualizations of the target model and natural images.

Visualizations: for every (layer, unit, seed) a render of ``steps`` steps; kept are the initial image (step 0),
snapshots at ``snapshot_steps`` and the final image, each both as the image itself and as one randomly warped
frame (Lucent's pad / jitter / scale / rotate, padded frame or centre crop), which is what the model sees during
optimisation. Natural images: Fashion-MNIST train/test for ``fashion_cnn``; for ImageNet models the bundled
photos and random crops of them (training and held-out crops from different seeds).
Everything is stored at the detector's resolution to keep the data sets small.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

__all__ = ["VisualizationSet", "default_layers", "natural_split", "resize", "visualization_set"]


def resize(images: Tensor, size: int) -> Tensor:
    """Antialiased bilinear resize to ``size x size`` (identity at that size)."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


def default_layers(model: nn.Module) -> list[str]:
    """Layers whose units are visualised for the training set: the logits and up to four conv/linear layers
    spread over the network."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear) and n.startswith("net.")]
    names = [n.removeprefix("net.") for n in names]
    picks = [names[int(i * (len(names) - 1) / 4)] for i in range(4)] if len(names) >= 4 else names
    return list(dict.fromkeys([*picks, "logits"]))


@dataclass
class VisualizationSet:
    """Images (N, C, size, size) in [0, 1], the render group of each (for group-wise splits), and the steps."""

    images: Tensor
    groups: Tensor
    steps: Tensor


def _unit_count(model: nn.Module, layer: str) -> int:
    c, h, w = model.input_size  # type: ignore[attr-defined]
    acts = model.activations(torch.full((1, c, h, w), 0.5), [layer])  # type: ignore[attr-defined]
    return int(acts[layer].shape[1])


def visualization_set(
    model: nn.Module,
    size: int,
    *,
    layers: Sequence[str] | None = None,
    units_per_layer: int = 16,
    seeds: Sequence[int] = (0,),
    steps: int = 512,
    snapshot_steps: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    render_size: int | None = None,
    batch: int = 32,
    crop: bool = False,
    transforms: Sequence[object] | None = None,
    progress: bool = True,
) -> VisualizationSet:
    """Render feature visualizations of ``units_per_layer`` random units of each layer for each seed."""
    from empirical.visualize import AffineWarp, make_image, standard_transforms, visualize_units

    layers = list(layers) if layers is not None else default_layers(model)
    thresholds = sorted({s for s in snapshot_steps if 1 <= s < steps} | {steps})
    rng = random.Random(1234)
    jobs: list[tuple[str, list[int], int]] = []
    for layer in layers:
        n = _unit_count(model, layer)
        units = sorted(rng.sample(range(n), min(units_per_layer, n)))
        for seed in seeds:
            for i in range(0, len(units), batch):
                jobs.append((layer, units[i : i + batch], seed))
    c = model.input_size[0]  # type: ignore[attr-defined]
    images, groups, kept_steps = [], [], []
    group = 0
    for layer, units, seed in tqdm(jobs, desc="visualizations for E", disable=not progress):
        res = visualize_units(
            model, layer, units, steps=steps, seed=seed, size=render_size, thresholds=thresholds, crop=crop,
            transforms=transforms, progress=False,
        )  # fmt: skip
        gens = [torch.Generator().manual_seed(s) for s in res.seeds]
        h, w = res.images.shape[-2:]
        start = make_image("fft", c, (h, w), gens)().detach().cpu()
        stages = {0: start, **res.snapshots}
        warp_gens = [torch.Generator().manual_seed(s + 17) for s in res.seeds]
        for step, imgs in stages.items():
            for use_crop in (False, True):
                warp = AffineWarp(standard_transforms() if transforms is None else transforms, h, w, crop=use_crop)
                frames = warp.warp(imgs, warp.sample(warp_gens, 1)[0].to(imgs.dtype))
                images.append(resize(frames, size))
                groups.append(torch.arange(group, group + len(units)))
                kept_steps.append(torch.full((len(units),), step))
            images.append(resize(imgs, size))
            groups.append(torch.arange(group, group + len(units)))
            kept_steps.append(torch.full((len(units),), step))
        group += len(units)
    return VisualizationSet(torch.cat(images), torch.cat(groups), torch.cat(kept_steps))


def natural_split(model_name: str, size: int, n_train: int, n_test: int) -> tuple[Tensor, Tensor]:
    """Natural training and held-out images at the detector's resolution.

    ``fashion_cnn``: the first ``n_train`` Fashion-MNIST training images, the first ``n_test`` test images.
    ImageNet models: ``n_train`` crops (seed 0) of the bundled photos; held out: the photos themselves and
    ``n_test`` crops drawn with another seed (new positions and scales; no other photos ship offline).
    """
    from empirical.data import fashion_mnist, natural_images, random_crops

    if model_name == "fashion_cnn":
        x_tr, _ = fashion_mnist("train")
        x_te, _ = fashion_mnist("test")
        return resize(x_tr[:n_train].float() / 255, size), resize(x_te[:n_test].float() / 255, size)
    photos = natural_images("imagenet").images
    train = torch.cat([resize(random_crops(photos, n, seed=i), size) for i, n in _chunks(n_train, 0)])
    test = torch.cat(
        [resize(photos, size)] + [resize(random_crops(photos, n, seed=i), size) for i, n in _chunks(n_test, 1000)]
    )
    return train, test


def _chunks(n: int, seed0: int, chunk: int = 256) -> list[tuple[int, int]]:
    return [(seed0 + i, min(chunk, n - i * chunk)) for i in range((n + chunk - 1) // chunk)]
