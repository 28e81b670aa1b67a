"""The verifiers print nothing on stdout (issue 23.5): HiGHS's banner, written to fd 1 by its first instance, is
silenced at the source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
from counterexamples.verify import relu_net_extrema
spec = {"kind": "relu_net", "layers": [
    {"W": [["1", "-1"], ["-1", "1"]], "b": ["0", "0"]}, {"W": [["1", "1"]], "b": ["0"]}]}
out = relu_net_extrema(spec, "milp")
assert out["max"] == 1 and out["min"] == 0
"""


def test_milp_writes_nothing_to_stdout():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "", out.stdout
