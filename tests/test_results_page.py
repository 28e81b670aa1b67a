"""docs/results.md is exactly what benchmarks/make_results_page.py makes of the committed result files, and every
number it prints is found in the result file its section cites."""

from __future__ import annotations

import bisect
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "results.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_results_page", ROOT / "benchmarks" / "make_results_page.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- numbers of a page and of a result file (independent of the generator's formatting code) ------------------

# a number standing alone: not part of a word, a version (2.13.0), a layer name (features.7) or "top-1"
NUMBER = re.compile(
    r"(?<![\w.\-+^/])(?<!\w\^)"
    r"(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?:e(?P<exp>[-+]?\d+))?)"
    r"(?P<pct>%)?(?![\w]|\.\d)"
)
LOOSE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
CITED = re.compile(r"`benchmarks/results/([\w.\-]+\.json)`")
COMMIT = re.compile(r"commit `([0-9a-f]{7,40})`")


def numbers_in(value: Any) -> list[float]:
    """Every number a result file holds: values, lengths of lists and objects, numbers inside strings and keys."""
    out: list[float] = []
    if isinstance(value, bool) or value is None:
        return out
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, str):
        return [float(m) for m in LOOSE.findall(value)]
    if isinstance(value, dict):
        out.append(float(len(value)))
        for k, v in value.items():
            out += numbers_in(k) + numbers_in(v)
    elif isinstance(value, list):
        out.append(float(len(value)))
        for v in value:
            out += numbers_in(v)
    return out


def printed_numbers(text: str) -> list[tuple[str, float, float, bool]]:
    """``(token, value, tolerance, is_percent)`` for every number printed in ``text`` outside code spans, HTML
    comments and link targets."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    out = []
    for m in NUMBER.finditer(text):
        tok = m.group("num")
        value = float(tok.replace(",", ""))
        exp = int(m.group("exp") or 0)
        tol = 0.5 * 10.0 ** (exp - len(m.group("frac") or "")) + 1e-9 * max(1.0, abs(value))
        out.append((m.group(0), value, tol, bool(m.group("pct"))))
    return out


def _found(values: list[float], value: float, tol: float) -> bool:
    i = bisect.bisect_left(values, value - tol)
    return i < len(values) and values[i] <= value + tol


def sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` for each part of the page between headings."""
    parts: list[tuple[str, list[str]]] = [("(top)", [])]
    for line in text.splitlines():
        if line.startswith("#"):
            parts.append((line, [line]))
        else:
            parts[-1][1].append(line)
    return [(h, "\n".join(b)) for h, b in parts]


def unfound_numbers(text: str, results: dict[str, Any]) -> list[str]:
    """Problems: numbers of a section not found in the files it cites, sections with numbers and no cited file,
    cited files that do not exist, commits that are not the cited files' commits."""
    problems = []
    for heading, body in sections(text):
        cited = CITED.findall(body)
        printed = printed_numbers(body)
        missing = [c for c in cited if c not in results]
        problems += [f"{heading}: cites {c}, which is not in benchmarks/results" for c in missing]
        if printed and not cited:
            problems.append(f"{heading}: prints {[p[0] for p in printed][:5]} but cites no result file")
            continue
        values = sorted(v for c in cited if c in results for v in numbers_in(results[c]))
        for tok, value, tol, is_pct in printed:
            ok = _found(values, value, tol) or (is_pct and _found(values, value / 100, tol / 100))
            if not ok:
                problems.append(f"{heading}: {tok} is in none of {list(dict.fromkeys(cited))}")
        commits = [str((results.get(c, {}).get("provenance") or {}).get("commit") or "") for c in cited]
        for short in COMMIT.findall(body):
            if not any(c.startswith(short) for c in commits):
                problems.append(f"{heading}: commit {short} is not the commit of any of {cited}")
    return problems


# --- tests ---------------------------------------------------------------------------------------------------


def _results() -> dict[str, Any]:
    return {f.name: json.loads(f.read_text()) for f in sorted(RESULTS.glob("*.json"))}


def test_committed_page_is_the_generators_output() -> None:
    gen = _generator()
    assert PAGE.read_text() == gen.build_page(gen.load_results(RESULTS)), (
        "docs/results.md is out of date: run python3 benchmarks/make_results_page.py"
    )
    assert gen.main(["--check"]) == 0


def test_every_printed_number_is_in_the_cited_result_file() -> None:
    text = PAGE.read_text()
    assert printed_numbers(text), "the number extractor found no numbers on the page"
    problems = unfound_numbers(text, _results())
    assert not problems, "\n".join(problems[:30])


def test_every_result_file_is_on_the_page() -> None:
    text = PAGE.read_text()
    for f in RESULTS.glob("*.json"):
        assert f"`benchmarks/results/{f.name}`" in text, f"{f.name} is not named on docs/results.md"


def test_every_fooling_section_states_commit_seeds_and_data() -> None:
    """Each ImageNet fooling result is cited with the commit, seeds and data its provenance records."""
    results = _results()
    text = PAGE.read_text()
    for name, r in results.items():
        if not name.startswith("fooling_imagenet_"):
            continue
        prov = r["provenance"]
        line = next(ln for ln in text.splitlines() if ln.startswith(f"- Source `benchmarks/results/{name}`"))
        assert f"commit `{prov['commit'].removesuffix('+dirty')[:12]}`" in line
        assert "visualization seeds " + ", ".join(map(str, prov["seeds"])) in line
        assert f"`{prov['data']['source']}`" in line
        for sha in prov["weights_sha256"].values():
            assert f"`{sha[:16]}`" in line


def test_paper_recipe_is_reported_beside_the_project_recipe() -> None:
    results = _results()
    if not {"fooling_imagenet_silent.json", "fooling_imagenet_silent_paper.json"} <= set(results):
        pytest.skip("no pair of silent-unit results")
    text = PAGE.read_text()
    assert "this project's recipe against the paper's" in text
    for name in ("fooling_imagenet_silent.json", "fooling_imagenet_silent_paper.json"):
        n = results[name]["units_closer_to_target"]
        assert f"**{n} of {len(results[name]['per_unit'])}**" in text


def test_checker_catches_a_number_that_is_in_no_file() -> None:
    results = {"a.json": {"x": 0.8006, "n": 1500, "provenance": {"commit": "abcdef1234567"}}}
    ok = "## A\n\nSource `benchmarks/results/a.json`, commit `abcdef123456`: 80.06% of 1,500, x 0.801.\n"
    assert unfound_numbers(ok, results) == []
    assert unfound_numbers(ok.replace("80.06%", "80.16%"), results)
    assert unfound_numbers(ok.replace("1,500", "1,750"), results)  # a sum is not in the file
    assert unfound_numbers(ok.replace("abcdef123456", "123456abcdef"), results)
    assert unfound_numbers(ok.replace("`benchmarks/results/a.json`", "a.json"), results)
    assert unfound_numbers(ok.replace("a.json", "b.json"), results)
    # versions, layer names and "top-1" are not numbers; a number in a code span is not checked
    assert unfound_numbers("## B\n\ntop-1 at features.17, torch 2.13.0+cpu, `42`\n", {}) == []


def test_check_flags_a_stale_page_and_writing_fixes_it(tmp_path: Path) -> None:
    gen = _generator()
    folder = tmp_path / "results"
    folder.mkdir()
    bare = json.loads((RESULTS / "fashion_train.json").read_text())
    prov = bare.pop("provenance")  # a file written before provenance records: the page must say so
    (folder / "fashion_train.json").write_text(json.dumps(bare))
    out = tmp_path / "page.md"
    out.write_text("stale\n")
    assert gen.main(["--check", "--results", str(folder), "--out", str(out)]) == 1
    assert out.read_text() == "stale\n"
    assert gen.main(["--results", str(folder), "--out", str(out)]) == 0
    assert gen.main(["--check", "--results", str(folder), "--out", str(out)]) == 0
    page = out.read_text()
    assert "`benchmarks/results/fashion_train.json`" in page and "No provenance record" in page
    (folder / "fashion_train.json").write_text(json.dumps({**bare, "provenance": prov}))
    assert gen.main(["--results", str(folder), "--out", str(out)]) == 0
    page = out.read_text()
    assert "No provenance record" not in page and f"Measured at commit `{prov['commit'][:12]}`" in page
    (folder / "broken.json").write_text("{")
    assert gen.main(["--check", "--results", str(folder), "--out", str(out)]) == 2
