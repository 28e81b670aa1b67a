r"""Bridge to real networks: one unit of a trained network as a function ``f : [0,1]^d -> R``.

The unit ``LAYER:INDEX`` of a zoo model is

.. math:: f(x) = \frac{1}{HW}\sum_{h,w} a_{\ell}(x)_{k,h,w} \quad (\text{conv layer}), \qquad
          f(x) = a_{\ell}(x)_k \quad (\text{linear layer, } \ell = \text{"logits"}),

on images ``x`` in ``[0,1]^d``, ``d = C H W`` (the visualization objective ``empirical.visualize.channel``).

1. **Observations**: the unit's feature visualization (maximise ``f``, marked ``"max"``), a visualization of the
   minimum (maximise ``-f``, marked ``"min"``) and optionally the top-K / bottom-K natural exemplars of an
   exemplar pool (``"value"``). A visualization is only approximately a global extremum, so (our convention) the
   ``"max"`` point carries ``f_max = max`` of all observed values and the ``"min"`` point ``f_min = min``; the
   true values at the visualizations are reported beside them.
2. **Lipschitz constant** in the 2-norm: a certified upper bound (:func:`lipschitz_upper_bound`, a product of
   operator-norm bounds along the module structure, checked against the real forward pass) and a sampled lower
   bound (:func:`lipschitz_lower_bound`: largest gradient norm and largest difference quotient).
3. **Certified ranges** per natural test image ``x`` (McShane--Whitney, as ``theory.value_range("lipschitz")``)

   .. math:: \mathrm{lo}(x) = \max\big(f_{\min}, \max_i v_i - L\|x - p_i\|_2\big), \qquad
             \mathrm{hi}(x) = \min\big(f_{\max}, \min_i v_i + L\|x - p_i\|_2\big),

   the share of images where "closer to max or min" is certified, widths against the actual spread, and
   containment of every actual activation (:func:`range_summary`).

Use :func:`bridge_unit` for one unit of a zoo model (``fvtrust bridge`` is this call); the pieces are public
for other models and for tests.
"""

from __future__ import annotations

from empirical.bridge._analyse import BridgeResult, analyse, render_extremes
from empirical.bridge._chain import GlobalAvgPool, Normalise, Step, chain_steps, forward_ops
from empirical.bridge._data import MODELS, BridgeData, load_bridge_data
from empirical.bridge._lower import LowerBound, lipschitz_lower_bound, unit_gradients, unit_values
from empirical.bridge._norms import (
    SAFETY,
    conv_fft_bound,
    conv_frobenius_bound,
    conv_offset_bound,
    linear_norm,
    maxpool_bound,
    schur_bound,
)
from empirical.bridge._ranges import (
    check_against_theory,
    decisions,
    lipschitz_ranges,
    make_observations,
    needed_L,
    range_summary,
    smallest_consistent_L,
    unconditional_ranges,
)
from empirical.bridge._report import markdown, plot, write_outputs
from empirical.bridge._run import (
    DEFAULTS,
    MAX_IMAGES,
    MAX_SEED,
    MAX_STEPS,
    STEPS,
    BridgeConfig,
    BridgeRun,
    bridge_config,
    bridge_unit,
    check_device,
    check_writable_dir,
    parse_unit,
)
from empirical.bridge._upper import LipschitzBound, layer_activation, lipschitz_upper_bound

__all__ = [
    "BridgeConfig",
    "BridgeData",
    "BridgeResult",
    "BridgeRun",
    "DEFAULTS",
    "GlobalAvgPool",
    "LipschitzBound",
    "LowerBound",
    "MAX_IMAGES",
    "MAX_SEED",
    "MAX_STEPS",
    "MODELS",
    "Normalise",
    "SAFETY",
    "STEPS",
    "Step",
    "analyse",
    "bridge_config",
    "bridge_unit",
    "chain_steps",
    "check_against_theory",
    "check_device",
    "check_writable_dir",
    "conv_fft_bound",
    "conv_frobenius_bound",
    "conv_offset_bound",
    "decisions",
    "forward_ops",
    "layer_activation",
    "linear_norm",
    "lipschitz_lower_bound",
    "lipschitz_ranges",
    "lipschitz_upper_bound",
    "load_bridge_data",
    "make_observations",
    "markdown",
    "maxpool_bound",
    "needed_L",
    "parse_unit",
    "plot",
    "range_summary",
    "render_extremes",
    "schur_bound",
    "smallest_consistent_L",
    "unconditional_ranges",
    "unit_gradients",
    "unit_values",
    "write_outputs",
]
