r"""Class (logit) visualizations rendered in resumable chunks, split across ``torchrun`` ranks.

The work is the set of (seed, chunk of classes) pairs. Every image is seeded by its own (seed, class)
(:func:`empirical.visualize.image_seed`), so a chunk gives the same images whichever other classes share its batch:
chunks can be rendered by different processes and in any order. Each chunk is written atomically (a fresh
``mkstemp`` name, then ``os.replace``: :func:`write_atomic`) to
``cache/<model>_t<steps>_s<seed>_<first>-<last>.pt`` (a dict of tensors and plain values, loadable with
``torch.load(..., weights_only=True)``); a rerun loads the chunks whose file holds the same settings and renders
only the missing ones, so a killed run resumes. Under ``torchrun`` rank ``r`` renders chunks ``r, r + w, ...``,
then all ranks wait at a barrier and read every chunk from the (shared) cache folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from empirical import _distributed as dist
from empirical._cache import write_atomic

__all__ = ["chunk_file", "render_visualizations", "write_atomic"]


def chunk_file(cache: Path, model_name: str, steps: int, seed: int, classes: Sequence[int]) -> Path:
    """The cache file of one chunk (classes in the order rendered)."""
    return cache / f"{model_name}_t{steps}_s{seed}_{classes[0]}-{classes[-1]}_n{len(classes)}.pt"


def _load_chunk(path: Path, meta: dict[str, Any]) -> Tensor | None:
    """The chunk's images if ``path`` exists and was rendered with exactly ``meta``; otherwise None."""
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a truncated or foreign file is re-rendered, never trusted
        return None
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in meta.items()):
        return None
    images = data.get("images")
    # the images it holds are read back only if they could be renders: a floating (N, C, H, W) batch with 1 or 3
    # channels and sides up to 4096 (checked before any conversion, so an expanded view never allocates), finite
    # values in [0, 1]; anything else is re-rendered
    if not isinstance(images, Tensor) or images.ndim != 4 or not images.is_floating_point():
        return None
    n, c, h, w = images.shape
    if not (1 <= n <= 100_000 and c in (1, 3) and 1 <= h <= 4096 and 1 <= w <= 4096):
        return None
    if not bool(torch.isfinite(images).all()) or images.min() < 0 or images.max() > 1:
        return None
    return images


def _save_atomic(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: torch.save(data, tmp))


def render_visualizations(
    model: nn.Module,
    classes: Sequence[int],
    seeds: Sequence[int],
    steps: int,
    cache: Path,
    *,
    chunk: int = 10,
    transforms: tuple | None = None,
    crop: bool = True,
    progress: bool = False,
    log: Any = None,
) -> tuple[Tensor, dict[str, int]]:
    """``(K, S, C, H, W)`` logit visualizations of ``classes`` for every seed, and counts
    ``{"rendered": r, "loaded": l}`` of chunks this process rendered / found in ``cache``.

    ``transforms=None``: the paper's (Lucent's) transforms; ``crop``: the model input stays at its native size.
    ``log``: a callable taking one line of text (progress of a long run)."""
    from empirical.visualize import visualize_units

    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if not classes or not seeds:
        raise ValueError("need at least one class and one seed")
    cache.mkdir(parents=True, exist_ok=True)
    name = str(getattr(model, "name", type(model).__name__))
    groups = [list(classes[i : i + chunk]) for i in range(0, len(classes), chunk)]
    work = [(s, g) for s in seeds for g in groups]
    metas = [
        {"model": name, "steps": int(steps), "seed": int(s), "classes": [int(c) for c in g], "crop": bool(crop),
         "transforms": "paper" if transforms is None else repr(transforms)}
        for s, g in work
    ]  # fmt: skip
    counts = {"rendered": 0, "loaded": 0}
    for i in dist.shard(len(work)):
        seed, group = work[i]
        path = chunk_file(cache, name, steps, seed, group)
        if _load_chunk(path, metas[i]) is not None:
            counts["loaded"] += 1
            continue
        res = visualize_units(
            model, "logits", group, steps=steps, seed=seed, crop=crop, transforms=transforms, progress=progress
        )
        _save_atomic(path, {**metas[i], "images": res.images.detach().cpu().contiguous()})
        counts["rendered"] += 1
        if log is not None:
            log(f"rendered seed {seed} classes {group[0]}..{group[-1]} ({counts['rendered']} chunks this run)")
    dist.barrier()
    out: list[list[Tensor]] = [[] for _ in seeds]
    for i, (seed, group) in enumerate(work):
        path = chunk_file(cache, name, steps, seed, group)
        images = _load_chunk(path, metas[i])
        if images is None:
            raise RuntimeError(f"visualization chunk {path} is missing after rendering (did a rank fail?)")
        out[list(seeds).index(seed)].append(images)
    return torch.stack([torch.cat(per_seed) for per_seed in out], 1), counts
