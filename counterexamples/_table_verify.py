"""Every certificate of a class report, checked by the independent verifiers (``counterexamples.verify``).

``verify_report`` is what ``fvtrust check`` runs on a ``check_class`` report; ``verify_table_report`` is the
stricter verifier of ``theory.table.build_table`` (every question must carry a certificate that verifies), and
``verified_table`` is the table built with it (``fvtrust table``). A certificate that fails raises
``theory.table.CertificateError`` naming the failed checks: its verdict is never printed.
"""

from __future__ import annotations

from typing import Any

from counterexamples import verify
from counterexamples.verify import Report
from theory import QUESTIONS, ClassReport
from theory.table import PAPER_ROWS, CertificateError, Row, TableRow, Verification, build_table

#: A member of an intersection class is a member of each part: its counterexamples are verified against each
#: part, and region claims against the Lipschitz superclass (a claim for every L-Lipschitz function holds for
#: every member of a subclass).
INTERSECTIONS = {"convex_lipschitz": ("convex", "lipschitz"), "monotone_lipschitz": ("monotonic", "lipschitz")}


def _as(cert: dict[str, Any], cls: str) -> dict[str, Any]:
    """The same certificate, read as a claim about the class ``cls`` (with that class's parameters)."""
    params = dict(cert["params"])
    if cls != "lipschitz":
        params = {"d": params["d"]}
    return {**cert, "class": cls, "params": params}


def _counterexample_reports(cert: dict[str, Any], label: str) -> list[tuple[str, Report]]:
    parts = INTERSECTIONS.get(cert["class"])
    if parts is None:
        return [(label, verify.verify_counterexample(cert))]
    return [(f"{label} as {part}", verify.verify_counterexample(_as(cert, part))) for part in parts]


def _verify_answer(question: str, cert: dict[str, Any]) -> list[dict[str, Any]]:
    kind = cert.get("type")
    if kind == "counterexample":
        reports = _counterexample_reports(cert, "counterexample")
    elif kind == "proof":
        reports = [("proof", verify.verify_yes_proof(cert))]
    elif kind == "threshold":
        if cert["below"].get("type") != "region":
            raise CertificateError(f"{cert['above']['class']} / {question}: the claim below L* has no proof object")
        reports = [("threshold", verify.verify_certificate(cert))]
    elif kind in ("bound", "condition"):
        reports = [(kind, verify.verify_certificate(cert))]
    else:
        raise CertificateError(f"{question}: certificate of unknown type {kind!r} cannot be verified")
    out = []
    for name, rep in reports:
        if not rep.ok:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in rep.checks if not c.ok)
            who = cert.get("class") or cert.get("above", {}).get("class")
            raise CertificateError(f"{who} / {question}: {name} certificate failed: {failed}")
        out.append({"certificate": name, "checks": [c.name for c in rep.checks]})
    return out


def verify_report(report: ClassReport) -> Verification:
    """Verify every class-level certificate of a ``check_class`` report independently (``counterexamples.verify``);
    raise :class:`theory.table.CertificateError` naming the failed checks. Instance answers (no ``type``) and
    ``open`` answers carry no certificate and are skipped."""
    out = {}
    for q, ans in report.answers.items():
        cert = ans.certificate
        if ans.verdict == "open" or not isinstance(cert, dict) or "type" not in cert:
            continue
        out[q] = _verify_answer(q, cert)
    return out


def verify_table_report(report: ClassReport) -> Verification:
    """The table's verifier: the certificate of every question (in the order of ``QUESTIONS``) is verified, and
    one without a known ``type`` is an error, never skipped; raise :class:`theory.table.CertificateError`."""
    return {q: _verify_answer(q, report.answers[q].certificate) for q in QUESTIONS}


def verified_table(rows: tuple[Row, ...] = PAPER_ROWS, *, progress: bool = False) -> list[TableRow]:
    """``theory.table.build_table`` with every certificate verified (``verify_table_report``)."""
    return build_table(verifier=verify_table_report, rows=rows, progress=progress)
