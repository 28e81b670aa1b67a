"""Formatting for docs/results.md: every number goes through one of these, and the ``Page`` the sections write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

Result = dict[str, Any]


def fx(v: float | None, d: int = 3) -> str:
    """``v`` with ``d`` decimals (``n/a`` for None)."""
    return "n/a" if v is None else f"{v:.{d}f}"


def fs(v: float | None, d: int = 3) -> str:
    """``v`` with a sign and ``d`` decimals."""
    return "n/a" if v is None else f"{v:+.{d}f}"


def pct(v: float | None, d: int = 2) -> str:
    """A fraction as a percentage."""
    return "n/a" if v is None else f"{100 * v:.{d}f}%"


def num(v: int | float | None) -> str:
    """An integer (or a whole float) with thousands separators."""
    return "n/a" if v is None else f"{round(v):,}"


def sci(v: float | None) -> str:
    """A small number in scientific notation (0 stays 0)."""
    if v is None:
        return "n/a"
    return "0" if v == 0 else f"{v:.1e}"


def interval(iv: Sequence[float] | None, fmt: Callable[[float], str] = pct) -> str:
    return "n/a" if iv is None else f"[{fmt(iv[0])}, {fmt(iv[1])}]"


def seeds_text(seeds: Sequence[int] | None) -> str:
    return "none recorded" if not seeds else ", ".join(str(s) for s in seeds)


def rel(name: str) -> str:
    return f"`benchmarks/results/{name}`"


def commit_text(prov: dict[str, Any] | None) -> str:
    """The commit a result was measured at, as recorded."""
    if not prov or not prov.get("commit"):
        return "commit not recorded"
    c = str(prov["commit"])
    dirty = c.endswith("+dirty")
    short = c.removesuffix("+dirty")[:12]
    return f"commit `{short}`" + (" (with uncommitted changes to tracked files: `+dirty`)" if dirty else "")


NO_PROVENANCE = (
    "**No provenance record**: this file predates `empirical._provenance`; it does not record the commit, seeds "
    "or configuration it was measured with, so it cannot be traced to a version of the code. Rerun its benchmark "
    "script to replace it."
)


# ---------------------------------------------------------------------------------------------------------------
# sections: each returns markdown lines and the result files it read


class Page:
    def __init__(self, results: dict[str, Result]) -> None:
        self.results = results
        self.used: set[str] = set()
        self.lines: list[str] = []

    def get(self, name: str) -> Result | None:
        r = self.results.get(name)
        if r is not None:
            self.used.add(name)
        return r

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def provenance_text(r: Result) -> str:
    """Where a benchmark's numbers come from: its provenance record (commit, seeds, threads, wall and CPU time), or
    a warning that the file has none."""
    prov = r.get("provenance")
    if not prov:
        return NO_PROVENANCE
    seeds = prov.get("seeds")
    parts = [commit_text(prov), f"seeds {seeds_text(seeds if isinstance(seeds, list) else [seeds])}"]
    parts.append(f"{prov.get('threads')} thread(s) on {prov.get('device')}")
    parts.append(f"{fx(prov.get('wall_s'), 0)} s wall / {fx(prov.get('cpu_s'), 0)} s CPU for the whole script")
    return "Measured at " + "; ".join(parts) + "."
