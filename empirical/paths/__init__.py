"""Path similarity: are feature visualizations processed like natural images of their class? (BRIEF section 3)

>>> res = path_similarity(model, fvs, images, labels)             # doctest: +SKIP
>>> res.score["conv2"].score, res.control_same_class["conv2"].ci_low  # doctest: +SKIP
"""

from empirical.paths._analysis import (
    ROLES,
    LayerScore,
    NaturalStats,
    PathResult,
    natural_means,
    natural_stats,
    path_similarity,
    path_terms,
    role_groups,
)
from empirical.paths._bootstrap import GramBlocks, bootstrap_terms, gram_blocks, ratio_with_ci
from empirical.paths._defaults import (
    DEFAULT_LAYERS,
    FV_DEFAULTS,
    IMAGES_PER_CLASS,
    PATH_DEFAULTS,
    FVSettings,
    PathSettings,
    default_layers,
    fv_settings,
)
from empirical.paths._fv import class_visualizations, small_transforms
from empirical.paths._metrics import METRICS, cosine, embed, pearson, rank_average, spearman
from empirical.paths._sanity import SanityScore, sanity_score, unit_labels
from empirical.paths._stream import GroupMeans, batches, embed_images, pool, stream_group_means

__all__ = [
    "DEFAULT_LAYERS",
    "FV_DEFAULTS",
    "IMAGES_PER_CLASS",
    "METRICS",
    "PATH_DEFAULTS",
    "ROLES",
    "FVSettings",
    "GroupMeans",
    "GramBlocks",
    "LayerScore",
    "NaturalStats",
    "PathResult",
    "PathSettings",
    "SanityScore",
    "batches",
    "bootstrap_terms",
    "class_visualizations",
    "cosine",
    "default_layers",
    "embed",
    "embed_images",
    "fv_settings",
    "gram_blocks",
    "natural_means",
    "natural_stats",
    "path_similarity",
    "path_terms",
    "pearson",
    "pool",
    "rank_average",
    "ratio_with_ci",
    "role_groups",
    "sanity_score",
    "small_transforms",
    "spearman",
    "stream_group_means",
    "unit_labels",
]
