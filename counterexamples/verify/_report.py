"""Verification reports: named checks, each passed or failed with a detail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class VerificationError(AssertionError):
    """A certificate did not pass its verification; the message names every failed check."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    """The outcome of verifying one certificate: ``ok`` iff every check passed."""

    subject: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    def extend(self, other: Report, prefix: str = "") -> None:
        self.checks.extend(Check(prefix + c.name, c.ok, c.detail) for c in other.checks)

    def raise_if_failed(self) -> None:
        if not self.ok:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok) or "no checks ran"
            raise VerificationError(f"{self.subject}: {failed}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }
