"""Feature visualization engine (Lucent-style, plain torch): parameterisations, objectives, transforms, render.

>>> res = visualize_units(model, "features.17", [3, 42], steps=512, seed=0)   # doctest: +SKIP
>>> res.images.shape, res.objective_start, res.objective_final               # doctest: +SKIP
"""

from empirical.visualize._defaults import (
    MAX_SIZE,
    MAX_STEPS,
    PAPER_DEFAULTS,
    RenderDefaults,
    check_render_limits,
    render_bytes,
)
from empirical.visualize._folder import (
    MAX_NATURAL,
    MAX_SEED,
    VisualizeConfig,
    VisualizeReport,
    check_visualize_config,
    parse_unit,
    visualize_to_folder,
)
from empirical.visualize._fuse import fused_for_render
from empirical.visualize._layers import LOGITS, ActivationCapture, layer_names, resolve_layer
from empirical.visualize._objectives import (
    Objective,
    channel,
    class_logit,
    direction,
    neuron,
    per_image,
    weighted_sum,
)
from empirical.visualize._param import (
    COLOR_CORRELATION_SVD_SQRT,
    FFTImage,
    ImageParam,
    PixelImage,
    color_correlation_matrix,
    decorrelate_colors,
    rfft2d_freqs,
    spectrum_scale,
)
from empirical.visualize._redirect import REDIRECT_RULES, RedirectedReLUs, model_redirect_defaults, redirected_relu
from empirical.visualize._render import RenderResult, image_seed, make_image, render
from empirical.visualize._transforms import (
    AffineWarp,
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    Transform,
    standard_transforms,
    transforms_for_size,
)
from empirical.visualize._units import VisualizationResult, visualize_units

__all__ = [
    "COLOR_CORRELATION_SVD_SQRT",
    "LOGITS",
    "MAX_NATURAL",
    "MAX_SEED",
    "MAX_SIZE",
    "MAX_STEPS",
    "PAPER_DEFAULTS",
    "REDIRECT_RULES",
    "ActivationCapture",
    "AffineWarp",
    "FFTImage",
    "ImageParam",
    "Jitter",
    "Objective",
    "Pad",
    "PixelImage",
    "RedirectedReLUs",
    "RandomRotate",
    "RandomScale",
    "RenderDefaults",
    "RenderResult",
    "Transform",
    "VisualizationResult",
    "VisualizeConfig",
    "VisualizeReport",
    "channel",
    "check_render_limits",
    "check_visualize_config",
    "class_logit",
    "color_correlation_matrix",
    "decorrelate_colors",
    "direction",
    "fused_for_render",
    "image_seed",
    "layer_names",
    "make_image",
    "model_redirect_defaults",
    "neuron",
    "parse_unit",
    "per_image",
    "redirected_relu",
    "render",
    "render_bytes",
    "resolve_layer",
    "rfft2d_freqs",
    "spectrum_scale",
    "standard_transforms",
    "transforms_for_size",
    "visualize_to_folder",
    "visualize_units",
    "weighted_sum",
]
