"""The theory table: rows, ``build_table``, the four formats and the comparison with the paper's table.

>>> from theory.table import PAPER_ROWS, build_table, to_markdown
>>> rows = build_table(rows=PAPER_ROWS[-1:])  # without a verifier: see counterexamples.verified_table
>>> print(to_markdown(rows), end="")
| class | exactly? | ε-approximately? | closer to min or max? |
|---|---|---|---|
| constant | yes | yes | yes |
"""

from theory._table import (
    COLUMN_LABELS,
    EXTENDED_ROWS,
    FORMATS,
    PAPER_ROWS,
    CertificateError,
    Row,
    TableRow,
    Verification,
    Verifier,
    build_table,
    compare_with_paper,
    format_comparison,
    paper_table,
    to_csv,
    to_json,
    to_latex,
    to_markdown,
    write_all,
)

__all__ = [
    "COLUMN_LABELS",
    "EXTENDED_ROWS",
    "FORMATS",
    "PAPER_ROWS",
    "CertificateError",
    "Row",
    "TableRow",
    "Verification",
    "Verifier",
    "build_table",
    "compare_with_paper",
    "format_comparison",
    "paper_table",
    "to_csv",
    "to_json",
    "to_latex",
    "to_markdown",
    "write_all",
]
