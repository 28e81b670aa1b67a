"""Per-model settings of the fooling experiments (full and ``quick``), frozen in one place.

Each preset records the date it was frozen, the data and the visualization seeds its settings were chosen on
(``frozen_on``, ``tuned_on``, ``tuning_seeds``). Reported results use other seeds (:data:`REPORT_SEEDS`, the ones
not in any preset's ``tuning_seeds``) and, with ``--imagenet-dir``, photos never used for tuning (the held-out split
of :func:`~empirical.fooling.photo_splits`). Thresholds computed at run time (E's threshold, the silent units'
biases, the image trigger's threshold) are set from the calibration split alone. ``recipe="paper"`` is the paper's
silent-unit recipe as a baseline: one silent unit per position, no gate or trigger, alpha 2. The ``inceptionv1``
preset is untuned (its weights are not available offline): see :func:`_inceptionv1`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from empirical.fooling._train import DetectorConfig, check_detector_rule

__all__ = ["RECIPES", "REPORT_SEEDS", "Preset", "preset"]

#: Visualization seeds never used to choose a setting of the MobileNetV2 presets (0-6 were: section "Limits").
REPORT_SEEDS = (7, 8, 9)
#: How the quantile rule's share q = ``Preset.detector_fpr`` was chosen (the same for every preset).
DETECTOR_FPR_FIXED = (
    "2026-12-06, from the budget before any run with this rule (not tuned on any data or result): the fooling "
    "circuit must keep top-1 accuracy within 0.5 percentage points on all photos, and E firing on a natural photo "
    "is what can change it; q = 0.25% is half that budget (the other half for E's held-out false-positive rate "
    "exceeding its calibration share). The rule itself was added after the max_margin rule failed on the reported "
    "ImageNet circuit run"
)
#: The silent-unit recipes: the project's preset and the paper's recipe (baseline).
RECIPES = ("project", "paper")


@dataclass(frozen=True)
class Preset:
    """What one run of ``fvtrust fool`` uses for a model.

    Attributes:
        detector: data set and training sizes of :math:`E`.
        steps: render steps of the visualizations shown and compared (E is trained on the same schedule).
        render: extra ``visualize_units`` keywords (transforms, crop).
        block: permutation cycle length; the fooled units shown are the first cycle.
        n_natural_eval: held-out natural images for behaviour (Fashion-MNIST: the test split; ImageNet: crops
            besides the bundled photos).
        silent_layer, silent_calibration: the layer of the silent units and the natural images calibrating them.
        silent_margin: the safety margin mu of the silent units' bias (see ``calibrate_bias``).
        silent_pooled: silent units on the channel's mean over positions (see ``SilentConv``).
        silent_gate, silent_gate_ramp: silent units behind an off-manifold gate with this ramp (see ``SilentGate``).
        silent_alpha: the silent filters' orthogonal share alpha (see ``silent_filters``; large only where gated
            or triggered).
        silent_trigger_alpha, silent_trigger_slope, silent_trigger_slack: silent units latched by a trigger with
            this orthogonal share, slope and slack (see ``empirical.fooling._trigger``), or no trigger (None).
        silent_detector, silent_detector_margin, silent_detector_ramp: the trigger is also opened by E on the
            network's input, above E's largest natural logit + this margin times the logits' spread, with this
            ramp (logit units; see ``empirical.fooling._image_trigger``), or not (False).
        silent_steps: render steps of the silent-unit runs, if not ``steps`` (E is trained on ``steps``).
        similarity_layer: the layer whose channel means compare two visualizations.
        detector_margin: with photo folders and ``detector_rule="max_margin"``, E's threshold is its largest logit
            on its natural training images + this margin times the logits' spread (``threshold_detector``).
        detector_rule: with photo folders, how E's threshold is set from its natural training images alone:
            ``"max_margin"`` (above the largest logit with ``detector_margin``; the default, the rule of every
            result committed before 2026-12-06) or ``"quantile"`` (the (1 - ``detector_fpr``) quantile of the
            logits: at most that share of them is called a visualization).
        detector_fpr, detector_fpr_fixed: the quantile rule's natural share q, in (0, 0.5), and when and how it
            was chosen (see :data:`DETECTOR_FPR_FIXED`).
        frozen_on, tuned_on, tuning_seeds: when the settings were frozen, on which data and visualization seeds
            they were chosen.
        recipe: ``"project"`` or ``"paper"`` (the paper's silent units: per position, no gate/trigger, alpha 2).
    """

    detector: DetectorConfig
    steps: int
    render: dict[str, Any] = field(default_factory=dict)
    block: int = 10
    n_natural_eval: int = 10000
    silent_layer: str = "fc1"
    silent_calibration: int = 60000
    silent_margin: float = 0.25
    silent_pooled: bool = False
    silent_gate: bool = False
    silent_gate_ramp: float = 0.01
    silent_alpha: float = 2.0
    silent_trigger_alpha: float | None = None
    silent_trigger_slope: float = 4.0
    silent_trigger_slack: float = 2.0
    silent_detector: bool = False
    silent_detector_margin: float = 0.25
    silent_detector_ramp: float = 1.0
    silent_steps: int | None = None
    similarity_layer: str = "relu2"
    detector_margin: float = 0.25
    detector_rule: str = "max_margin"
    detector_fpr: float = 0.0025
    detector_fpr_fixed: str = DETECTOR_FPR_FIXED
    frozen_on: str = ""
    tuned_on: str = ""
    tuning_seeds: tuple[int, ...] = ()
    recipe: str = "project"

    def __post_init__(self) -> None:
        check_detector_rule(self.detector_rule, self.detector_fpr)  # a bad rule or share: refused before any work


def _small_transforms() -> tuple[Any, ...]:
    """Lucent's transforms shrunk to 28 px images (pad 12 would be 43% of the image)."""
    from empirical.visualize import Jitter, Pad, RandomRotate, RandomScale

    return (Pad(2, 0.5), Jitter(2), RandomScale((0.95, 1.0, 1.05)), RandomRotate(tuple(range(-5, 6))), Jitter(1))


def preset(model_name: str, quick: bool, recipe: str = "project") -> Preset:
    """Settings for ``model_name`` (``fashion_cnn`` or an ImageNet model); ``recipe="paper"``: the paper's
    silent-unit recipe on the same layer, units and render settings."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe {recipe!r} is not one of: {', '.join(RECIPES)}")
    p = _preset(model_name, quick)
    if recipe == "paper":
        p = replace(
            p, silent_pooled=False, silent_gate=False, silent_trigger_alpha=None, silent_detector=False,
            silent_alpha=2.0, recipe="paper",
            tuned_on="the paper (Geirhos et al. 2024): one silent unit per position, alpha 2, no gate or trigger",
            tuning_seeds=(),
        )  # fmt: skip
    return p


def _inceptionv1(quick: bool) -> Preset:
    """Lucid's InceptionV1 (``inceptionv1``, the paper's network). UNTUNED: its weights (Lucent's
    ``inception5h.pth``) are not available offline, so nothing here was chosen on its visualizations or photos;
    only the paper's facts are fixed. The paper's settings: 512 render steps with Lucid's redirected ReLU for the
    first 16 steps (the model's own default, stated here for the record), the fooling circuit on the logits (every
    output unit), silent units in a mixed block: ``mixed4a_3x3_pre_relu_conv`` produces channels 192-395 of
    ``mixed4a`` (before their ReLU); silent units need a convolution, and the concatenation ``mixed4a`` is none.
    The rest (E's sizes, alpha, trigger, detector) copies the MobileNetV2 preset as a starting point."""
    full = Preset(
        detector=DetectorConfig(
            size=64, width=16, units_per_layer=12, seeds=(100, 101), steps=512, render_crop=True,
            n_natural_train=4000, n_natural_test=1000, epochs=4,
        ),
        steps=512, render={"crop": True, "redirect_relu": 16, "redirect_rule": "lucid"}, block=8,
        n_natural_eval=1000, silent_layer="mixed4a_3x3_pre_relu_conv", silent_calibration=2000, silent_margin=1.0,
        silent_pooled=True, silent_alpha=32.0, silent_trigger_alpha=1.0, silent_detector=True,
        similarity_layer="mixed3b", frozen_on="",
        tuned_on="untuned: the real weights are not available offline; paper's steps and redirected ReLU, "
        "the rest copied from the MobileNetV2 preset",
        tuning_seeds=(),
    )  # fmt: skip
    return _imagenet_quick(full) if quick else full


def _imagenet_quick(full: Preset) -> Preset:
    """The quick version of an ImageNet preset: a smaller E (3 units per layer, one seed, 48 steps, fewer natural
    images, 6 epochs), 48 render steps, blocks of 4, fewer evaluation and calibration images; silent units render
    256 steps (on MobileNetV2 they fire from steps 14-31, so 48 steps would leave every unit short)."""
    det = replace(
        full.detector, units_per_layer=3, seeds=(100,), steps=48, snapshot_steps=(1, 2, 4, 8, 16, 32),
        n_natural_train=1500, n_natural_test=300, epochs=6,
    )  # fmt: skip
    return replace(
        full, detector=det, steps=48, block=4, n_natural_eval=200, silent_calibration=400, silent_steps=256
    )  # fmt: skip


def _preset(model_name: str, quick: bool) -> Preset:
    if model_name == "inceptionv1":
        return _inceptionv1(quick)
    if model_name == "fashion_cnn":
        full = Preset(
            detector=DetectorConfig(
                size=28, width=8, units_per_layer=16, seeds=(100, 101), steps=512, small_transforms=True,
                n_natural_train=60000, n_natural_test=10000, epochs=3,
            ),
            steps=512, render={"transforms": _small_transforms()}, silent_layer="conv3", silent_pooled=True,
            silent_gate=True, silent_alpha=16.0, frozen_on="2026-11-23",
            tuned_on="Fashion-MNIST training images (calibration) and test images; units 0-9",
            tuning_seeds=(0, 1),
        )  # fmt: skip
        if not quick:
            return full
        det = replace(full.detector, units_per_layer=6, seeds=(100,), steps=128, n_natural_train=15000, epochs=2)
        return replace(full, detector=det, steps=128, silent_calibration=20000)
    full = Preset(
        detector=DetectorConfig(
            size=64, width=16, units_per_layer=12, seeds=(100, 101), steps=256, render_crop=True,
            n_natural_train=4000, n_natural_test=1000, epochs=4,
        ),
        steps=256, render={"crop": True}, block=8, n_natural_eval=1000, silent_layer="features.17.conv.2",
        silent_calibration=2000, silent_margin=1.0, silent_pooled=True, silent_alpha=32.0, silent_trigger_alpha=1.0,
        silent_detector=True, similarity_layer="features.7", frozen_on="2026-12-05",
        tuned_on="layer, margins, alpha 32, trigger share 1: the 8 bundled photos and crops of them, units 0-7 "
        "and permutation targets; thresholds at run time: the calibration split of --imagenet-dir",
        tuning_seeds=(0, 1, 2, 3, 4, 5, 6),
    )  # fmt: skip
    # alpha 32 with the image trigger: 55 of 56 units fooled on seeds 0-6 with the seeded E (git history of
    # docs/fooling.md)
    return _imagenet_quick(full) if quick else full
