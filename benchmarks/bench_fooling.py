"""Benchmark of the fooling manipulations: build time, evaluation cost relative to the original model, and the
wall time of the full ``fvtrust fool --quick`` runs. Writes ``benchmarks/results/fooling.json``.

    python benchmarks/bench_fooling.py [--models fashion_cnn mobilenet_v2] [--skip-runs] [--rounds 5]

Cost ratio: median over ``rounds`` alternating rounds of the forward time of the fooled model divided by that of
the original on the same batch of natural images (target for the circuit on the logits: at most 1.1). Both the
wall time and this process's CPU time are measured, with one torch thread during the timing: on a shared machine
the wall-time ratio is noise (other workers' load), the CPU-time ratio (``cpu_cost_ratio_*``) is the measurement.
``--skip-runs`` keeps the ``quick_*`` timings of the previous results file (marked ``quick_runs_from_previous``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

RESULTS = Path(__file__).parent / "results" / "fooling.json"


@torch.no_grad()
def _time(model: nn.Module, x: Tensor, repeats: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) per forward pass."""
    model(x)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        model(x)
    return (time.perf_counter() - t0) / repeats, (time.process_time() - c0) / repeats


def bench_model(name: str, rounds: int, run_quick: bool, out_dir: Path) -> dict[str, Any]:
    from empirical.data import fashion_mnist, natural_images, random_crops
    from empirical.fooling import FoolingCircuit, add_silent_units, cyclic_targets, preset, train_detector
    from empirical.fooling._run import _calibration
    from empirical.models import load_model

    p = preset(name, quick=True)
    model = load_model(name)
    t0 = time.perf_counter()
    det, rep = train_detector(model, name, p.detector, progress=False)
    detector_seconds = time.perf_counter() - t0
    n_out = len(model.class_names)
    t0 = time.perf_counter()
    circuit = FoolingCircuit(model, det, cyclic_targets(n_out, p.block)).eval()
    circuit_build = time.perf_counter() - t0
    layer = p.silent_layer
    n_units = dict(model.net.named_modules())[layer].weight.shape[0]
    calib = _calibration(name, p.silent_calibration)
    t0 = time.perf_counter()
    silent = add_silent_units(
        model,
        layer,
        cyclic_targets(n_units, p.block),
        calib,
        alpha=p.silent_alpha,
        margin=p.silent_margin,
        pooled=p.silent_pooled,
        gate_ramp=p.silent_gate_ramp if p.silent_gate else None,
        trigger_alpha=p.silent_trigger_alpha,
        trigger_slope=p.silent_trigger_slope,
        trigger_slack=p.silent_trigger_slack,
        detector=det if p.silent_detector else None,
        detector_margin=p.silent_detector_margin,
        detector_ramp=p.silent_detector_ramp,
        progress=False,
    ).eval()  # the preset's silent units (share, gate, trigger, image trigger), as `fvtrust fool` builds them
    silent_build = time.perf_counter() - t0
    if name == "fashion_cnn":
        x = fashion_mnist("test")[0][:1000].float() / 255
        repeats = 5
    else:
        photos = natural_images("imagenet").images
        x = torch.cat([photos, random_crops(photos, 24, seed=3)])
        repeats = 1
    nets = {"original": model, "circuit": circuit, "silent": silent, "detector": det}
    times: dict[str, list[float]] = {k: [] for k in nets}
    cpu: dict[str, list[float]] = {k: [] for k in nets}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(rounds):
            for k, net in nets.items():
                wall, cpu_s = _time(net, x, repeats)
                times[k].append(wall)
                cpu[k].append(cpu_s)
    finally:
        torch.set_num_threads(threads)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    row: dict[str, Any] = {
        "model": name, "batch": len(x), "detector_seconds_train_or_load": detector_seconds,
        "detector_cached": rep.cached, "detector_train_seconds": rep.train_seconds,
        "detector_data_seconds": rep.data_seconds, "build_circuit_seconds": circuit_build,
        "build_silent_seconds": silent_build, "silent_calibration_images": len(calib),
        "silent_alpha": p.silent_alpha, "silent_gate": p.silent_gate, "silent_trigger_alpha": p.silent_trigger_alpha,
        "silent_image_trigger": p.silent_detector,
        "timing_threads": 1, "forward_ms": {k: 1000 * v for k, v in med.items()},
        "forward_cpu_ms": {k: 1000 * v for k, v in med_cpu.items()},
        "cost_ratio_circuit": med["circuit"] / med["original"], "cost_ratio_silent": med["silent"] / med["original"],
        "cpu_cost_ratio_circuit": med_cpu["circuit"] / med_cpu["original"],
        "cpu_cost_ratio_silent": med_cpu["silent"] / med_cpu["original"],
        "cpu_cost_ratio_detector": med_cpu["detector"] / med_cpu["original"],
        "load_average_1min_during_timing": round(os.getloadavg()[0], 2),
    }  # fmt: skip
    if run_quick:
        from empirical.fooling import run_circuit, run_silent

        for method, fn in (("circuit", run_circuit), ("silent", run_silent)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(name, out_dir / f"{name}_{method}", quick=True, progress=False)
            row[f"quick_{method}_seconds"] = time.perf_counter() - t0
            row[f"quick_{method}_cpu_seconds"] = time.process_time() - c0
            row[f"quick_{method}_load_average_1min_after"] = round(os.getloadavg()[0], 2)
    row["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    return row


#: The ImageNet experiments on real photos (``--imagenet EXP``): what each runs.
IMAGENET_EXPERIMENTS = ("circuit", "circuit_photos", "silent", "silent_paper")
DATA = Path(os.environ.get("FVTRUST_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def imagenet_experiment(
    exp: str, seeds: list[int], unit_seed: int, n_units: int, out_dir: Path, detector_rule: str | None = None
) -> Path:
    """One fooling experiment on MobileNetV2 with the quick preset and real photos: E and every threshold from the
    calibration split of ``imagenet-1k`` (the 900 single-photo classes), behaviour on all 1,500 photos and on
    ``imagenet-other`` (250), visualizations on held-out seeds, units drawn at random with ``unit_seed``.
    Writes ``benchmarks/results/fooling_imagenet_<exp>.json`` (the run's report.json, figure in ``out_dir``).
    ``detector_rule``: E's threshold rule for the circuit runs instead of the preset's (``"quantile"`` writes
    ``fooling_imagenet_<exp>_quantile.json``; see ``Preset.detector_rule``)."""

    from empirical.fooling import photo_splits, run_circuit, run_silent

    photos = photo_splits(DATA / "imagenet-1k", DATA / "imagenet-other")
    name = exp if detector_rule in (None, "max_margin") else f"{exp}_{detector_rule}"
    run_dir = out_dir / name
    common = dict(quick=True, seed=seeds, progress=False, photos=photos, unit_seed=unit_seed, n_units=n_units)
    if detector_rule is not None:
        if not exp.startswith("circuit"):
            raise ValueError(f"--detector-rule applies to the circuit runs, not {exp!r}")
        common["detector_rule"] = detector_rule
    if exp == "circuit":
        report = run_circuit("mobilenet_v2", run_dir, **common)
    elif exp == "circuit_photos":
        report = run_circuit("mobilenet_v2", run_dir, target="photos", **common)  # the same draw as the command's
    elif exp == "silent":
        report = run_silent("mobilenet_v2", run_dir, scores=False, **common)
    elif exp == "silent_paper":
        report = run_silent("mobilenet_v2", run_dir, recipe="paper", scores=False, **common)
    else:
        raise ValueError(f"--imagenet {exp!r} is not one of: {', '.join(IMAGENET_EXPERIMENTS)}")
    report["experiment"] = exp
    path = RESULTS.parent / f"fooling_imagenet_{name}.json"
    path.write_text(json.dumps(report, indent=1))
    fig = run_dir / "fooling.png"
    if fig.exists():
        target = Path(__file__).resolve().parents[1] / "docs" / "figures" / f"fooling_imagenet_{name}.png"
        target.write_bytes(fig.read_bytes())
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--imagenet", choices=IMAGENET_EXPERIMENTS, default=None, help="run one ImageNet experiment")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9], help="visualization seeds (--imagenet)")
    ap.add_argument("--unit-seed", type=int, default=2026, help="seed drawing the units (--imagenet)")
    ap.add_argument("--n-units", type=int, default=4, help="units drawn (--imagenet)")
    ap.add_argument(
        "--detector-rule", choices=("max_margin", "quantile"), default=None,
        help="E's threshold rule for --imagenet circuit runs (default: the preset's)",
    )
    ap.add_argument("--models", nargs="+", default=["fashion_cnn", "mobilenet_v2"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-runs", action="store_true", help="skip the full --quick runs")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_fooling"))
    args = ap.parse_args()
    if args.imagenet is not None:
        rule = args.detector_rule
        print(imagenet_experiment(args.imagenet, args.seeds, args.unit_seed, args.n_units, args.out, rule))
        return
    load_start = round(os.getloadavg()[0], 2)
    rows = [bench_model(m, args.rounds, not args.skip_runs, args.out) for m in args.models]
    if args.skip_runs and RESULTS.exists():
        previous = {r["model"]: r for r in json.loads(RESULTS.read_text()).get("rows", [])}
        for row in rows:
            kept = {k: v for k, v in previous.get(row["model"], {}).items() if k.startswith("quick_")}
            if kept:
                row.update(kept, quick_runs_from_previous=True)
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "cpus": os.cpu_count(), "torch": torch.__version__},
        "load_average_1min_at_start": load_start,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "note": "quick_*_seconds include training E / generating its data unless cached (see detector_cached); "
        "wall times on a shared 2-core machine, see the load averages and quick_*_cpu_seconds",
        "rows": rows,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
