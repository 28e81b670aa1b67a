"""Layers hold at import time: each layer, imported alone in a fresh interpreter, loads none of the layers above it.

The static contracts are in ``pyproject.toml`` (``lint-imports``); this test checks what Python really loads, which
includes parent packages' ``__init__`` modules that a static import graph does not follow.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import importlib, json, sys
importlib.import_module({module!r})
print(json.dumps(sorted(sys.modules)))
"""

#: (module imported alone, top-level packages or modules it must not load)
LAYERS = [
    pytest.param("theory", ["torch", "counterexamples", "empirical", "fvtrust", "matplotlib"], id="theory"),
    pytest.param("theory.table", ["torch", "counterexamples", "empirical", "fvtrust"], id="theory.table"),
    pytest.param(
        "counterexamples.verify",
        ["torch", "counterexamples._generators", "counterexamples._erm_demo", "empirical", "fvtrust"],
        id="counterexamples.verify",
    ),
    pytest.param("counterexamples", ["empirical", "fvtrust"], id="counterexamples"),
    pytest.param("empirical", ["fvtrust"], id="empirical"),
]


def _loaded(module: str) -> list[str]:
    """``sorted(sys.modules)`` after importing ``module`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _offending(loaded: list[str], forbidden: list[str]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)]


@pytest.mark.parametrize(("module", "forbidden"), LAYERS)
def test_layer_imports_alone(module: str, forbidden: list[str]) -> None:
    loaded = _loaded(module)
    assert module in loaded
    bad = _offending(loaded, forbidden)
    assert not bad, f"importing {module} loads {', '.join(bad[:8])}"


def test_probe_detects_a_forbidden_import() -> None:
    """The probe itself can fail: importing the experiments loads torch."""
    assert _offending(_loaded("empirical.visualize"), ["torch"])


_COMMAND_PROBE = """
import json, sys
from fvtrust.cli import main
status = main({argv!r})
print(json.dumps([status, sorted(sys.modules)]))
"""


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["check", "lipschitz", "--L", "1", "--no-verify"], id="check --no-verify"),
        pytest.param(["--help"], id="--help"),
    ],
)
def test_theory_commands_load_no_torch(argv: list[str]) -> None:
    """The command line registers every command (the experiments' among them) without loading torch, so answering
    a theory question does not pay for it."""
    code = _COMMAND_PROBE.format(argv=argv)
    if argv == ["--help"]:  # argparse exits after printing the help
        code = code.replace("status = main", "try:\n    status = main").replace(
            "\nprint", "\nexcept SystemExit as e:\n    status = e.code\nprint"
        )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    status, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == 0
    assert not _offending(loaded, ["torch"]), "the command line loaded torch"
