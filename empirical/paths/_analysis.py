r"""Path similarity: are feature visualizations processed like natural images of their class?

Natural images of each class :math:`k` are split (in stream order, round robin) into three disjoint roles:
reference :math:`R_k`, held-out :math:`H_k` and control :math:`Q_k`. With :math:`\bar\varphi_X` the mean embedding
of set :math:`X` at a layer (so that :math:`\langle \bar\varphi_X, \bar\varphi_Y\rangle` is the mean similarity over
pairs, see :mod:`empirical.paths._metrics`) and :math:`\bar\varphi_{V_k}` that of the visualizations of class k:

.. math::
    a_k = \langle \bar\varphi_{V_k}, \bar\varphi_{R_k}\rangle, \quad
    b_k = \langle \bar\varphi_{H_k}, \bar\varphi_{R_k}\rangle, \quad
    c_k = \frac{1}{K-1}\sum_{j \ne k} \langle \bar\varphi_{R_k}, \bar\varphi_{H_j}\rangle,

and the normalised score of a layer is :math:`s = (\bar a - \bar c) / (\bar b - \bar c)` (means over classes):
0 = as similar to class k as images of other classes are, 1 = as similar as other images of class k are.
Controls replace :math:`V_k` by :math:`Q_k` (same class, expected 1) or by the control images of the other classes,
:math:`\frac{1}{K-1}\sum_{j \ne k}\langle \bar\varphi_{Q_j}, \bar\varphi_{R_k}\rangle` (expected 0).
Confidence intervals: percentile bootstrap over classes and over images within classes (buckets of images, and the
visualization seeds, resampled with replacement; see :mod:`empirical.paths._bootstrap`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from empirical.paths._bootstrap import gram_blocks, percentile_interval, ratio_replicates_many
from empirical.paths._defaults import PATH_DEFAULTS, PathSettings
from empirical.paths._metrics import METRICS
from empirical.paths._stream import batches, embed_images, stream_group_means

__all__ = [
    "ROLES",
    "LayerScore",
    "NaturalStats",
    "PathResult",
    "assign_roles",
    "depth_summary",
    "natural_means",
    "natural_stats",
    "path_similarity",
    "path_terms",
    "role_groups",
    "score_layers",
]

#: Roles of the natural images of a class, in round-robin order.
ROLES = ("reference", "heldout", "control")


@dataclass(frozen=True)
class LayerScore:
    """A normalised score with its percentile-bootstrap interval and the per-class scores."""

    score: float
    ci_low: float
    ci_high: float
    per_class: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "ci": [self.ci_low, self.ci_high], "per_class": self.per_class}


@dataclass
class PathResult:
    """Per-layer scores of the visualizations and of the two controls, and the raw terms ``a, b, c``."""

    layers: list[str]
    classes: list[int]
    class_names: list[str]
    score: dict[str, LayerScore]
    control_same_class: dict[str, LayerScore]
    control_other_class: dict[str, LayerScore]
    terms: dict[str, dict[str, list[float]]]
    counts: dict[str, list[int]]
    settings: dict[str, Any] = field(default_factory=dict)
    #: Bootstrap replicates per block (``"score"``, ``"control_same_class"``, ``"control_other_class"``) and layer;
    #: drawn with the same seed at every layer, so means over layers have replicates too. Not in :meth:`to_json`.
    replicates: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ``layers``, ``score``/controls per layer (score, ci, per_class), terms, settings."""

        def block(d: dict[str, LayerScore]) -> dict[str, Any]:
            return {name: d[name].as_dict() for name in self.layers}

        return {
            "layers": self.layers,
            "classes": self.classes,
            "class_names": self.class_names,
            "score": block(self.score),
            "control_same_class": block(self.control_same_class),
            "control_other_class": block(self.control_other_class),
            "terms": self.terms,
            "counts": self.counts,
            "settings": self.settings,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per layer (for CSV)."""
        out = []
        for depth, name in enumerate(self.layers):
            row: dict[str, Any] = {"depth": depth, "layer": name}
            for key, d in (
                ("score", self.score),
                ("same_class", self.control_same_class),
                ("other_class", self.control_other_class),
            ):
                row[key] = d[name].score
                row[f"{key}_ci_low"] = d[name].ci_low
                row[f"{key}_ci_high"] = d[name].ci_high
            for t in ("a", "b", "c"):
                row[f"mean_{t}"] = float(np.mean(self.terms[name][t]))
            out.append(row)
        return out


def role_groups(
    labels: Tensor, classes: Sequence[int], per_class: int, seen: dict[int, int] | None = None, n_buckets: int = 1
) -> tuple[Tensor, Tensor]:
    """Group and bucket ids per image. The ``i``-th image of ``classes[k]`` seen so far gets group ``role * K + k``
    with role ``i mod 3`` while ``i < 3 * per_class`` (``-1`` for other classes and surplus images) and bucket
    ``(i // 3) mod min(n_buckets, per_class)``. ``seen`` carries the per-class counters across batches."""
    seen = {} if seen is None else seen
    index = {int(c): k for k, c in enumerate(classes)}
    k_classes = len(classes)
    m = max(1, min(n_buckets, per_class))
    groups = torch.full((len(labels),), -1, dtype=torch.long)
    buckets = torch.zeros(len(labels), dtype=torch.long)
    for i, lab in enumerate(labels.tolist()):
        k = index.get(int(lab))
        if k is None:
            continue
        n = seen.get(k, 0)
        if n < 3 * per_class:
            groups[i] = (n % 3) * k_classes + k
            buckets[i] = (n // 3) % m
        seen[k] = n + 1
    return groups, buckets


def assign_roles(
    labels: Tensor, classes: Sequence[int], per_class: int, n_buckets: int, seed: int
) -> tuple[Tensor, Tensor]:
    """Group and bucket id of every item of a labelled collection, fixed before any image is read: the items are
    shuffled with ``seed`` and dealt by :func:`role_groups` in that order. Because the ids depend only on the labels
    and the seed, any process can stream any share of the items (in any order) and the sums are the same; with a
    tensor of images this is the assignment :func:`natural_stats` makes."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=g)
    groups_o, buckets_o = role_groups(labels[order], classes, per_class, None, n_buckets)
    groups = torch.full((len(labels),), -1, dtype=torch.long)
    buckets = torch.zeros(len(labels), dtype=torch.long)
    groups[order], buckets[order] = groups_o, buckets_o
    return groups, buckets


def path_terms(vis: Tensor, ref: Tensor, held: Tensor, ctrl: Tensor) -> dict[str, np.ndarray]:
    """Per-class terms from mean embeddings ``(K, D)``: ``a``, ``b``, ``c`` and the controls' ``a``."""
    k = ref.shape[0]
    if k < 2:
        raise ValueError("path similarity needs at least 2 classes (the baseline compares classes)")
    cross = ref @ held.T  # (K, K): <R_k, H_j>
    off = ~torch.eye(k, dtype=torch.bool)
    c = (cross * off).sum(1) / (k - 1)
    a = (vis * ref).sum(1)
    b = cross.diagonal()
    same = (ctrl * ref).sum(1)
    other = ((ref @ ctrl.T) * off).sum(1) / (k - 1)  # Q_j of every other class j against R_k
    return {n: v.numpy() for n, v in {"a": a, "b": b, "c": c, "same": same, "other": other}.items()}


def _check(settings: PathSettings) -> None:
    if settings.metric not in METRICS:
        raise ValueError(f"unknown metric {settings.metric!r}; choose one of {', '.join(METRICS)}")
    if settings.pooling not in ("mean", "flatten"):
        raise ValueError(f"unknown pooling {settings.pooling!r}; choose 'mean' or 'flatten'")
    if settings.images_per_class < 1:
        raise ValueError(f"images_per_class must be >= 1, got {settings.images_per_class}")
    if settings.image_buckets < 1:
        raise ValueError(f"image_buckets must be >= 1, got {settings.image_buckets}")
    if not 0 < settings.confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {settings.confidence}")


@dataclass(frozen=True)
class NaturalStats:
    """Streamed statistics of the natural images: per layer, bucket sums of embeddings ``(3, K, M, D)`` (roles x
    classes x buckets) and counts ``(3, K, M)``."""

    sums: dict[str, Tensor]
    counts: Tensor

    def means(self) -> dict[str, Tensor]:
        """Mean embedding per role and class, ``(3, K, D)``."""
        n = self.counts.sum(-1)[..., None]
        return {name: s.sum(2) / n for name, s in self.sums.items()}


def natural_stats(
    model: nn.Module,
    natural: Tensor | Iterable[tuple[Tensor, Tensor]],
    labels: Tensor | None,
    classes: Sequence[int],
    layers: Sequence[str],
    settings: PathSettings = PATH_DEFAULTS,
    progress: bool = True,
) -> NaturalStats:
    """Stream the natural images once and keep bucketed running sums (see :class:`NaturalStats`).

    ``natural``: a tensor with ``labels`` (shuffled with ``settings.seed``, streamed in batches) or an iterable of
    ``(images, labels)`` batches. Raises ``ValueError`` if a (role, class) is empty."""
    _check(settings)
    k = len(classes)
    if isinstance(natural, Tensor):
        if labels is None or len(labels) != len(natural):
            raise ValueError("natural images given as a tensor need labels of the same length")
        g = torch.Generator().manual_seed(settings.seed)
        order = torch.randperm(len(natural), generator=g)
        stream: Iterable[tuple[Tensor, Tensor]] = batches(natural, labels, settings.batch_size, order)
        total: int | None = math.ceil(len(natural) / settings.batch_size)
    else:
        stream, total = natural, None
    seen: dict[int, int] = {}
    m = settings.image_buckets
    grouped = ((x, *role_groups(y, classes, settings.images_per_class, seen, m)) for x, y in stream)
    acc = stream_group_means(model, grouped, layers, 3 * k, settings.metric, settings.pooling, progress, total, m)
    counts = acc.bucket_counts().view(3, k, m)
    per_group = counts.sum(-1)
    empty = [(ROLES[r], classes[j]) for r in range(3) for j in range(k) if per_group[r, j] == 0]
    if empty:
        raise ValueError(f"no natural images for (role, class) {empty[:5]}; need >= 3 images of every class")
    return NaturalStats({name: s.view(3, k, m, -1) for name, s in acc.bucket_sums().items()}, counts)


def natural_means(
    model: nn.Module,
    natural: Tensor | Iterable[tuple[Tensor, Tensor]],
    labels: Tensor | None,
    classes: Sequence[int],
    layers: Sequence[str],
    settings: PathSettings = PATH_DEFAULTS,
    progress: bool = True,
) -> tuple[dict[str, Tensor], Tensor]:
    """Streamed mean embeddings per layer ``(3, K, D)`` (roles x classes) and counts ``(3, K)``."""
    stats = natural_stats(model, natural, labels, classes, layers, settings, progress)
    return stats.means(), stats.counts.sum(-1).long()


def path_similarity(
    model: nn.Module,
    visualizations: Tensor,
    natural: Tensor | Iterable[tuple[Tensor, Tensor]],
    labels: Tensor | None = None,
    classes: Sequence[int] | None = None,
    layers: Sequence[str] | None = None,
    settings: PathSettings = PATH_DEFAULTS,
    class_names: Sequence[str] | None = None,
    progress: bool = True,
) -> PathResult:
    """Normalised path similarity per layer of ``visualizations`` of ``classes`` to natural images of the class.

    Args:
        model: a :class:`~empirical.models.ZooModel` (``activations(images, layers)``), images in ``[0, 1]``.
        visualizations: ``(K, C, H, W)`` or ``(K, n, C, H, W)``: ``n`` visualizations of each of the K classes.
        natural: a tensor of images (float in [0, 1] or uint8) with ``labels``, shuffled with ``settings.seed``
            and streamed in batches; or an iterable of ``(images, labels)`` batches consumed once in its order.
        classes: class indices (labels) of the visualizations, default ``0..K-1``.
        layers: layer names, default :func:`~empirical.paths.default_layers`.
        settings: metric, pooling, image counts, bootstrap; see :class:`PathSettings`.
    """
    from empirical.paths._defaults import default_layers

    _check(settings)
    if visualizations.ndim == 4:
        visualizations = visualizations[:, None]
    if visualizations.ndim != 5:
        raise ValueError(f"visualizations must be (K, C, H, W) or (K, n, C, H, W), got {tuple(visualizations.shape)}")
    k = visualizations.shape[0]
    classes = list(range(k)) if classes is None else [int(c) for c in classes]
    if len(classes) != k:
        raise ValueError(f"{k} classes of visualizations but {len(classes)} class labels")
    layers = default_layers(model) if layers is None else list(layers)
    if not layers:
        raise ValueError("no layers to analyse")
    model.eval()

    stats = natural_stats(model, natural, labels, classes, layers, settings, progress)

    vis_emb = embed_images(model, visualizations.flatten(0, 1), layers, settings.metric, settings.pooling)
    n_vis = visualizations.shape[1]
    emb = {name: vis_emb[name].cpu().view(k, n_vis, -1) for name in layers}
    return score_layers(emb, stats, classes, layers, settings, class_names)


def score_layers(
    vis_emb: dict[str, Tensor],
    stats: NaturalStats,
    classes: Sequence[int],
    layers: Sequence[str],
    settings: PathSettings = PATH_DEFAULTS,
    class_names: Sequence[str] | None = None,
) -> PathResult:
    """Scores, controls and bootstrap intervals per layer from the visualizations' embeddings ``(K, n, D)`` per
    layer and the natural images' :class:`NaturalStats` (both of ``settings.metric``)."""
    score, same, other, terms = {}, {}, {}, {}
    reps: dict[str, dict[str, np.ndarray]] = {"score": {}, "control_same_class": {}, "control_other_class": {}}
    means = stats.means()
    for name in layers:
        m = means[name]
        v = vis_emb[name].cpu()
        t = path_terms(v.mean(1), m[0], m[1], m[2])
        blocks = gram_blocks(v, stats.sums[name], stats.counts)
        many = ratio_replicates_many(blocks, ("a", "same", "other"), settings.n_bootstrap, settings.seed)
        for key, term, out in (("score", "a", score), ("control_same_class", "same", same),
                               ("control_other_class", "other", other)):  # fmt: skip
            point, per_class, values = many[term]
            out[name] = LayerScore(point, *percentile_interval(values, settings.confidence), per_class)
            reps[key][name] = values
        terms[name] = {key: [float(x) for x in val] for key, val in t.items()}
    names = list(class_names) if class_names is not None else [str(c) for c in classes]
    n_vis = int(next(iter(vis_emb.values())).shape[1])
    return PathResult(
        layers=list(layers),
        classes=[int(c) for c in classes],
        class_names=names,
        score=score,
        control_same_class=same,
        control_other_class=other,
        terms=terms,
        counts={role: stats.counts[r].sum(-1).long().tolist() for r, role in enumerate(ROLES)},
        settings={**settings.as_dict(), "visualizations_per_class": n_vis},
        replicates=reps,
    )


def depth_summary(result: PathResult, early_fraction: float = 2 / 3, confidence: float | None = None) -> dict[str, Any]:
    r"""The paper's finding as numbers: mean normalised score of the visualizations over the first
    ``early_fraction`` of the layers (``E = floor(early_fraction * L)`` layers, in the order given) and over the
    rest, their difference, and percentile intervals from the shared bootstrap replicates.

    Inception-V1 in the paper: about 0 through the first two thirds, rising near the output; so the finding is
    reproduced when the early interval contains 0 (or lies close to it) and the late-minus-early interval is above 0.
    Per layer: whether its interval lies above 0, below 0 or contains it."""
    conf = float(result.settings.get("confidence", 0.95)) if confidence is None else confidence
    layers = result.layers
    n_early = max(1, min(len(layers) - 1, math.floor(early_fraction * len(layers) + 1e-9)))
    early, late = layers[:n_early], layers[n_early:]

    def block(names: Sequence[str], key: str = "score") -> tuple[float, np.ndarray]:
        point = float(np.mean([getattr(result, key)[n].score for n in names]))
        reps = [result.replicates.get(key, {}).get(n) for n in names]
        values = np.mean(np.stack(reps), 0) if reps and all(r is not None for r in reps) else np.empty(0)
        return point, values

    out: dict[str, Any] = {"early_fraction": early_fraction, "confidence": conf}
    e_point, e_vals = block(early)
    l_point, l_vals = block(late)
    diff_vals = l_vals - e_vals if len(e_vals) == len(l_vals) else np.empty(0)
    for name, names, point, vals in (
        ("early", early, e_point, e_vals),
        ("late", late, l_point, l_vals),
        ("late_minus_early", layers, l_point - e_point, diff_vals),
    ):
        lo, hi = percentile_interval(vals, conf)
        out[name] = {"layers": list(names), "mean": point, "ci": [lo, hi]}
    for name in ("control_same_class", "control_other_class"):
        p_all, v_all = block(layers, name)
        out[f"{name}_mean"] = {"mean": p_all, "ci": list(percentile_interval(v_all, conf))}
    e_lo, e_hi = out["early"]["ci"]
    d_lo = out["late_minus_early"]["ci"][0]
    out["early_ci_contains_0"] = bool(e_lo <= 0 <= e_hi)
    out["late_above_early"] = bool(d_lo > 0)
    out["per_layer"] = {
        n: ("above 0" if result.score[n].ci_low > 0 else "below 0" if result.score[n].ci_high < 0 else "contains 0")
        for n in layers
    }
    return out
