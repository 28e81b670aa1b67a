"""The theory table, regenerated from the engine: rows, formats (Markdown, LaTeX, CSV, JSON) and the comparison
with the paper's table.

Each cell is the verdict of ``check_class`` for the row's class. ``build_table`` hands each row's report to a
``verifier`` if one is given (the independent verifiers live in ``counterexamples``, which ``theory`` does not
import: ``counterexamples.verified_table`` is this table with every certificate verified). A cell without a
proof either way ("open") raises :class:`CertificateError`: the table prints answers only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from theory._check import QUESTIONS, ClassReport, check_class

#: One row of the table: (class, parameters of ``check_class``, label).
Row = tuple[str, dict[str, Any], str]
#: What a verifier returns for one report: per question, the certificates checked, each with its checks' names.
Verification = dict[str, list[dict[str, Any]]]
#: Checks every certificate of a class report, raising :class:`CertificateError` if one fails.
Verifier = Callable[[ClassReport], Verification]

#: The rows of the paper's table: (class, parameters, label). d = 2 stands for "d > 1".
PAPER_ROWS: tuple[Row, ...] = (
    ("black_box", {"d": 2}, "black-box"),
    ("neural_network", {"d": 2}, "neural network (NN)"),
    ("erm_network", {"d": 2}, "NN trained with ERM"),
    ("lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "L-Lipschitz (known L)"),
    ("piecewise_affine", {"d": 2}, "piecewise affine"),
    ("monotonic", {"d": 2}, "monotonic"),
    ("convex", {"d": 2}, "convex"),
    ("affine", {"d": 2}, "affine (input dim. > 1)"),
    ("affine", {"d": 1}, "affine (input dim. = 1)"),
    ("constant", {"d": 2}, "constant"),
)
#: Rows beyond the paper (issue 7): intersections of classes, each verified as in the main table.
EXTENDED_ROWS: tuple[Row, ...] = (
    ("convex_lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "convex and L-Lipschitz"),
    ("monotone_lipschitz", {"d": 2, "L": 1.0, "norm": 2}, "monotonic and L-Lipschitz"),
    ("quadratic", {"d": 2}, "quadratic"),
    ("smooth", {"d": 1, "L": 1.0}, "L-smooth (d = 1)"),
)
COLUMN_LABELS = {"exact": "exactly?", "approx": "ε-approximately?", "min_or_max": "closer to min or max?"}


class CertificateError(RuntimeError):
    """A certificate behind a verdict did not pass its independent verification, or a cell has no proof either
    way ("open")."""


@dataclass
class TableRow:
    cls: str
    label: str
    params: dict[str, Any]
    report: ClassReport
    verification: Verification = field(default_factory=dict)

    def verdict(self, question: str) -> str:
        return self.report.answers[question].verdict

    def cell(self, question: str) -> str:
        """Verdict as printed: yes / no, or the computed condition for "depends"."""
        ans = self.report.answers[question]
        if ans.verdict != "depends":
            return ans.verdict
        return ans.certificate.get("short", "depends")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"class": self.cls, "label": self.label, "params": self.report.to_dict()["params"]}
        out.update({q: self.verdict(q) for q in QUESTIONS})
        out["conditions"] = {q: self.cell(q) for q in QUESTIONS if self.verdict(q) == "depends"}
        out["certificates"] = {q: self.report.answers[q].certificate for q in QUESTIONS}
        if self.verification:
            out["verification"] = self.verification
        return out


def build_table(
    *, verifier: Verifier | None = None, rows: tuple[Row, ...] = PAPER_ROWS, progress: bool = False
) -> list[TableRow]:
    """Compute every row with ``check_class``; with a ``verifier`` (e.g. ``counterexamples.verify_table_report``)
    check every certificate of each row independently and keep what was checked in ``TableRow.verification``."""
    out = []
    it: Iterable[Row] = rows
    if progress:
        from tqdm import tqdm

        it = tqdm(rows, desc="theory table", unit="row", leave=False)
    for name, params, label in it:
        report = check_class(name, **params)
        unproven = [q for q in QUESTIONS if report.answers[q].verdict == "open"]
        if unproven:  # the table prints answers only: an unproven cell stops the command, like a failed proof
            raise CertificateError(f"{name} / {', '.join(unproven)}: open (no proof either way): {report}")
        row = TableRow(name, label, params, report)
        if verifier is not None:
            row.verification = verifier(report)
        out.append(row)
    return out


# ---- formats --------------------------------------------------------------------------------------------
def to_markdown(rows: list[TableRow]) -> str:
    head = "| class | " + " | ".join(COLUMN_LABELS[q] for q in QUESTIONS) + " |"
    lines = [head, "|" + "---|" * (len(QUESTIONS) + 1)]
    lines += ["| " + r.label + " | " + " | ".join(r.cell(q) for q in QUESTIONS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _tex_escape(text: str) -> str:
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
        ("ε", r"$\epsilon$"),
        ("Δ", r"$\Delta$"),
        ("||", r"$\|$"),
        ("<", r"$<$"),
    ):
        text = text.replace(a, b)
    return text


def to_latex(rows: list[TableRow]) -> str:
    lines = [
        r"\begin{tabular}{l" + "c" * len(QUESTIONS) + "}",
        r"\toprule",
        "Given a feature visualization of $f$, can we predict $f(x)$ ... & "
        + " & ".join(_tex_escape(COLUMN_LABELS[q]) for q in QUESTIONS)
        + r" \\",
        r"\midrule",
    ]
    for r in rows:
        cells = [_tex_escape(r.cell(q)) for q in QUESTIONS]
        lines.append(_tex_escape(r.label) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[TableRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["class", "label", "params", *QUESTIONS])
    for r in rows:
        w.writerow([r.cls, r.label, json.dumps(r.to_dict()["params"]), *(r.cell(q) for q in QUESTIONS)])
    return buf.getvalue()


def to_json(rows: list[TableRow]) -> str:
    return json.dumps([r.to_dict() for r in rows], indent=1) + "\n"


FORMATS: dict[str, Callable[[list[TableRow]], str]] = {
    "md": to_markdown,
    "tex": to_latex,
    "csv": to_csv,
    "json": to_json,
}


def write_all(
    rows: list[TableRow], directory: Path, stem: str = "theory_table", *, dry_run: bool = False
) -> list[Path]:
    """Write <stem>.{md,tex,csv,json}; files are written to a temporary name first, then renamed, so that
    nothing partial is left behind: every target is checked first (something other than a file at a target name
    is a ``ValueError`` naming it), and a failed write removes the temporaries (an ``OSError`` such as a full
    disk becomes a ``ValueError`` naming the folder). ``dry_run`` stops after the check."""
    targets = [(directory / f"{stem}.{ext}", fmt) for ext, fmt in FORMATS.items()]
    refuse_taken([p for p, _ in targets], "the table")
    if dry_run:
        return [p for p, _ in targets]
    paths: list[tuple[Path, Path]] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, fmt in targets:
            # a fresh unique name (O_CREAT | O_EXCL: never an existing file or symlink), mode as open() would give
            fd, name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
            paths.append((Path(name), path))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(fmt(rows))
            os.chmod(name, FILE_MODE)
        for tmp, path in paths:
            tmp.replace(path)
    except OSError as err:
        for tmp, _ in paths:
            tmp.unlink(missing_ok=True)
        raise ValueError(f"cannot write the table to {directory} ({err.strerror or err})") from None
    return [p for _, p in paths]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: the mode of written files: what open() would give (0666 less the umask), not mkstemp's 0600
FILE_MODE = 0o666 & ~_umask()


def refuse_taken(paths: Iterable[Path], what: str) -> None:
    """Before any work: ``ValueError`` naming the first of ``paths`` that exists and is not a file (a folder, a
    device), where ``what`` could not be written."""
    for path in paths:
        if (path.exists() or path.is_symlink()) and not path.is_file():
            raise ValueError(f"{path} exists and is not a file: {what} cannot be written there")


# ---- comparison with the paper --------------------------------------------------------------------------
def paper_table() -> dict[str, Any]:
    """The paper's table as shipped with the package (``theory/reference/paper_table.json``)."""
    text = resources.files("theory").joinpath("reference/paper_table.json").read_text(encoding="utf-8")
    return json.loads(text)


def _paper_category(cell: str) -> str:
    cell = cell.strip().lower()
    return cell if cell in ("yes", "no") else "depends"


def compare_with_paper(rows: list[TableRow]) -> list[dict[str, Any]]:
    """Cell-by-cell comparison: the paper's phrase, our verdict (and condition), and whether they agree
    ("only for small L" counts as "depends")."""
    ref = paper_table()["rows"]
    if len(ref) != len(rows):
        raise ValueError(f"the paper's table has {len(ref)} rows, the regenerated one {len(rows)}")
    out = []
    for r, p in zip(rows, ref, strict=True):
        if p["class"] != r.cls:
            raise ValueError(f"row order differs from the paper's: {p['class']} vs {r.cls}")
        for q in QUESTIONS:
            out.append(
                {
                    "row": r.label,
                    "question": q,
                    "paper": p[q],
                    "ours": r.cell(q),
                    "agree": _paper_category(p[q]) == r.verdict(q),
                }
            )
    return out


def format_comparison(cmp: list[dict[str, Any]]) -> str:
    agree = sum(c["agree"] for c in cmp)
    lines = [f"Comparison with the paper's table: {agree}/{len(cmp)} cells agree"]
    for c in cmp:
        mark = "=" if c["agree"] else "DIFFERS"
        ours = c["ours"] if len(c["ours"]) < 60 else c["ours"][:57] + "..."
        lines.append(f"  {mark:<7} {c['row']:<26} {c['question']:<11} paper: {c['paper']:<17} ours: {ours}")
    return "\n".join(lines)
