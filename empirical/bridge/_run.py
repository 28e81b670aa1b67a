"""One call for one unit of a zoo model: check every input, load, analyse, write (what ``fvtrust bridge`` runs)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from empirical._cache import check_output_dir, refuse_taken
from empirical._provenance import provenance, start_clock
from empirical.bridge._analyse import BridgeResult, analyse
from empirical.bridge._data import MODELS, BridgeData, load_bridge_data
from empirical.bridge._report import markdown, write_outputs
from empirical.models import load_model
from empirical.visualize import parse_unit  # the project's one reader of LAYER:INDEX

#: Per model: (test images, exemplar pool, random points), full and ``quick``.
DEFAULTS: dict[str, dict[str, tuple[int, int, int]]] = {
    "fashion_cnn": {"full": (1000, 10000, 256), "quick": (200, 2000, 32)},
    "mobilenet_v2": {"full": (64, 128, 8), "quick": (12, 24, 2)},
    "inceptionv1": {"full": (64, 128, 8), "quick": (12, 24, 2)},
}
#: Visualization steps, full and ``quick``.
STEPS = {"full": 512, "quick": 64}
#: Largest number of test images per model: the Fashion-MNIST test split; ImageNet crops cost 0.6 MB each.
MAX_IMAGES = {"fashion_cnn": 10000, "mobilenet_v2": 1024, "inceptionv1": 1024}
MAX_STEPS = 100_000
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class BridgeConfig:
    """Every setting of one run, defaults resolved (recorded in ``bridge.json`` under ``config``)."""

    model: str
    layer: str
    index: int
    images: int
    pool: int
    random_points: int
    exemplars: int
    steps: int
    seed: int
    device: str
    quick: bool
    weights: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BridgeRun:
    """The result of :func:`bridge_unit`: the analysis, its configuration and the files written (if any)."""

    config: BridgeConfig
    result: BridgeResult
    paths: dict[str, Path]

    @property
    def markdown(self) -> str:
        """The Markdown summary (``bridge.md``)."""
        return markdown(self.result.report)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``bridge.json``)."""
        return self.result.to_dict()


def _int_in(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def check_device(device: str) -> str:
    """``device`` if it names a torch device present on this machine, else ``ValueError``."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device {device!r} is not a torch device; use cpu, cuda or cuda:N") from err
    if dev.type == "cpu":
        return device
    if dev.type == "cuda" and torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count():
        return device
    if dev.type == "mps" and torch.backends.mps.is_available():
        return device
    raise ValueError(f"device {device!r} is not available on this machine (cpu is)")


def check_writable_dir(path: Path, name: str = "out") -> Path:
    """``path`` if it is a folder, or can be created as one, that this process can write; else ``ValueError``
    naming ``name`` (:func:`empirical._cache.check_output_dir`: the probe leaves nothing behind). The report's
    names (``bridge.json``, ``bridge.png``, ``bridge.md``) must not be taken by folders: checked here, before the
    work, not when the report is written."""
    folder = check_output_dir(path, name)
    refuse_taken([folder / f for f in ("bridge.json", "bridge.png", "bridge.md")], "the report")
    return folder


def bridge_config(
    model: str,
    unit: str,
    *,
    exemplars: int = 0,
    images: int | None = None,
    steps: int | None = None,
    quick: bool = False,
    seed: int = 0,
    device: str = "cpu",
    weights: str | Path | None = None,
) -> BridgeConfig:
    """Check every argument (``ValueError`` naming it and what is allowed) and resolve the defaults.

    ``weights``: a weights file (or ``"random"``) for models whose weights do not ship (``inceptionv1``); a path
    that is not a file is refused here, its content when the model is loaded (the first step of the work)."""
    if model not in MODELS:
        raise ValueError(f"model {model!r} is not supported; choose one of {', '.join(MODELS)}")
    layer, index = parse_unit(unit)
    mode = "quick" if quick else "full"
    n_images, pool, random_points = DEFAULTS[model][mode]
    n_images = _int_in("images", n_images if images is None else images, 1, MAX_IMAGES[model])
    _int_in("exemplars", exemplars, 0, pool // 2)
    if weights is not None and str(weights) != "random" and not Path(weights).is_file():
        raise ValueError(f"weights {str(weights)!r} is not a readable file")
    return BridgeConfig(
        model=model,
        layer=layer,
        index=index,
        images=n_images,
        pool=pool if exemplars else 0,
        random_points=random_points,
        exemplars=exemplars,
        steps=_int_in("steps", STEPS[mode] if steps is None else steps, 1, MAX_STEPS),
        seed=_int_in("seed", seed, 0, MAX_SEED),
        device=check_device(device),
        quick=quick,
        weights=None if weights is None else str(weights),
    )


def _load_model(name: str, device: str, weights: str | None = None) -> nn.Module:
    """The zoo model; a weights file torch cannot read is a one-line ``ValueError`` naming it (wrong keys or
    shapes: ``load_model``'s own ``ValueError``)."""
    import pickle
    import zipfile

    try:
        return load_model(name, weights=weights, device=device)
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, RuntimeError) as err:
        if weights is None or weights == "random":
            raise
        first = " ".join(str(err).split())[:160]
        raise ValueError(f"weights file {weights!r} cannot be read as a torch state dict: {first}") from err


def _load_data(config: BridgeConfig) -> BridgeData:
    return load_bridge_data(config.model, config.images, config.pool, config.seed)


def bridge_unit(
    model: str,
    unit: str,
    out: Path | str | None = None,
    *,
    exemplars: int = 0,
    images: int | None = None,
    steps: int | None = None,
    quick: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    weights: str | Path | None = None,
) -> BridgeRun:
    """What the Lipschitz theory certifies about the unit ``unit`` (``LAYER:INDEX``) of the zoo model ``model``.

    All inputs are checked before any work (``ValueError`` with one line naming the argument). Then the model and
    the natural images are loaded, :func:`~empirical.bridge.analyse` runs, and, if ``out`` is given,
    ``bridge.json``, ``bridge.png`` and ``bridge.md`` are written there. ``fvtrust bridge`` is this call.
    ``weights``: a weights file (or ``"random"``) for models whose weights do not ship (``inceptionv1``); the
    model is loaded first, so a bad file fails before any other work.
    """
    config = bridge_config(
        model, unit, exemplars=exemplars, images=images, steps=steps, quick=quick, seed=seed, device=device,
        weights=weights,
    )  # fmt: skip
    out_dir = check_writable_dir(Path(out)) if out is not None else None
    started = start_clock()
    weights_kw = {} if config.weights is None else {"weights": config.weights}
    net = _load_model(config.model, config.device, **weights_kw)
    data = _load_data(config)
    result = analyse(
        net,
        config.layer,
        config.index,
        data,
        exemplars=config.exemplars,
        steps=config.steps,
        seed=config.seed,
        random_points=config.random_points,
        progress=progress,
    )
    result.report.update(
        model=config.model,
        device=config.device,
        config=config.to_dict(),
        provenance=provenance(
            config.to_dict(),
            [config.seed, config.seed + 1],
            "; ".join(f"{k}: {v}" for k, v in data.source.items()),
            None,
            {config.model: dict(net.state_dict())},
            started,
            device=config.device,
        ),
    )
    title = f"{config.model} {config.layer}:{config.index}"
    paths = write_outputs(result, out_dir, title) if out_dir is not None else {}
    return BridgeRun(config, result, paths)
