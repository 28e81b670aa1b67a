"""docs/tutorial.ipynb runs from top to bottom (with nbclient, at small sizes) and shows what its text says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def _text(nb: object) -> str:
    out = []
    for cell in nb.cells:  # type: ignore[attr-defined]
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or "".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def test_tutorial_runs_and_says_what_its_text_claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FVTRUST_TUTORIAL_STEPS", "16")
    monkeypatch.setenv("FVTRUST_TUTORIAL_IMAGES", "24")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    client.execute()  # raises CellExecutionError naming the cell if any cell fails (asserts in the notebook too)
    text = _text(nb)
    assert "affine     f(0.3) in [0.300, 0.300]   closer to: min" in text
    assert "lipschitz  f(0.3) in [0.000, 0.600]   closer to: None" in text
    assert "min_or_max  depends" in text
    assert "## Bridge: model unit logits:1" in text and "24/24" in text


def test_notebook_is_stored_without_outputs() -> None:
    """Outputs are computed when the notebook runs, never stored stale in the repository."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
