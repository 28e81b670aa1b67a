"""``fvtrust check`` verifies the class certificates before printing; a tampered one is exit 1, nothing printed."""

from __future__ import annotations

import json

import pytest

import theory
from fvtrust import cli


def test_check_prints_verified_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "lipschitz", "--L", "2", "--d", "1", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["answers"]["exact"]["verdict"] == "no"


def test_a_tampered_certificate_stops_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = theory.check_class

    def tampered(*args, **kwargs):  # type: ignore[no-untyped-def]
        report = real(*args, **kwargs)
        cert = report.answers["exact"].certificate
        assert cert["type"] == "counterexample"
        # the answers are frozen, their certificates plain dicts: what a tampered engine or file would hand over
        cert["values_at_x"] = [cert["values_at_x"][0], cert["values_at_x"][0]]  # the witnesses no longer differ
        return report

    monkeypatch.setattr(theory, "check_class", tampered)
    status = cli.main(["check", "lipschitz", "--L", "2", "--d", "1"])
    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    assert "CERTIFICATE FAILED" in err and "exact" in err


def test_no_verify_skips_it(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import counterexamples

    def boom(report):  # type: ignore[no-untyped-def]
        raise AssertionError("verification ran")

    monkeypatch.setattr(counterexamples, "verify_report", boom)  # where fvtrust check looks it up
    assert cli.main(["check", "affine", "--d", "1", "--no-verify"]) == 0
    assert "exact" in capsys.readouterr().out


def test_a_solver_that_gives_up_is_not_a_verified_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """z3 'unknown' (a timeout) is neither a pass nor a refutation: exit 1, said as such, with the way around it."""
    import counterexamples
    from theory.table import CertificateError

    def gives_up(report):  # type: ignore[no-untyped-def]
        raise CertificateError("lipschitz / exact: witness 0: global min by z3: z3 returned unknown (timeout)")

    monkeypatch.setattr(counterexamples, "verify_report", gives_up)  # where fvtrust check looks it up
    assert cli.main(["check", "lipschitz", "--L", "1", "--d", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "NOT VERIFIED" in err and "--no-verify" in err
