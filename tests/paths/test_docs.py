"""docs/paths.md holds exactly the tables generated from the committed result files."""

from __future__ import annotations

from pathlib import Path

import pytest

from empirical.paths import BEGIN, END, update_doc

ROOT = Path(__file__).resolve().parents[2]
RESULTS = sorted((ROOT / "benchmarks" / "results").glob("paths_imagenet_*.json"))


@pytest.mark.skipif(not RESULTS, reason="no paths_imagenet_*.json result files in benchmarks/results")
def test_docs_agree_with_results() -> None:
    doc = ROOT / "docs" / "paths.md"
    assert not update_doc(doc, RESULTS, check=True, root=ROOT), (
        "docs/paths.md disagrees with the results: run python3 -m empirical.paths docs/paths.md "
        "benchmarks/results/paths_imagenet_*.json"
    )
    text = doc.read_text()
    for f in RESULTS:
        assert f.relative_to(ROOT).as_posix() in text


def test_update_doc_rewrites_only_the_section(tmp_path: Path) -> None:
    doc = tmp_path / "d.md"
    doc.write_text(f"before\n{BEGIN}\nstale\n{END}\nafter\n")
    with pytest.raises(ValueError, match="not a fvtrust.paths/2 result"):
        bad = tmp_path / "r.json"
        bad.write_text("{}")
        update_doc(doc, [bad])
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(ValueError, match="no generated section"):
        update_doc(tmp_path / "plain.md", [])
