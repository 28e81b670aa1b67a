"""The README's Python example runs, and what its comments claim is what it computes."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, f"README.md should hold one Python example, found {len(blocks)}"
    return blocks[0]


def test_the_readme_example_runs_and_its_comments_hold() -> None:
    ns: dict[str, object] = {}
    exec(compile(_example(), str(README), "exec"), ns)  # our own README, not user input
    r, report = ns["r"], ns["report"]
    assert (r.lo, r.hi) == (0.0, 1.0)  # type: ignore[attr-defined]
    assert float(r.witness_lo([1, 0])) == r.lo  # type: ignore[attr-defined]
    assert ns["value_range"]("lipschitz", ns["fv"], x=[0.9, 0.9], L=1.0, d=2, norm=2).decision() == "max"  # type: ignore[operator]
    assert report["min_or_max"].verdict == "depends"  # type: ignore[index]
    assert "certificate" in str(report.to_dict()).lower()  # type: ignore[attr-defined]


def test_the_readme_names_every_command() -> None:
    from fvtrust import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    text = README.read_text()
    missing = [name for name in sub.choices if f"fvtrust {name}" not in text]
    assert not missing, f"README.md's command table lacks {missing}"
