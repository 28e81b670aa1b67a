"""One process: files, manifest, ``read_sweep`` with checksums, resume after deletion, damage and a kill."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from empirical.sweep import SweepConfig, read_sweep, run_sweep
from fvtrust.cli import main
from tests.sweep._common import N_PAIRS, sweep_args

ROOT = Path(__file__).resolve().parents[2]


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_files_and_manifest(reference: Path) -> None:
    manifest = json.loads((reference / "manifest.json").read_text())
    units = manifest["units"]
    assert [(e["unit"], e["seed"]) for e in units] == [(f"conv3:{u}", s) for u in range(6) for s in (0, 1)]
    assert len(manifest["rendered_this_run"]) == N_PAIRS
    assert manifest["config"]["steps"] == 3 and manifest["config"]["batch"] == 4
    assert manifest["provenance"]["weights_sha256"]
    for e in units:
        record = torch.load(reference / e["file"], weights_only=True)
        assert record["image"].shape == (1, 28, 28) and record["image"].dtype == torch.float32
        assert float(record["image"].min()) >= 0 and float(record["image"].max()) <= 1
        assert f"conv3:{record['unit']}" == e["unit"] and record["seed"] == e["seed"]
        assert math.isfinite(record["objective_final"]) and math.isfinite(record["objective_start"])
    images, entries = read_sweep(reference)
    assert images.shape == (N_PAIRS, 1, 28, 28) and entries == units
    assert not (reference / "journal").exists()
    assert not list(reference.rglob("*.partial"))


def test_read_sweep_names_a_missing_or_damaged_file(reference: Path, tmp_path: Path) -> None:
    sweep = _copy(reference, tmp_path / "s")
    victim = sweep / "pairs" / "conv3_2_s1.pt"
    data = bytearray(victim.read_bytes())
    data[-100] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"conv3_2_s1\.pt: SHA-256 differs"):
        read_sweep(sweep)
    victim.unlink()
    with pytest.raises(ValueError, match=r"conv3_2_s1\.pt: listed in .* but missing"):
        read_sweep(sweep)
    with pytest.raises(ValueError, match="no sweep manifest"):
        read_sweep(tmp_path)


def test_rerun_renders_only_deleted_or_damaged_pairs_and_gives_the_same_bytes(reference: Path, tmp_path: Path) -> None:
    sweep = _copy(reference, tmp_path / "s")
    deleted = ["pairs/conv3_0_s1.pt", "pairs/conv3_5_s0.pt"]
    damaged = "pairs/conv3_3_s0.pt"
    for f in deleted:
        (sweep / f).unlink()
    (sweep / damaged).write_bytes(b"not a tensor")
    stale = sweep / "pairs" / ".conv3_1_s0.pt.abc123.partial"  # left by a killed run
    stale.write_bytes(b"half")
    kept = {p.name: p.stat().st_mtime_ns for p in (sweep / "pairs").glob("*.pt") if p.name not in str(deleted)}
    assert main(sweep_args(Path(json.loads((sweep / "sweep.json").read_text())["weights"]), sweep)) == 0
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert sorted(manifest["rendered_this_run"]) == sorted([*deleted, damaged])
    for name, mtime in kept.items():
        if f"pairs/{name}" != damaged:
            assert (sweep / "pairs" / name).stat().st_mtime_ns == mtime
    for f in [*deleted, damaged]:  # the same batches again: byte-identical files
        assert (sweep / f).read_bytes() == (reference / f).read_bytes()
    assert not stale.exists()
    assert main(sweep_args(Path(manifest["config"]["weights"]), sweep)) == 0
    assert json.loads((sweep / "manifest.json").read_text())["rendered_this_run"] == []


def test_random_units_record_their_seed(weights: Path, tmp_path: Path) -> None:
    cfg = SweepConfig("fashion_cnn", "fc2", "random:3@7", "2", steps=1, out=tmp_path / "r", weights=str(weights))
    manifest = run_sweep(cfg)
    assert manifest["config"]["units_spec"] == "random:3@7" and manifest["config"]["units_random_seed"] == 7
    units = [int(e["unit"].split(":")[1]) for e in manifest["units"]]
    assert len(set(units)) == 3 and all(0 <= u < 10 for u in units)
    assert run_sweep(cfg)["units"] == manifest["units"]


def test_amp_changes_images_only_within_tolerance(reference: Path, weights: Path, tmp_path: Path) -> None:
    """bfloat16 autocast (8-bit mantissa) on the CPU, 3 steps: images within 0.25 of float32 (mean within 0.05).

    Measured on the 2-core development CPU (random-weight Fashion CNN, 3 steps): max 0.12-0.14, mean 0.021;
    the stated tolerance leaves room for other CPUs' kernels. bfloat16 moves single pixels visibly.
    """
    amp = tmp_path / "amp"
    assert main(sweep_args(weights, amp, "--amp")) == 0
    a, _ = read_sweep(reference)
    b, _ = read_sweep(amp)
    diff = (a - b).abs()
    assert float(diff.max()) > 0  # autocast did run in bfloat16
    assert float(diff.max()) < 0.25 and float(diff.mean()) < 0.05


_SLOW_ENTRY = """
import sys, time
import empirical.sweep._run as run
original = run._render_batch
def slow(*a, **k):
    out = original(*a, **k)
    time.sleep(float(sys.argv[1]))
    return out
run._render_batch = slow
from fvtrust.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_killed_sweep_leaves_no_partial_file_and_resumes(reference: Path, weights: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", _SLOW_ENTRY, "3", *sweep_args(weights, sweep)]
    proc = subprocess.Popen(argv, env=env, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((sweep / "pairs").glob("*.pt"))) < 4:
        time.sleep(0.1)
    time.sleep(0.5)  # past the journal line of the batch just written
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) != 0
    written = list((sweep / "pairs").glob("*.pt"))
    assert 4 <= len(written) < N_PAIRS
    assert not list(sweep.rglob("*.partial")) and not (sweep / "manifest.json").exists()
    assert main(sweep_args(weights, sweep)) == 0
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert len(manifest["rendered_this_run"]) == N_PAIRS - len(written)
    for e in manifest["units"]:
        assert (sweep / e["file"]).read_bytes() == (reference / e["file"]).read_bytes()
