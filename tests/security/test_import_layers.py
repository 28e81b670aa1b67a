"""``import counterexamples.verify`` loads neither torch nor the generators it checks (issue 25.1); the verify
modules form no import cycle (``_bab``/``_relu``/``_exact_int``)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(stmt: str) -> set[str]:
    code = f"import sys, json\n{stmt}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_verify_loads_neither_torch_nor_the_generators():
    mods = _modules_after("import counterexamples.verify")
    assert "counterexamples.verify" in mods
    assert "torch" not in mods
    assert not {m for m in mods if m.startswith("counterexamples.") and not m.startswith("counterexamples.verify")}


def test_the_package_is_lazy_but_complete():
    mods = _modules_after("import counterexamples")
    assert "torch" not in mods and "counterexamples._generators" not in mods
    mods = _modules_after("from counterexamples import generate, write_witnesses, pieces_of, train_pair")
    assert "counterexamples._generators" in mods


def _imports(path: Path) -> set[str]:
    """Every counterexamples.verify module imported anywhere in the file (also inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("counterexamples.verify."):
            out.add(node.module.rsplit(".", 1)[1])
    return out


def test_no_import_cycle_among_the_verifiers():
    folder = ROOT / "counterexamples" / "verify"
    graph = {p.stem: _imports(p) for p in folder.glob("_*.py")}
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in graph.get(m, ()):
            assert state.get(n) != 1, f"import cycle: {' -> '.join([*stack, m, n])}"
            if n not in state:
                visit(n, [*stack, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    assert "_bab" not in graph["_relu"] and "_relu" in graph["_exact_int"]
