"""The regenerated theory table: formats, comparison with the paper, verification of every certificate."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from counterexamples import counterexample_certificates, verified_table
from fvtrust.cli import main
from theory import check_class
from theory import table as T


@pytest.fixture(scope="module")
def verified_rows():
    return verified_table()


def test_every_cell_agrees_with_the_paper(verified_rows):
    cmp = T.compare_with_paper(verified_rows)
    assert len(cmp) == 30
    assert all(c["agree"] for c in cmp), [c for c in cmp if not c["agree"]]


def test_every_certificate_was_verified(verified_rows):
    for row in verified_rows:
        assert set(row.verification) == {"exact", "approx", "min_or_max"}
        for checks in row.verification.values():
            assert checks and all(c["checks"] for c in checks)


def test_exported_witnesses_are_the_counterexamples_of_the_rows(verified_rows):
    certs = counterexample_certificates(r.report for r in verified_rows)
    answers = [a.certificate for r in verified_rows for a in r.report.answers.values()]
    expected = [c for c in answers if c["type"] == "counterexample"]
    expected += [c["above"] for c in answers if c["type"] == "threshold"]
    assert certs and all(c["type"] == "counterexample" for c in certs)
    assert sorted(map(id, certs)) == sorted(map(id, expected))


def test_json_rows_have_the_documented_keys(verified_rows):
    data = json.loads(T.to_json(verified_rows))
    assert [r["class"] for r in data] == [c for c, _, _ in T.PAPER_ROWS]
    for r in data:
        assert {"class", "label", "params", "exact", "approx", "min_or_max", "certificates"} <= set(r)
        assert {r[q] for q in ("exact", "approx", "min_or_max")} <= {"yes", "no", "depends"}


def test_formats(verified_rows, tmp_path):
    md = T.to_markdown(verified_rows)
    assert md.count("\n") == len(verified_rows) + 2 and "| constant | yes | yes | yes |" in md
    tex = T.to_latex(verified_rows)
    assert tex.startswith(r"\begin{tabular}") and tex.count(r"\\") == len(verified_rows) + 1
    lines = T.to_csv(verified_rows).splitlines()
    assert lines[0] == "class,label,params,exact,approx,min_or_max" and len(lines) == len(verified_rows) + 1
    paths = T.write_all(verified_rows, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"theory_table.{e}" for e in ("md", "tex", "csv", "json"))
    assert not list(tmp_path.glob("*.tmp"))


def test_a_broken_certificate_is_an_error_never_printed(monkeypatch, capsys, tmp_path):
    real = check_class

    def tampered(name, **params):
        rep = real(name, **params)
        if name == "convex":
            cert = rep.answers["exact"].certificate
            broken = copy.deepcopy(cert)
            broken["values_at_x"] = [broken["values_at_x"][0], "1/3"]  # a claimed value the witness does not take
            object.__setattr__(rep.answers["exact"], "certificate", broken)
        return rep

    monkeypatch.setattr("theory._table.check_class", tampered)  # where build_table looks it up
    status = main(["table", "--out", str(tmp_path / "t"), "--no-compare"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "CERTIFICATE FAILED" in err and "convex" in err
    assert "| convex |" not in out
    assert not (tmp_path / "t").exists()


def test_cli_table_writes_files_and_compares(tmp_path, capsys):
    assert main(["table", "--no-verify", "--format", "csv", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("class,label,params")
    assert "30/30 cells agree" in out
    assert (tmp_path / "theory_table.json").exists()


@pytest.mark.slow
def test_extended_rows_are_verified():
    rows = verified_table(rows=T.EXTENDED_ROWS)
    assert [r.cls for r in rows][:2] == ["convex_lipschitz", "monotone_lipschitz"]
    for r in rows[:2]:  # the intersections (the smooth classes: tests/theory/test_quadratic.py, test_smooth.py)
        assert (r.verdict("exact"), r.verdict("approx"), r.verdict("min_or_max")) == ("no", "no", "depends")
        # membership was checked against each part of the intersection
        names = [c["certificate"] for c in r.verification["exact"]]
        assert any("as lipschitz" in n for n in names) and len(names) == 2


def test_an_open_verdict_is_never_printed(monkeypatch, capsys, tmp_path):
    real = check_class

    def unproven(name, **params):
        rep = real(name, **params)
        if name == "monotonic":
            ans = rep.answers["approx"]
            object.__setattr__(ans, "verdict", "open")
        return rep

    monkeypatch.setattr("theory._table.check_class", unproven)  # where build_table looks it up
    status = main(["table", "--no-verify", "--out", str(tmp_path / "t"), "--no-compare"])
    out, err = capsys.readouterr()
    assert status == 1 and "open" in err and "monotonic" in err
    assert "| monotonic |" not in out and not (tmp_path / "t").exists()


# ---- byte-identical regeneration (issue 25.8) and clean JSON on stdout (issue 23.5) ---------------------------
COMMITTED = Path(__file__).resolve().parents[2] / "paper_tables"


def test_regeneration_is_byte_identical_to_the_committed_tables(tmp_path, capsys):
    assert main(["table", "--extended", "--out", str(tmp_path), "--no-compare"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in COMMITTED.iterdir() if p.name.startswith("theory_table"))
    assert len(names) == 8
    for name in names:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def _stdout_of(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(COMMITTED.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "fvtrust", *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "HiGHS" not in proc.stderr, "the solver's banner reached stderr"
    return proc.stdout


def test_table_json_stdout_is_exactly_one_document(tmp_path):
    out = _stdout_of("table", "--format", "json", "--no-verify", "--extended", "--out", str(tmp_path))
    rows = json.loads(out)  # the HiGHS banner or the comparison would break this
    assert [r["class"] for r in rows][:10] == [c for c, _, _ in T.PAPER_ROWS] and len(rows) == 14


def test_check_json_stdout_is_exactly_one_document():
    out = _stdout_of("check", "convex", "--d", "2", "--json")  # convex runs the HiGHS LP
    assert json.loads(out)["answers"]["exact"]["verdict"] == "no"
    out = _stdout_of(
        "check", "lipschitz", "--L", "1", "--eps", "0.1", "--x-max", "1,1", "--f-max", "1.4142135623730951",
        "--x-min", "0,0", "--f-min", "0", "--x", "0.25,0", "--json",
    )  # fmt: skip
    rep = json.loads(out)
    assert rep["answers"]["approx"]["verdict"] == "yes" and rep["params"]["d"] == 2


def test_an_unwritable_out_is_refused_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["table", "--no-verify", "--out", str(blocker / "sub")]) == 2
    out, err = capsys.readouterr()
    assert "--out" in err and out == ""


@pytest.mark.parametrize(
    "blocked", ["out/theory_table.tex", "out/theory_table_extended.csv", "wit/lipschitz_d2_L1_norm2_exact.json"]
)
def test_nothing_is_written_when_an_output_name_is_taken(tmp_path, capsys, blocked):
    """A folder at one output name stops the command before any file is written (tables and witnesses alike)."""
    (tmp_path / blocked).mkdir(parents=True)
    args = ["table", "--no-verify", "--extended", "--no-compare", "--out", str(tmp_path / "out")]
    status = main([*args, "--export-witnesses", str(tmp_path / "wit")])
    err = capsys.readouterr().err
    assert status == 2 and "exists and is not a file" in err
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == []


def test_a_failed_write_leaves_no_temporary(tmp_path, monkeypatch):
    import os

    calls = []
    chmod = os.chmod

    def full_disk(path, mode):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return chmod(path, mode)

    rows = T.build_table()
    monkeypatch.setattr("theory._table.os.chmod", full_disk)
    with pytest.raises(ValueError, match="No space left on device"):
        T.write_all(rows, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_at_a_temporary_name_is_not_followed(tmp_path):
    """The temporaries are fresh mkstemp names: a symlink planted at the old fixed name (theory_table.md.tmp) is
    neither followed nor replaced."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "theory_table.md.tmp").symlink_to(victim)
    T.write_all(T.build_table(), out)
    assert victim.read_text() == "keep" and (out / "theory_table.md").is_file()
    assert not (out / "theory_table.md").is_symlink()
