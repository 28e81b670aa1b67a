"""Benchmark of the fooling manipulations: build time, evaluation cost relative to the original model, and the
wall time of the full ``fvtrust fool --quick`` runs. Writes ``benchmarks/results/fooling.json`` (or
``--result-file``) with its ``provenance`` record (``empirical._provenance``: commit, settings and presets, seeds,
data, sha256 of each model's weights file and of each detector E's state dict).

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

from empirical._provenance import provenance, start_clock

RESULTS = Path(__file__).parent / "results" / "fooling.json"
#: Fixed settings of the cost measurement: the natural images timed per model and forward passes per round.
TIMING = {
    "threads": 1,
    "fashion_cnn": {"images": "the first 1000 of the Fashion-MNIST test split", "repeats": 5},
    "other models": {"images": "the bundled photos plus 24 random crops of them (seed 3)", "repeats": 1},
}
CROP_SEED = 3  # random crops timed on ImageNet models
CALIBRATION_SEED = 4242  # random crops calibrating the silent units of ImageNet models (empirical.fooling._run)
QUICK_RUN_SEED = 0  # the visualization seed of the quick runs (run_circuit / run_silent default)
#: Settings of ``--imagenet`` experiments only (they write their own result files with their own records).
IMAGENET_ONLY = ("imagenet", "seeds", "unit_seed", "n_units", "detector_rule")


@torch.no_grad()
def _time(model: nn.Module, x: Tensor, repeats: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) per forward pass."""
    model(x)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        model(x)
    return (time.perf_counter() - t0) / repeats, (time.process_time() - c0) / repeats


def model_weights(name: str, model: nn.Module) -> Path | dict[str, Tensor]:
    """What to hash for a zoo model's weights: its checkpoint (MobileNetV2's shipped file, the Fashion-MNIST CNN's
    cache entry, which loading checked) or else its state dict."""
    if name == "mobilenet_v2":
        from empirical.models._mobilenet_v2 import _weights_path

        return _weights_path()
    if name == "fashion_cnn":
        from empirical._cache import cache_path
        from empirical.models._fashion_cnn import WEIGHTS_KEY

        return cache_path(WEIGHTS_KEY)
    return model.state_dict()


def bench_model(name: str, rounds: int, run_quick: bool, out_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The row of ``name`` and the weights it used (``{name: model weights, name_detector: E's state dict}``)."""
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
        x = torch.cat([photos, random_crops(photos, 24, seed=CROP_SEED)])
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
    return row, {name: model_weights(name, model), f"{name}_detector": det.state_dict()}


def _provenance(args: argparse.Namespace, weights: dict[str, Any], started: tuple[float, float]) -> dict[str, Any]:
    """The provenance of ``fooling.json``: the command-line settings (those of ``--imagenet`` experiments apart,
    unused here), each model's quick preset, the timing settings; the seeds (E's visualization seeds of each
    preset and its training seed, the random crops' seeds of ImageNet models, the quick runs' visualization seed);
    the data and the sha256 of the weights (``weights``: from :func:`bench_model`)."""
    from empirical.data import PHOTOS
    from empirical.data._fashion import _FILES, FASHION_DIR
    from empirical.fooling import preset

    settings = vars(args)
    presets = {m: preset(m, quick=True) for m in args.models}
    config = {k: v for k, v in settings.items() if k not in IMAGENET_ONLY}
    config["imagenet_settings_unused"] = {k: settings[k] for k in IMAGENET_ONLY}
    config.update(presets=presets, timing=TIMING)
    seeds = {s for p in presets.values() for s in (*p.detector.seeds, p.detector.seed)}
    sources, files = [], []
    if "fashion_cnn" in args.models:
        sources.append(f"Fashion-MNIST train and test splits ({FASHION_DIR})")
        files = [FASHION_DIR / f for split in ("train", "test") for f in _FILES[split]]
    if any(m != "fashion_cnn" for m in args.models):
        sources.append(f"bundled photos ({', '.join(PHOTOS)}) and random crops of them")
        seeds |= {CROP_SEED, CALIBRATION_SEED}
        config.update(crop_seed=CROP_SEED, calibration_crop_seed=CALIBRATION_SEED)
    if not args.skip_runs:
        seeds.add(QUICK_RUN_SEED)
        config["quick_run_seed"] = QUICK_RUN_SEED
    source = "; ".join(sources) + "; E's training data generated by its preset (see presets)"
    return provenance(config, sorted(seeds), source, files or None, weights, started, device="cpu")


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line settings."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--imagenet", choices=IMAGENET_EXPERIMENTS, default=None, help="run one ImageNet experiment")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9], help="visualization seeds (--imagenet)")
    ap.add_argument("--unit-seed", type=int, default=2026, help="seed drawing the units (--imagenet)")
    ap.add_argument("--n-units", type=int, default=4, help="units drawn (--imagenet)")
    ap.add_argument(
        "--detector-rule",
        choices=("max_margin", "quantile"),
        default=None,
        help="E's threshold rule for --imagenet circuit runs (default: the preset's)",
    )
    ap.add_argument("--models", nargs="+", default=["fashion_cnn", "mobilenet_v2"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-runs", action="store_true", help="skip the full --quick runs")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_fooling"), help="folder of the runs")
    ap.add_argument("--result-file", type=Path, default=RESULTS, help="result file (default benchmarks/results/)")
    return ap.parse_args(argv)


def main() -> None:
    started = start_clock()
    args = parse_args()
    if args.imagenet is not None:
        rule = args.detector_rule
        print(imagenet_experiment(args.imagenet, args.seeds, args.unit_seed, args.n_units, args.out, rule))
        return
    load_start = round(os.getloadavg()[0], 2)
    rows, weights = [], {}
    for m in args.models:
        row, used = bench_model(m, args.rounds, not args.skip_runs, args.out)
        rows.append(row)
        weights.update(used)
    if args.skip_runs and args.result_file.exists():
        previous = {r["model"]: r for r in json.loads(args.result_file.read_text()).get("rows", [])}
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
        "provenance": _provenance(args, weights, started),
    }  # fmt: skip
    args.result_file.parent.mkdir(parents=True, exist_ok=True)
    args.result_file.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
