"""Benchmark of the feature-visualization engine (a script, not a test).

Measured side by side in one run, on MobileNetV2 at 224 px (the zoo's ``mobilenet_v2`` when ``empirical.models``
is installed, else a MobileNetV2-shaped network with random weights and the same cost):

* overhead = time of one optimisation step of :func:`empirical.visualize.render` (FFT parameterisation, colour
  decorrelation, sigmoid, Lucent's standard transforms, the objective, Adam) divided by a bare forward+backward
  of the same model on a batch of the same shape as the step feeds it (224 + 2*12 = 248 px, weights frozen,
  gradient to the input); also reported against a bare 224 px forward+backward;
* the same with ``crop=True`` (the model sees the centre 224 px of the transformed frame), against a bare
  224 px forward+backward;
* throughput: unit-steps per second for 8 units in one batch vs 8 units one at a time.

Step times are the wall times between consecutive step callbacks of :func:`render`; all times are medians over
``--repeats`` rounds that alternate the three measurements. Writes ``benchmarks/results/visualize.json`` (or
``--out``) with its ``provenance`` record (``empirical._provenance``: commit, settings, render seeds, sha256 of the
weights: the zoo's checkpoint file, or the random network's state dict).

    python benchmarks/bench_visualize.py [--steps 8] [--repeats 3] [--layer logits] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from empirical._provenance import provenance, start_clock
from empirical.visualize import AffineWarp, channel, render, standard_transforms
from empirical.visualize._defaults import PAPER_DEFAULTS

RESULTS = Path(__file__).resolve().parent / "results" / "visualize.json"
SIZE = 224
BATCHES = (1, 8)


def _conv_bn(cin: int, cout: int, k: int, stride: int, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [_conv_bn(cin, hidden, 1, 1)] if expand != 1 else []
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden), _conv_bn(hidden, cout, 1, 1, act=False)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class SyntheticMobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0, 1000 classes) with random weights, taking images in [0, 1]."""

    input_size = (3, SIZE, SIZE)

    def __init__(self) -> None:
        super().__init__()
        settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2)]
        settings.append((6, 320, 1, 1))
        blocks: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in settings:
            for i in range(n):
                blocks.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        blocks.append(_conv_bn(cin, 1280, 1, 1))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.features((images - self.mean) / self.std)
        return self.classifier(x.mean((2, 3)))


def load_benchmark_model() -> tuple[nn.Module, str]:
    try:
        from empirical.models import load_model
    except ImportError:
        return SyntheticMobileNetV2().eval(), "synthetic MobileNetV2 (random weights; the zoo was not installed)"
    return load_model("mobilenet_v2", device="cpu"), "zoo mobilenet_v2"


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_step(model: nn.Module, batch: int, size: int) -> Callable[[], None]:
    """One forward + backward to the input, weights frozen (what a render step needs at the least)."""
    x = torch.rand(batch, 3, size, size, requires_grad=True)

    def step() -> None:
        x.grad = None
        model(x)[:, 0].sum().backward()

    return step


def step_times(
    model: nn.Module, layer: str, units: list[int], steps: int, crop: bool = False, fuse: bool = True
) -> tuple[list[float], float]:
    """Per-step wall times of one render (time between consecutive step callbacks) and the whole render's time."""
    stamps: list[float] = []
    start = time.perf_counter()
    render(
        model, channel(layer, units), list(range(len(units))), size=SIZE, steps=steps + 1, progress=False, crop=crop,
        fuse=fuse, callback=lambda step, values: stamps.append(time.perf_counter()),
    )  # fmt: skip
    total = time.perf_counter() - start
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)], total


def units_of(layer: str) -> list[int]:
    """The 8 rendered units: 8 ImageNet classes on the logits, else channels 0-7."""
    return [1, 97, 207, 281, 409, 530, 817, 967] if layer == "logits" else list(range(8))


def _weights(model: nn.Module) -> dict[str, Any]:
    """The weights measured: the random network's state dict, or the zoo's checkpoint file."""
    if isinstance(model, SyntheticMobileNetV2):
        return {"synthetic_mobilenet_v2": model.state_dict()}
    from empirical.models._mobilenet_v2 import _weights_path

    return {"mobilenet_v2": _weights_path()}


def _provenance(
    args: argparse.Namespace, model: nn.Module, model_kind: str, padded: int, started: tuple[float, float]
) -> dict[str, Any]:
    """The result's provenance: every command-line setting plus the fixed ones; the seeds are the render seeds
    (``step_times`` renders ``n`` units with seeds ``0..n-1``, at most 8)."""
    config = {
        **vars(args), "model": model_kind, "image_size": SIZE, "model_input_size": padded,
        "units": units_of(args.layer), "batches": list(BATCHES), "render_defaults": PAPER_DEFAULTS,
    }  # fmt: skip
    return provenance(config, range(max(BATCHES)), None, None, _weights(model), started, device="cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds (default %(default)s)")
    parser.add_argument("--layer", default="logits", help="layer of the rendered units (default logits)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result file (default benchmarks/results/)")
    return parser.parse_args(argv)


def main() -> None:
    started = start_clock()
    args = parse_args()

    model, model_kind = load_benchmark_model()
    for p in model.parameters():
        p.requires_grad_(False)
    padded = AffineWarp(standard_transforms(), SIZE, SIZE).out_height
    units8 = units_of(args.layer)
    # warm-up: on a fresh (virtual) machine the first touch of memory is slow; touch the largest footprint first
    step_times(model, args.layer, units8, 3)
    for size in (padded, SIZE):
        fb = bare_step(model, 8, size)
        fb(), fb()
    rows = {}
    for batch in BATCHES:
        units = units8[:batch]
        timings: dict[str, list[float]] = {"bare_padded": [], "bare_224": [], "step": [], "step_crop": []}
        fb_pad, fb_224 = bare_step(model, batch, padded), bare_step(model, batch, SIZE)
        fb_pad(), fb_224(), step_times(model, args.layer, units, 1)  # warm-up
        for _ in range(args.repeats):  # alternate, so that load changes hit all three alike
            timings["bare_padded"] += [_timed(fb_pad) for _ in range(args.steps)]
            timings["bare_224"] += [_timed(fb_224) for _ in range(args.steps)]
            timings["step"] += step_times(model, args.layer, units, args.steps)[0]
            timings["step_crop"] += step_times(model, args.layer, units, args.steps, crop=True)[0]
        med = {k: statistics.median(v) for k, v in timings.items()}
        rows[batch] = {
            "batch": batch,
            "step_ms": 1000 * med["step"],
            "bare_fwd_bwd_ms_248px": 1000 * med["bare_padded"],
            "bare_fwd_bwd_ms_224px": 1000 * med["bare_224"],
            "overhead_vs_same_batch": med["step"] / med["bare_padded"],
            "overhead_vs_224px": med["step"] / med["bare_224"],
            "unit_steps_per_s": batch / med["step"],
            "crop_step_ms": 1000 * med["step_crop"],
            "crop_overhead_vs_same_batch": med["step_crop"] / med["bare_224"],
            "crop_unit_steps_per_s": batch / med["step_crop"],
            "raw_seconds": timings,
        }
    # whole renders, setup included: 8 units in one batch vs 8 renders of one unit
    n = args.steps
    batched_total = step_times(model, args.layer, units8, n)[1]
    single_total = sum(step_times(model, args.layer, [u], n)[1] for u in units8)
    batched, sequential = rows[8]["unit_steps_per_s"], rows[1]["unit_steps_per_s"]
    result = {
        "model": model_kind,
        "layer": args.layer,
        "image_size": SIZE,
        "model_input_size": padded,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "rows": [rows[1], rows[8]],
        "throughput_8_units": {
            "batched_unit_steps_per_s": batched,
            "one_at_a_time_unit_steps_per_s": sequential,
            "speedup": batched / sequential,
            "crop_batched_unit_steps_per_s": rows[8]["crop_unit_steps_per_s"],
            "crop_one_at_a_time_unit_steps_per_s": rows[1]["crop_unit_steps_per_s"],
            "whole_renders": {
                "steps": n + 1,
                "batched_seconds": batched_total,
                "one_at_a_time_seconds": single_total,
                "speedup": single_total / batched_total,
            },
        },
        "targets": {"overhead_batch_1": 1.3, "overhead_batch_8": 1.15},
        "provenance": _provenance(args, model, model_kind, padded, started),
    }
    print(
        f"model: {model_kind}; layer {args.layer}; images {SIZE} px -> model input {padded} px; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(
        f"{'batch':>5} {'step ms':>9} {'bare@248':>9} {'bare@224':>9} {'ratio':>6} {'ratio@224':>9}"
        f" {'unit-steps/s':>12} | {'crop ms':>8} {'ratio':>6} {'unit-steps/s':>12}"
    )
    for r in (rows[1], rows[8]):
        print(
            f"{r['batch']:>5} {r['step_ms']:>9.1f} {r['bare_fwd_bwd_ms_248px']:>9.1f}"
            f" {r['bare_fwd_bwd_ms_224px']:>9.1f}"
            f" {r['overhead_vs_same_batch']:>6.3f} {r['overhead_vs_224px']:>9.3f} {r['unit_steps_per_s']:>12.2f}"
            f" | {r['crop_step_ms']:>8.1f} {r['crop_overhead_vs_same_batch']:>6.3f} {r['crop_unit_steps_per_s']:>12.2f}"
        )
    print(
        f"8 units, per step: batched {batched:.2f} unit-steps/s vs one at a time {sequential:.2f}"
        f" ({batched / sequential:.2f}x); whole {n + 1}-step renders: {batched_total:.1f} s vs {single_total:.1f} s"
        f" ({single_total / batched_total:.2f}x)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
