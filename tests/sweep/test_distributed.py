"""Two CPU processes under torchrun (gloo) write the same files as one; a failing rank fails the run cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from empirical.sweep import read_sweep
from fvtrust.cli import main
from tests.sweep._common import N_PAIRS, sweep_args

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

_FAILING_ENTRY = """
import os, sys
import empirical.sweep._run as run
original = run._render_batch
def failing(*a, **k):
    if os.environ.get("RANK") == "1":
        raise RuntimeError("injected failure on rank 1")
    return original(*a, **k)
run._render_batch = failing
from fvtrust.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _torchrun(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([*TORCHRUN, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_two_processes_write_the_same_files_as_one(reference: Path, weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    proc = _torchrun(["-m", "fvtrust", *sweep_args(weights, out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["world_size"] == 2 and len(manifest["rendered_this_run"]) == N_PAIRS
    one, e1 = read_sweep(reference)
    two, e2 = read_sweep(out)
    assert [(e["unit"], e["seed"]) for e in e1] == [(e["unit"], e["seed"]) for e in e2]
    assert torch.allclose(one, two, rtol=0, atol=1e-5), float((one - two).abs().max())


def test_a_failing_rank_fails_the_run_and_leaves_nothing_half_written(
    reference: Path, weights: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fail"
    script = tmp_path / "failing_entry.py"
    script.write_text(_FAILING_ENTRY)
    proc = _torchrun([str(script), *sweep_args(weights, out)], tmp_path)
    assert proc.returncode != 0
    assert "rank 1: RuntimeError: injected failure on rank 1" in proc.stderr
    assert "rerun the same command to resume" in proc.stderr
    assert not (out / "manifest.json").exists()
    assert not list(out.rglob("*.partial"))
    written = sorted((out / "pairs").glob("*.pt"))
    for path in written:  # what rank 0 finished is complete: the same bytes as the reference
        assert path.read_bytes() == (reference / "pairs" / path.name).read_bytes()
    assert main(sweep_args(weights, out)) == 0  # resume on one process
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["rendered_this_run"]) == N_PAIRS - len(written)
    images, _ = read_sweep(out)
    assert torch.equal(images, read_sweep(reference)[0])
