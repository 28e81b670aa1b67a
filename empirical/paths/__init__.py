"""Path similarity: are feature visualizations processed like natural images of their class? (BRIEF section 3)

>>> res = path_similarity(model, fvs, images, labels)             # doctest: +SKIP
>>> res.score["conv2"].score, res.control_same_class["conv2"].ci_low  # doctest: +SKIP
"""

from empirical.paths._analysis import (
    ROLES,
    LayerScore,
    NaturalStats,
    PathResult,
    assign_roles,
    depth_summary,
    natural_means,
    natural_stats,
    path_similarity,
    path_terms,
    role_groups,
    score_layers,
)
from empirical.paths._bootstrap import (
    GramBlocks,
    bootstrap_terms,
    gram_blocks,
    percentile_interval,
    ratio_replicates,
    ratio_replicates_many,
    ratio_with_ci,
)
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
from empirical.paths._experiment import (
    LIMITS,
    PathsConfig,
    PathsReport,
    check_config,
    choose_classes,
    natural_stats_sharded,
    run_paths,
    write_outputs,
)
from empirical.paths._fv import class_visualizations, small_transforms
from empirical.paths._metrics import METRICS, cosine, embed, pearson, rank_average, spearman
from empirical.paths._plot import plot_metrics, save_grid
from empirical.paths._render import chunk_file, render_visualizations
from empirical.paths._report import BEGIN, END, load_result, results_markdown, update_doc
from empirical.paths._sanity import SanityScore, sanity_score, unit_labels
from empirical.paths._stream import (
    GroupMeans,
    batches,
    embed_images,
    embed_images_multi,
    pool,
    stream_group_means,
)

__all__ = [
    "BEGIN",
    "DEFAULT_LAYERS",
    "END",
    "FV_DEFAULTS",
    "IMAGES_PER_CLASS",
    "LIMITS",
    "METRICS",
    "PATH_DEFAULTS",
    "ROLES",
    "FVSettings",
    "GramBlocks",
    "GroupMeans",
    "LayerScore",
    "NaturalStats",
    "PathResult",
    "PathSettings",
    "PathsConfig",
    "PathsReport",
    "SanityScore",
    "assign_roles",
    "batches",
    "bootstrap_terms",
    "check_config",
    "choose_classes",
    "chunk_file",
    "class_visualizations",
    "cosine",
    "default_layers",
    "depth_summary",
    "embed",
    "embed_images",
    "embed_images_multi",
    "fv_settings",
    "gram_blocks",
    "load_result",
    "natural_means",
    "natural_stats",
    "natural_stats_sharded",
    "path_similarity",
    "path_terms",
    "pearson",
    "percentile_interval",
    "plot_metrics",
    "pool",
    "rank_average",
    "ratio_replicates",
    "ratio_replicates_many",
    "ratio_with_ci",
    "render_visualizations",
    "results_markdown",
    "role_groups",
    "run_paths",
    "sanity_score",
    "save_grid",
    "score_layers",
    "small_transforms",
    "spearman",
    "stream_group_means",
    "unit_labels",
    "update_doc",
    "write_outputs",
]
