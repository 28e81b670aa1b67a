"""Fooling feature visualizations (Geirhos et al. 2024): the fooling circuit with its natural-vs-visualization
classifier, silent units, and their measurements on real networks (see docs/fooling.md)."""

from empirical.fooling._circuit import FoolingCircuit, cyclic_targets
from empirical.fooling._config import FoolingConfig, check_config, run_fooling
from empirical.fooling._dataset import natural_split, visualization_set
from empirical.fooling._detector import Detector
from empirical.fooling._figure import fooling_figure
from empirical.fooling._gate import SilentGate, calibrate_gate
from empirical.fooling._image_trigger import ImageTrigger
from empirical.fooling._natural import PhotoSplits, load_all, photo_splits
from empirical.fooling._preconditions import Condition, PreconditionReport, check_preconditions
from empirical.fooling._presets import RECIPES, REPORT_SEEDS, Preset, preset
from empirical.fooling._run import check_sweep_folders, check_weights, pearson, run_circuit, run_silent, similarity
from empirical.fooling._silent import (
    FiringTrace,
    SilentConv,
    add_silent_units,
    bias_from_response,
    calibrate_bias,
    channel_means,
    gate_statistics,
    natural_response,
    silent_filters,
    trace_firing,
)
from empirical.fooling._train import (
    DetectorConfig,
    DetectorReport,
    evaluate_detector,
    threshold_detector,
    train_detector,
)
from empirical.fooling._trigger import SilentTrigger, trigger_scale

__all__ = [
    "Condition",
    "Detector",
    "DetectorConfig",
    "DetectorReport",
    "FiringTrace",
    "FoolingCircuit",
    "FoolingConfig",
    "ImageTrigger",
    "PreconditionReport",
    "PhotoSplits",
    "Preset",
    "RECIPES",
    "REPORT_SEEDS",
    "SilentConv",
    "SilentGate",
    "SilentTrigger",
    "add_silent_units",
    "bias_from_response",
    "calibrate_bias",
    "calibrate_gate",
    "channel_means",
    "check_config",
    "check_preconditions",
    "check_sweep_folders",
    "check_weights",
    "cyclic_targets",
    "evaluate_detector",
    "fooling_figure",
    "load_all",
    "gate_statistics",
    "natural_response",
    "natural_split",
    "pearson",
    "photo_splits",
    "preset",
    "run_circuit",
    "run_fooling",
    "run_silent",
    "silent_filters",
    "similarity",
    "threshold_detector",
    "trace_firing",
    "trigger_scale",
    "train_detector",
    "visualization_set",
]
