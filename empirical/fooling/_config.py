"""One fooling run as data: :class:`FoolingConfig` (every setting of ``fvtrust fool``), :func:`check_config` (every
setting and file checked before any work) and :func:`run_fooling` (checks, then the circuit or the silent units).

``run_fooling(FoolingConfig(...))`` from Python writes the same files and returns the same report as the command
with the same settings; error messages name the command-line flag of the setting at fault."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from empirical._cache import check_output_dir
from empirical._device import resolve_device
from empirical.data import PHOTOS
from empirical.fooling._natural import photo_splits
from empirical.fooling._presets import RECIPES, preset
from empirical.fooling._run import check_sweep_folders, check_weights, run_circuit, run_silent

__all__ = ["LIMITS", "METHODS", "MODELS", "FoolingConfig", "check_config", "run_fooling"]

MODELS = ("fashion_cnn", "mobilenet_v2", "inceptionv1")
METHODS = ("circuit", "silent")
N_FASHION_TEST = 10000
#: Ranges of the numeric settings (inclusive).
LIMITS = {"units": (2, 64), "seed": (0, 2**31 - 1), "seeds": (1, 100), "c_k": (0.0, 1e6)}


@dataclass(frozen=True)
class FoolingConfig:
    """Every setting of one fooling run (``fvtrust fool`` flags of the same names; ``None``: the model's preset).

    Attributes:
        model, method, out: zoo model (:data:`MODELS`), ``circuit`` or ``silent``, output folder (created).
        target: ``permute`` (each unit shows its cyclic neighbour's visualization), ``photos`` (circuit: photos drawn
            from ``extra_dir``) or ``image:NAME[,NAME...]`` (bundled photos or Fashion-MNIST test images ``testN``).
        quick: the small preset. weights: weights file for models whose weights do not ship (or ``"random"``).
        layer, per_position, gate, gate_ramp, trigger, trigger_alpha, detector, alpha, recipe: silent units only.
        detector_rule, detector_fpr: circuit with photos only (how E's threshold is set).
        c, k: the circuit's constants (``F + c`` on natural input, ``k`` the visualization branch).
        seeds: visualization seeds; units, unit_seed: how many units are measured and the seed drawing them.
        imagenet_dir, extra_dir: photo folders (calibration split, evaluation; extra photos and template photos).
        e_visualizations_from: ``fvtrust sweep`` folders whose visualizations E learns from.
        device, progress: torch device, progress bars.
    """

    model: str
    method: str
    out: Path
    target: str = "permute"
    quick: bool = False
    weights: str | Path | None = None
    layer: str | None = None
    per_position: bool = False
    gate: bool | None = None
    gate_ramp: float | None = None
    trigger: bool | None = None
    trigger_alpha: float | None = None
    detector: bool | None = None
    alpha: float | None = None
    recipe: str = "project"
    detector_rule: str | None = None
    detector_fpr: float | None = None
    c: float = 100.0
    k: float = 250.0
    seeds: tuple[int, ...] = (0,)
    units: int | None = None
    unit_seed: int | None = None
    imagenet_dir: Path | None = None
    extra_dir: Path | None = None
    e_visualizations_from: tuple[Path, ...] | None = None
    device: str = "cpu"
    progress: bool = True


def _check_target(target: str) -> None:
    """``permute``, ``photos`` or ``image:NAME[,NAME...]`` with every NAME a bundled photo or ``testN``."""
    if target in ("permute", "photos"):
        return
    if not target.startswith("image:"):
        raise ValueError(f"--target {target!r}: use 'permute' or 'image:NAME[,NAME...]'")
    for name in target[len("image:") :].split(","):
        test_image = name.startswith("test") and name[4:].isdigit() and int(name[4:]) < N_FASHION_TEST
        if name not in PHOTOS and not test_image:
            raise ValueError(
                f"--target {target!r}: unknown target image {name!r}; use a bundled photo "
                f"({', '.join(PHOTOS)}) or testN with N < {N_FASHION_TEST} (a Fashion-MNIST test image)"
            )


def _check_numbers(c: FoolingConfig) -> None:
    for name in ("k", "c", "alpha", "trigger_alpha", "gate_ramp", "detector_fpr"):
        v = getattr(c, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"--{name.replace('_', '-')} must be a number, got {v!r}")
    if c.alpha is not None and not c.alpha >= 0:
        raise ValueError(f"--alpha must be >= 0, got {c.alpha}")
    if c.trigger_alpha is not None and not c.trigger_alpha >= 0:
        raise ValueError(f"--trigger-alpha must be >= 0, got {c.trigger_alpha}")
    if c.gate_ramp is not None and not c.gate_ramp > 0:
        raise ValueError(f"--gate-ramp must be positive, got {c.gate_ramp}")
    if c.k <= 0:
        raise ValueError(f"--k must be positive, got {c.k}")
    if c.c <= 0:
        raise ValueError(f"--c must be positive (natural input needs F + c > 0), got {c.c}")
    for name in ("k", "c", "alpha", "trigger_alpha", "gate_ramp"):
        v = getattr(c, name)
        if v is not None and not math.isfinite(v):
            raise ValueError(f"--{name.replace('_', '-')} must be a finite number, got {v}")
    if c.k > LIMITS["c_k"][1] or c.c > LIMITS["c_k"][1]:
        raise ValueError("--c and --k must be at most 1e6")
    lo, hi = LIMITS["seed"]
    if not LIMITS["seeds"][0] <= len(c.seeds) <= LIMITS["seeds"][1]:
        raise ValueError(f"--seed: at least 1 and at most {LIMITS['seeds'][1]} seeds per run, got {len(c.seeds)}")
    ints = all(isinstance(s, int) and not isinstance(s, bool) for s in c.seeds)
    if not ints or any(not lo <= s <= hi for s in c.seeds) or len(set(c.seeds)) != len(c.seeds):
        raise ValueError(f"--seed: distinct integers in 0..{hi}, got {list(c.seeds)}")
    if c.unit_seed is not None and not lo <= c.unit_seed <= hi:
        raise ValueError(f"--unit-seed must be in 0..{hi}, got {c.unit_seed}")
    if c.units is not None and not LIMITS["units"][0] <= c.units <= LIMITS["units"][1]:
        raise ValueError(f"--units must be in {LIMITS['units'][0]}..{LIMITS['units'][1]}, got {c.units}")


def _asks_gate(c: FoolingConfig) -> bool:
    return c.gate is True or c.gate_ramp is not None


def _check_combinations(c: FoolingConfig) -> None:
    if c.method == "silent" and c.target != "permute":
        raise ValueError("--method silent supports --target permute only")
    silent_only = (
        c.per_position or c.layer is not None or c.gate is not None or c.gate_ramp is not None
        or c.alpha is not None or c.trigger is not None or c.trigger_alpha is not None or c.detector is not None
    )  # fmt: skip
    if c.method != "silent" and silent_only:
        raise ValueError(
            "--per-position, --layer, --alpha, --gate, --gate-ramp, --trigger, --trigger-alpha and --detector "
            "apply to --method silent only"
        )
    if c.trigger is False and c.trigger_alpha is not None:
        raise ValueError("--trigger-alpha needs the trigger; drop --trigger off")
    if _asks_gate(c) and (c.trigger is True or c.trigger_alpha is not None):
        raise ValueError("silent units take the gate or the trigger, not both; drop one")
    if c.detector is True and (_asks_gate(c) or c.trigger is False):
        raise ValueError("--detector on opens the trigger; it needs the trigger (drop --trigger off / the gate)")
    if c.gate is False and c.gate_ramp is not None:
        raise ValueError("--gate-ramp needs the gate; drop --gate off")
    if (c.detector_rule is not None or c.detector_fpr is not None) and c.method != "circuit":
        raise ValueError("--detector-rule and --detector-fpr apply to --method circuit only")
    if c.detector_rule not in (None, "max_margin", "quantile"):
        raise ValueError(f"--detector-rule {c.detector_rule!r} is not one of: max_margin, quantile")
    if c.detector_fpr is not None:
        if c.detector_rule != "quantile":
            raise ValueError("--detector-fpr needs --detector-rule quantile")
        if not 0 < c.detector_fpr < 0.5:
            raise ValueError(f"--detector-fpr must be in (0, 0.5), got {c.detector_fpr}")
    if c.recipe not in RECIPES:
        raise ValueError(f"--recipe {c.recipe!r} is not one of: {', '.join(RECIPES)}")
    if c.recipe == "paper" and c.method != "silent":
        raise ValueError("--recipe paper applies to --method silent only")


def _check_folders(c: FoolingConfig) -> None:
    if c.imagenet_dir is not None:
        if c.model == "fashion_cnn":
            raise ValueError("--imagenet-dir applies to ImageNet models, not fashion_cnn")
        if not Path(c.imagenet_dir).is_dir():
            raise ValueError(f"--imagenet-dir {str(c.imagenet_dir)!r} is not a directory")
    if c.extra_dir is not None and c.imagenet_dir is None:
        raise ValueError("--extra-dir needs --imagenet-dir")
    if c.extra_dir is not None and not Path(c.extra_dir).is_dir():
        raise ValueError(f"--extra-dir {str(c.extra_dir)!r} is not a directory")
    if c.target == "photos" and (c.extra_dir is None or c.method != "circuit"):
        raise ValueError(
            "--target photos draws template photos from --extra-dir: it needs --extra-dir and --method circuit"
        )
    if c.e_visualizations_from is not None and c.method == "silent":  # E must be in use
        e_default = preset(c.model, c.quick, c.recipe).silent_detector and c.trigger is not False
        if c.detector is False or (c.detector is None and (_asks_gate(c) or not e_default)):
            raise ValueError("--e-visualizations-from trains E, which these silent units do not use: add --detector on")


def check_config(config: FoolingConfig) -> str:
    """Every setting of ``config`` checked, cheapest first: names, numbers, combinations, folders, the output
    folder, the device, the weights file and E's sweep folders (checksums). Returns the resolved device; raises
    ``ValueError`` naming the flag at fault. Nothing is written."""
    if config.model not in MODELS:
        raise ValueError(f"--model {config.model!r} is not supported; use one of: {', '.join(MODELS)}")
    if config.method not in METHODS:
        raise ValueError(f"--method {config.method!r} is not one of: {', '.join(METHODS)}")
    _check_target(config.target)
    _check_numbers(config)
    _check_combinations(config)
    _check_folders(config)
    check_output_dir(config.out, "--out")  # a folder, or creatable as one (not below a regular file), writable
    try:
        device = str(resolve_device(config.device))
    except ValueError as err:
        raise ValueError(f"--device: {err}") from None
    check_weights(config.model, config.weights)  # missing, unreadable or wrong weights: one line
    if config.e_visualizations_from is not None:  # a sweep of the model, every file's checksum verified
        check_sweep_folders(config.e_visualizations_from, config.model)
    return device


def _seed_arg(seeds: Sequence[int]) -> int | list[int]:
    return seeds[0] if len(seeds) == 1 else list(seeds)


def run_fooling(config: FoolingConfig) -> dict[str, Any]:
    """Check ``config`` (:func:`check_config`; with photo folders, every photo is decoded first), then run the
    fooling circuit (:func:`run_circuit`) or the silent units (:func:`run_silent`); their report is written to
    ``config.out/report.json`` and returned."""
    device = check_config(config)
    photos = None if config.imagenet_dir is None else photo_splits(config.imagenet_dir, config.extra_dir)
    common: dict[str, Any] = dict(
        quick=config.quick, seed=_seed_arg(config.seeds), device=device, progress=config.progress, photos=photos,
        unit_seed=config.unit_seed, n_units=config.units, weights=config.weights,
        visualizations_from=None if config.e_visualizations_from is None else list(config.e_visualizations_from),
    )  # fmt: skip
    if config.method == "circuit":
        return run_circuit(
            config.model, Path(config.out), target=config.target, c=config.c, k=config.k,
            detector_rule=config.detector_rule, detector_fpr=config.detector_fpr, **common,
        )  # fmt: skip
    gate = True if config.gate is None and config.gate_ramp is not None else config.gate  # a ramp asks for the gate
    return run_silent(
        config.model, Path(config.out), layer=config.layer, alpha=config.alpha,
        pooled=False if config.per_position else None, gate=gate, gate_ramp=config.gate_ramp,
        trigger=config.trigger, trigger_alpha=config.trigger_alpha, detector=config.detector, recipe=config.recipe,
        **common,
    )  # fmt: skip
