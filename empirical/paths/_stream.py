r"""Streaming per-group mean embeddings of activations: one batch at a time, only running sums are kept.

For group :math:`g` and layer :math:`\ell` the stream accumulates :math:`S_g = \sum_{x \in g} \varphi(p(f_\ell(x)))`
and :math:`n_g`, where :math:`p` pools (channel means or flattening) and :math:`\varphi` is the metric's embedding
(:func:`empirical.paths.embed`). Memory is :math:`O(G \cdot D_\ell)` per layer, independent of the number of images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import Tensor, nn
from tqdm import tqdm

from empirical.paths._metrics import embed

__all__ = ["GroupMeans", "activations", "batches", "embed_images", "pool", "stream_group_means"]


def pool(act: Tensor, pooling: str = "mean") -> Tensor:
    """``(N, C, *spatial)`` -> ``(N, C)`` by averaging over space (``"mean"``) or ``(N, C * prod(spatial))``
    (``"flatten"``); ``(N, D)`` stays as is."""
    if act.ndim < 2:
        raise ValueError(f"activations must have a batch dimension, got shape {tuple(act.shape)}")
    if pooling == "mean":
        return act.flatten(2).mean(-1) if act.ndim > 2 else act
    if pooling == "flatten":
        return act.flatten(1)
    raise ValueError(f"unknown pooling {pooling!r}; choose 'mean' or 'flatten'")


def _to_float(images: Tensor) -> Tensor:
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


@torch.no_grad()
def activations(model: nn.Module, images: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
    """Activations of ``layers`` for one batch (``model.activations`` of a :class:`~empirical.models.ZooModel`)."""
    return model.activations(images, list(layers))


@torch.no_grad()
def embed_images(
    model: nn.Module, images: Tensor, layers: Sequence[str], metric: str = "spearman", pooling: str = "mean"
) -> dict[str, Tensor]:
    """:math:`\\varphi(p(f_\\ell(x)))` per layer for one batch, float64 ``(N, D_\\ell)``."""
    device = next(model.parameters()).device
    acts = activations(model, _to_float(images).to(device), layers)
    return {name: embed(pool(a, pooling), metric) for name, a in acts.items()}


def batches(
    images: Tensor, labels: Tensor, batch_size: int, order: Tensor | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """``(images, labels)`` in batches, in ``order`` (a permutation) if given; gathers one batch at a time."""
    n = len(images)
    idx = torch.arange(n) if order is None else order
    for i in range(0, n, batch_size):
        j = idx[i : i + batch_size]
        yield images[j], labels[j]


class GroupMeans:
    """Running sums of embeddings per group and layer; :meth:`means` gives :math:`S_g / n_g`."""

    def __init__(self, n_groups: int) -> None:
        self.n_groups = n_groups
        self.sums: dict[str, Tensor] = {}
        self.counts = torch.zeros(n_groups, dtype=torch.float64)

    def add(self, embeddings: dict[str, Tensor], groups: Tensor) -> None:
        """Add a batch: ``embeddings[layer]`` ``(N, D)``, ``groups`` ``(N,)`` in ``[0, n_groups)``, ``-1``: skip."""
        keep = groups >= 0
        if not bool(keep.any()):
            return
        g = groups[keep].cpu()
        for name, e in embeddings.items():
            e = e[keep.to(e.device)].cpu()
            if name not in self.sums:
                self.sums[name] = torch.zeros(self.n_groups, e.shape[1], dtype=torch.float64)
            self.sums[name].index_add_(0, g, e)
        self.counts.index_add_(0, g, torch.ones(len(g), dtype=torch.float64))

    def means(self) -> dict[str, Tensor]:
        """Mean embedding per group, ``(G, D)``; NaN rows for empty groups."""
        n = self.counts[:, None]
        return {name: s / n for name, s in self.sums.items()}


def stream_group_means(
    model: nn.Module,
    stream: Iterable[tuple[Tensor, Tensor]],
    layers: Sequence[str],
    n_groups: int,
    metric: str = "spearman",
    pooling: str = "mean",
    progress: bool = True,
    total: int | None = None,
) -> GroupMeans:
    """Consume ``(images, groups)`` batches (groups ``-1`` are skipped, and batches without any group are not
    run through the model) and return the per-group running sums."""
    acc = GroupMeans(n_groups)
    for images, groups in tqdm(stream, desc="activations", total=total, disable=not progress, leave=False):
        if not bool((groups >= 0).any()):
            continue
        keep = groups >= 0
        acc.add(embed_images(model, images[keep], layers, metric, pooling), groups[keep])
    return acc
