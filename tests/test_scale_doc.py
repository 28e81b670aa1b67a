"""docs/scale.md's cost section is the one computed from benchmarks/results/sweep.json (regenerate it with
``python3 benchmarks/bench_sweep.py --write-docs docs/scale.md``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_sweep", ROOT / "benchmarks" / "bench_sweep.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_section_matches_the_committed_measurement() -> None:
    bench = _bench()
    assert bench.docs_up_to_date(ROOT / "docs" / "scale.md"), (
        "docs/scale.md is out of date: python3 benchmarks/bench_sweep.py --write-docs docs/scale.md"
    )


def test_estimates_are_computed_from_the_measurement(tmp_path: Path) -> None:
    bench = _bench()
    result = json.loads(bench.RESULTS.read_text())
    one = next(iter(result["summary"].values()))
    text = bench.render_section(result)
    core_hours = bench.PAPER_VISUALIZATIONS * bench.ESTIMATE_STEPS * one["cpu_s_per_unit_step"] / 3600
    assert f"= {core_hours:,.0f} CPU-core hours" in text and "Estimates, not measurements" in text
    # another measurement gives another section, and --check notices
    doc = tmp_path / "scale.md"
    doc.write_text((ROOT / "docs" / "scale.md").read_text())
    faster = json.loads(json.dumps(result))
    next(iter(faster["summary"].values()))["cpu_s_per_unit_step"] /= 2
    assert not bench.docs_up_to_date(doc, faster)
    assert bench.write_docs(doc, faster) and bench.docs_up_to_date(doc, faster)
    assert f"= {core_hours / 2:,.0f} CPU-core hours" in doc.read_text()
