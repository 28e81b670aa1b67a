"""Feature visualizations of units of a zoo model, written to a folder: what ``fvtrust visualize`` runs.

>>> report = visualize_to_folder(VisualizeConfig("mobilenet_v2", ("features.17:42", "logits:967"), "out"))
...                                                                                    # doctest: +SKIP
>>> report.records[0]["objective_final"], report.files                                 # doctest: +SKIP

Every unit is rendered with :func:`~empirical.visualize.visualize_units` (the units of one layer in one batch);
per unit the folder gets ``<model>_<layer>_<unit>.png`` and ``.json`` (the settings, ``objective_start``,
``objective_final`` and ``natural_max``: the unit's largest value over the first ``natural`` images of the model's
natural-image set, at the render size), and ``grid.png`` when there are several units. Every setting is checked
before any work (:func:`check_visualize_config`), and the layers and unit indices right after the model is loaded,
before the folder is created; every file is written through a fresh temporary name and ``os.replace``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical._cache import check_output_dir, refuse_taken, write_atomic
from empirical.visualize._defaults import MAX_STEPS, PAPER_DEFAULTS, check_render_limits
from empirical.visualize._layers import ActivationCapture, resolve_layer
from empirical.visualize._objectives import channel
from empirical.visualize._objectives import neuron as neuron_objective
from empirical.visualize._redirect import REDIRECT_RULES
from empirical.visualize._render import image_seed
from empirical.visualize._transforms import standard_transforms
from empirical.visualize._units import visualize_units

__all__ = [
    "MAX_NATURAL",
    "MAX_SEED",
    "VisualizeConfig",
    "VisualizeReport",
    "check_visualize_config",
    "parse_unit",
    "visualize_to_folder",
]

#: Natural images for ``natural_max`` (the bundled sets hold far fewer; all are used then).
MAX_NATURAL = 100_000
#: Largest run seed (image seeds derive from it with :func:`image_seed`).
MAX_SEED = 2**63 - 1

_UNIT = re.compile(r"^(?P<layer>[^:\s]+):(?P<index>\d{1,18})$")


def parse_unit(text: str, name: str = "unit") -> tuple[str, int]:
    """``"features.17:42"`` -> ``("features.17", 42)``: the project's one reader of ``LAYER:INDEX`` unit specs.

    Anything else raises ``ValueError`` with one line naming ``name`` (e.g. ``"--unit"``) and the form allowed."""
    match = _UNIT.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"bad {name} {text!r}: expected LAYER:INDEX with INDEX >= 0, e.g. features.17:42 or logits:967"
        )
    return match["layer"], int(match["index"])


@dataclass(frozen=True)
class VisualizeConfig:
    """Every setting of one ``fvtrust visualize`` run (flags of the same names).

    Attributes:
        model: zoo model name; ``weights``: its weights file for models that do not ship them (or ``"random"``).
        units: ``LAYER:INDEX`` specs (or ``(layer, index)`` pairs); duplicates are rendered once.
        out: output folder (created).
        steps, seed, size: Adam steps (0..``MAX_STEPS``), run seed, image side (None: the model's input size).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (checked by ``empirical._device.resolve_device``).
        neuron: maximise the centre neuron instead of the channel mean; ``crop``: feed the model the centre of the
            transformed frame; ``fuse``: render a copy with batch norms folded into convolutions (same function).
        redirect_relu, redirect_rule: redirected ReLU gradients (None: what the model asks for).
        natural: natural images used for ``natural_max``; ``progress``: progress bars.
    """

    model: str
    units: tuple[str | tuple[str, int], ...]
    out: Path | str
    steps: int = PAPER_DEFAULTS.steps
    seed: int = 0
    size: int | None = None
    device: str = "cpu"
    weights: str | None = None
    neuron: bool = False
    crop: bool = False
    fuse: bool = True
    redirect_relu: int | None = None
    redirect_rule: str | None = None
    natural: int = 64
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["units"] = [u if isinstance(u, str) else f"{u[0]}:{u[1]}" for u in self.units]
        return d


@dataclass
class VisualizeReport:
    """What :func:`visualize_to_folder` wrote: one JSON record per unit (in the order rendered), all files."""

    config: VisualizeConfig
    records: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    grid: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "records": self.records,
            "files": [str(f) for f in self.files],
            "grid": None if self.grid is None else str(self.grid),
        }


def _int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _units(config: VisualizeConfig) -> list[tuple[str, int]]:
    if isinstance(config.units, str) or not config.units:
        raise ValueError("--unit: give at least one LAYER:INDEX, e.g. features.17:42")
    units = []
    for u in config.units:
        spec: object = u
        if isinstance(u, tuple) and len(u) == 2 and isinstance(u[1], int) and not isinstance(u[1], bool):
            spec = f"{u[0]}:{u[1]}"
        unit = parse_unit(spec, "--unit")  # type: ignore[arg-type]  # anything else: ValueError
        if unit in units:
            raise ValueError(f"--unit {unit[0]}:{unit[1]} is given twice; give each unit once")
        units.append(unit)
    return units


def check_visualize_config(config: VisualizeConfig) -> tuple[list[tuple[str, int]], torch.device]:
    """Check every setting before any work (``ValueError``, one line naming the flag and what is allowed); the
    parsed units and the device. Allocates and creates nothing."""
    from empirical._device import resolve_device

    units = _units(config)
    largest_batch = max(Counter(layer for layer, _ in set(units)).values())  # units of one layer render together
    device = resolve_device(config.device)
    try:
        check_render_limits(config.steps, config.size, largest_batch, device)
    except ValueError as err:
        raise ValueError(f"--{err}") from None
    _int("--natural", config.natural, 1, MAX_NATURAL)
    _int("--seed", config.seed, 0, MAX_SEED)
    if config.redirect_relu is not None:
        _int("--redirect-relu", config.redirect_relu, 0, MAX_STEPS)
    if config.redirect_rule is not None and config.redirect_rule not in REDIRECT_RULES:
        raise ValueError(f"--redirect-rule {config.redirect_rule!r}: choose one of {', '.join(REDIRECT_RULES)}")
    if config.weights is not None and str(config.weights) != "random":
        w = Path(config.weights)
        if not w.is_file() or not os.access(w, os.R_OK):
            raise ValueError(f"--weights {str(w)!r} is not a readable file")
    check_output_dir(Path(config.out), "--out")
    return units, device


def _load_model(name: str, weights: str | None, device: str) -> nn.Module:
    from empirical.models import load_model

    return load_model(name, weights=weights, device=device)


def _natural_images(kind: str) -> Tensor:
    from empirical.data import natural_images

    return natural_images(kind).images


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


_write = write_atomic  # a fresh mkstemp file next to the target (same suffix), then os.replace


def _to_pil(image: Tensor) -> Any:
    from PIL import Image

    array = (image.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)


def _png_writer(image: Tensor) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        _to_pil(image).save(path)

    return write


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text)

    return write


def _grid(images: Tensor, columns: int = 8, gap: int = 2) -> Tensor:
    """Images (N, C, H, W) tiled row by row on a white background."""
    n, c, h, w = images.shape
    cols = min(columns, n)
    rows = -(-n // cols)
    grid = torch.ones(c, rows * (h + gap) - gap, cols * (w + gap) - gap)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        grid[:, r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = image
    return grid


def _check_units(model: nn.Module, by_layer: dict[str, list[int]], channels: int, neuron: bool) -> None:
    """Unknown layers and unit indices out of range: ``ValueError`` from one probe forward pass of one image at
    the model's input size (the number of units of a layer does not depend on the image size)."""
    for layer in by_layer:
        resolve_layer(model, layer)
    input_size = tuple(int(v) for v in getattr(model, "input_size", (channels, 224, 224)))
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    probe = torch.full((1, *input_size), 0.5, device=device, dtype=dtype)
    with torch.no_grad(), ActivationCapture(model, list(by_layer)) as capture:
        acts = capture.run(probe)
    for layer, indices in by_layer.items():
        for index in indices:
            (neuron_objective if neuron else channel)(layer, index)(acts)  # out of range: ValueError naming it


def _natural_max(
    model: nn.Module, layer: str, units: list[int], neuron: bool, kind: str, count: int, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Largest value of each unit over the first ``count`` natural images (resized to ``size``), its index,
    and the number of images used."""
    images = _natural_images(kind)[:count]
    if tuple(images.shape[-2:]) != tuple(size):
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    param = next(iter(model.parameters()))
    objectives = [(neuron_objective if neuron else channel)(layer, u) for u in units]
    values = []
    with torch.no_grad(), ActivationCapture(model, [layer]) as capture:
        for batch in images.split(16):
            acts = capture.run(batch.to(device=param.device, dtype=param.dtype))
            values.append(torch.stack([o(acts) for o in objectives], dim=1).double().cpu())
    table = torch.cat(values).numpy()
    return table.max(axis=0), table.argmax(axis=0), int(table.shape[0])


def visualize_to_folder(config: VisualizeConfig, log: Callable[[str], object] | None = None) -> VisualizeReport:
    """Render every unit of ``config`` and write its PNG and JSON record (and ``grid.png``) to ``config.out``.

    Checks every setting first (:func:`check_visualize_config`), loads the model, checks the layers and unit
    indices, and only then creates the folder. ``log`` (e.g. ``print``) gets one line per unit and one for the
    grid. ``fvtrust visualize`` is this call."""
    units, dev = check_visualize_config(config)
    device = str(dev)
    out = Path(config.out)
    model = _load_model(config.model, config.weights, device)
    model.eval()
    input_size = tuple(int(v) for v in getattr(model, "input_size", (3, 224, 224)))
    size = (config.size, config.size) if config.size else (input_size[1], input_size[2])
    kind = "fashion" if input_size[0] == 1 else "imagenet"
    by_layer: dict[str, list[int]] = {}
    for layer, index in units:  # every unit once (check_visualize_config refuses repeats)
        by_layer.setdefault(layer, []).append(index)
    _check_units(model, by_layer, input_size[0], config.neuron)
    names = [
        f"{_safe(config.model)}_{_safe(layer)}_{i}.{ext}"
        for layer, idx in by_layer.items()
        for i in idx
        for ext in ("png", "json")
    ]
    refuse_taken([out / n for n in [*names, "grid.png"]], "the visualization")  # before any rendering
    out.mkdir(parents=True, exist_ok=True)

    report = VisualizeReport(config=config)
    rendered: dict[tuple[str, int], Tensor] = {}
    for layer, indices in by_layer.items():
        started = time.perf_counter()
        res = visualize_units(
            model, layer, indices, steps=config.steps, seed=config.seed, size=size, device=device,
            neuron_objective=config.neuron, crop=config.crop, progress=config.progress, fuse=config.fuse,
            redirect_relu=config.redirect_relu, redirect_rule=config.redirect_rule,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        nat_max, nat_arg, nat_count = _natural_max(model, layer, indices, config.neuron, kind, config.natural, size)
        for b, index in enumerate(indices):
            stem = f"{_safe(config.model)}_{_safe(layer)}_{index}"
            png = _write(out / f"{stem}.png", _png_writer(res.images[b]))
            rendered[(layer, index)] = res.images[b]
            record = {
                "model": config.model,
                "layer": layer,
                "unit": index,
                "objective": "centre neuron" if config.neuron else "channel mean",
                "image": f"{stem}.png",
                "steps": config.steps,
                "seed": config.seed,
                "image_seed": image_seed(config.seed, index),
                "input_shape": [input_size[0], *size],
                "lr": PAPER_DEFAULTS.lr,
                "param": PAPER_DEFAULTS.param,
                "decorrelate": input_size[0] == 3,
                "transforms": [repr(t) for t in standard_transforms()],
                "crop": config.crop,
                "fused": config.fuse,
                "redirect_relu": {"steps": res.redirect_relu[0], "rule": res.redirect_relu[1] or None},
                "device": device,
                "objective_start": float(res.objective_start[b]),
                "objective_final": float(res.objective_final[b]),
                "natural_max": float(nat_max[b]),
                "natural_max_image": int(nat_arg[b]),
                "natural_images": {"kind": kind, "count": nat_count},
                "render_seconds_batch": round(seconds, 3),
                "batch_units": indices,
            }
            text = json.dumps(record, indent=2) + "\n"
            record_file = _write(out / f"{stem}.json", _text_writer(text))
            report.records.append(record)
            report.files += [png, record_file]
            if log is not None:
                log(
                    f"{layer}:{index}  objective {record['objective_start']:.4g} -> {record['objective_final']:.4g}"
                    f"  (natural max {record['natural_max']:.4g})  {png}"
                )
    if len(rendered) > 1:
        ordered = [rendered[u] for u in dict.fromkeys(units)]
        grid = _grid(torch.stack(ordered))
        report.grid = _write(out / "grid.png", _png_writer(grid))
        report.files.append(report.grid)
        if log is not None:
            log(f"grid: {report.grid}")
    return report
