r"""Streaming per-group mean embeddings of activations: one batch at a time, only running sums are kept.

For group :math:`g` and layer :math:`\ell` the stream accumulates :math:`S_g = \sum_{x \in g} \varphi(p(f_\ell(x)))`
and :math:`n_g`, where :math:`p` pools (channel means or flattening) and :math:`\varphi` is the metric's embedding
(:func:`empirical.paths.embed`). Sums are kept per bucket (images of a group are spread over
:math:`M` buckets, for the image-level bootstrap), so memory is :math:`O(G \cdot M \cdot D_\ell)` per layer, independent
of the number of images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import Tensor, nn
from tqdm import tqdm

from empirical.paths._metrics import embed

__all__ = [
    "GroupMeans",
    "activations",
    "batches",
    "embed_images",
    "embed_images_multi",
    "pool",
    "stream_group_means",
]


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


@torch.no_grad()
def embed_images_multi(
    model: nn.Module, images: Tensor, layers: Sequence[str], metrics: Sequence[str], pooling: str = "mean"
) -> dict[str, dict[str, Tensor]]:
    """``{metric: {layer: (N, D_layer)}}`` from one forward pass (the embeddings of every metric)."""
    device = next(model.parameters()).device
    acts = activations(model, _to_float(images).to(device), layers)
    pooled = {name: pool(a, pooling) for name, a in acts.items()}
    return {m: {name: embed(p, m) for name, p in pooled.items()} for m in metrics}


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
    """Running sums of embeddings per group, bucket and layer.

    Each group's images are spread over ``n_buckets`` buckets (the caller assigns them); the sums per bucket are what
    the image-level bootstrap resamples (:mod:`empirical.paths._bootstrap`). Memory: ``n_groups * n_buckets * D``
    floats per layer. :meth:`means` gives the group means :math:`S_g / n_g` (all buckets pooled)."""

    def __init__(self, n_groups: int, n_buckets: int = 1) -> None:
        if n_groups < 1 or n_buckets < 1:
            raise ValueError(f"need n_groups >= 1 and n_buckets >= 1, got {n_groups} and {n_buckets}")
        self.n_groups = n_groups
        self.n_buckets = n_buckets
        self._sums: dict[str, Tensor] = {}
        self._counts = torch.zeros(n_groups * n_buckets, dtype=torch.float64)

    def add(self, embeddings: dict[str, Tensor], groups: Tensor, buckets: Tensor | None = None) -> None:
        """Add a batch: ``embeddings[layer]`` ``(N, D)``, ``groups`` ``(N,)`` in ``[0, n_groups)`` (``-1``: skip),
        ``buckets`` ``(N,)`` in ``[0, n_buckets)`` (default all 0)."""
        keep = groups >= 0
        if not bool(keep.any()):
            return
        g = groups[keep].cpu()
        bk = torch.zeros_like(g) if buckets is None else buckets[keep].cpu()
        if bool((bk < 0).any()) or bool((bk >= self.n_buckets).any()):
            raise ValueError(f"bucket ids must be in [0, {self.n_buckets})")
        slot = g * self.n_buckets + bk
        for name, e in embeddings.items():
            e = e[keep.to(e.device)].to(torch.float64).cpu()
            if name not in self._sums:
                self._sums[name] = torch.zeros(self.n_groups * self.n_buckets, e.shape[1], dtype=torch.float64)
            self._sums[name].index_add_(0, slot, e)
        self._counts.index_add_(0, slot, torch.ones(len(slot), dtype=torch.float64))

    @property
    def sums(self) -> dict[str, Tensor]:
        """Sums per group (buckets pooled), ``(G, D)``."""
        return {n: s.view(self.n_groups, self.n_buckets, -1).sum(1) for n, s in self._sums.items()}

    @property
    def counts(self) -> Tensor:
        """Images per group, ``(G,)``."""
        return self.bucket_counts().sum(1)

    def bucket_sums(self) -> dict[str, Tensor]:
        """Sums per group and bucket, ``(G, M, D)``."""
        return {n: s.view(self.n_groups, self.n_buckets, -1) for n, s in self._sums.items()}

    def bucket_counts(self) -> Tensor:
        """Images per group and bucket, ``(G, M)``."""
        return self._counts.view(self.n_groups, self.n_buckets)

    def means(self) -> dict[str, Tensor]:
        """Mean embedding per group, ``(G, D)``; NaN rows for empty groups."""
        n = self.counts[:, None]
        return {name: s / n for name, s in self.sums.items()}


def stream_group_means(
    model: nn.Module,
    stream: Iterable[tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]],
    layers: Sequence[str],
    n_groups: int,
    metric: str = "spearman",
    pooling: str = "mean",
    progress: bool = True,
    total: int | None = None,
    n_buckets: int = 1,
) -> GroupMeans:
    """Consume ``(images, groups)`` or ``(images, groups, buckets)`` batches (groups ``-1`` are skipped, and
    batches without any group are not run through the model) and return the running sums. Only the current batch's
    activations are alive at any time."""
    acc = GroupMeans(n_groups, n_buckets)
    for item in tqdm(stream, desc="activations", total=total, disable=not progress, leave=False):
        images, groups = item[0], item[1]
        buckets = item[2] if len(item) > 2 else None
        keep = groups >= 0
        if not bool(keep.any()):
            continue
        emb = embed_images(model, images[keep], layers, metric, pooling)
        acc.add(emb, groups[keep], None if buckets is None else buckets[keep])
    return acc
