"""Command-line inputs that were accepted although they are typos or ambiguous (found by the review of untrusted
inputs): each is refused in one line, exit 2, before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from empirical._cache import write_atomic

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "fvtrust", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ("table", "--no-verify", "--out", ""),
        ("explore", "lipschitz", "--out", ""),
        ("visualize", "--model", "fashion_cnn", "--unit", "conv1:0", "--steps", "2", "--out", ""),
        ("check", "lipschitz", "--x-max", "1,,1", "--x-min", "0,0", "--f-max", "1", "--f-min", "0", "--x", "0,0"),
        ("check", "lipschitz", "--x-max", "1_0", "--x-min", "0", "--f-max", "1", "--f-min", "0", "--x", "0"),
        ("models", "--weights", "w.pth"),
        ("check", "lipschitz", "--L", "2_0"),
        ("check", "lipschitz", "--d", "1_0"),
        ("check", "lipschitz", "--x-max", "\u0661", "--x-min", "0", "--f-max", "1", "--f-min", "0", "--x", "0"),
        ("visualize", "--model", "fashion_cnn", "--unit", "conv1:0", "--unit", "conv1:0", "--steps", "2", "--out", "v"),
    ],
)
def test_typos_are_refused_in_one_line_and_nothing_is_written(tmp_path, args):
    out = _run(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # the current folder is untouched


def test_written_files_are_ordinary_files_not_private(tmp_path):
    path = write_atomic(tmp_path / "r.json", lambda p: p.write_text("{}"))
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_exported_witnesses_are_ordinary_files(tmp_path):
    from counterexamples import counterexample_certificates, write_witnesses
    from theory import check_class

    certs = counterexample_certificates([check_class("lipschitz", d=1, L=1.0)])
    (path, *_) = write_witnesses(tmp_path / "w", certs)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
