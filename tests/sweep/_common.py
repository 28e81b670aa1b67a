"""Settings shared by the sweep tests."""

from __future__ import annotations

from pathlib import Path

#: Small but real sweep settings: 6 units x 2 seeds of conv3, 3 steps, batches of 4 (3 batches).
BASE = [
    "--model", "fashion_cnn", "--layer", "conv3", "--units", "0-5", "--seeds", "0,1", "--steps", "3", "--batch", "4",
]  # fmt: skip
N_PAIRS = 12


def sweep_args(weights: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", *BASE, "--weights", str(weights), "--out", str(out), "--quiet", *extra]
