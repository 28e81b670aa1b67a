"""``fvtrust table``: regenerate the paper's theory table from the engine and its verified certificates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fvtrust.errors import check_output_dir, path_arg

DEFAULT_OUT = Path("paper_tables")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "table", help="regenerate the theory table (Markdown, LaTeX, CSV, JSON) and compare with the paper"
    )
    p.add_argument("--format", choices=("md", "tex", "csv", "json"), default="md", help="what to print (default md)")
    p.add_argument(
        "--out", type=path_arg, default=DEFAULT_OUT, help="folder for the four files (default paper_tables/)"
    )
    p.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check every certificate with the independent verifiers (default on)",
    )
    p.add_argument(
        "--export-witnesses", type=path_arg, metavar="DIR", help="write every counterexample as JSON into DIR"
    )
    p.add_argument(
        "--extended",
        action="store_true",
        help="add the rows beyond the paper (convex/monotonic and L-Lipschitz, quadratic, L-smooth)",
    )
    p.add_argument("--no-compare", action="store_true", help="do not print the comparison with the paper's table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theory._lp import silence_highs_banner
    from theory.table import (
        EXTENDED_ROWS,
        FORMATS,
        CertificateError,
        build_table,
        compare_with_paper,
        format_comparison,
        write_all,
    )

    check_output_dir(args.out, "--out")  # before any work: folders that exist or can be created, writable
    write_all([], args.out, dry_run=True)  # the output names too (a folder at one of them), before the table is built
    if args.extended:
        write_all([], args.out, stem="theory_table_extended", dry_run=True)
    if args.export_witnesses is not None:
        check_output_dir(args.export_witnesses, "--export-witnesses")
    silence_highs_banner()  # before any solver runs (the verifiers' MILPs too): stdout carries only the table
    as_json = args.format == "json"
    human = sys.stderr if as_json else sys.stdout  # with JSON, stdout is exactly one JSON document
    verifier = None
    if args.verify:
        from counterexamples import verify_table_report as verifier
    try:
        rows = build_table(verifier=verifier, progress=sys.stderr.isatty())
        extra = build_table(verifier=verifier, rows=EXTENDED_ROWS) if args.extended else []
    except CertificateError as err:
        print(f"fvtrust table: CERTIFICATE FAILED: {err}", file=sys.stderr)
        return 1
    certs = None
    if args.export_witnesses:  # every output name checked before any file is written
        from counterexamples import counterexample_certificates, write_witnesses

        certs = counterexample_certificates(r.report for r in rows + extra)
        write_witnesses(args.export_witnesses, certs, dry_run=True)
    if as_json:
        print(FORMATS["json"](rows + extra), end="")
    else:
        print(FORMATS[args.format](rows), end="")
    paths = write_all(rows, args.out)
    if extra:
        if not as_json:
            print("\nBeyond the paper:\n" + FORMATS[args.format](extra), end="")
        paths += write_all(rows + extra, args.out, stem="theory_table_extended")
    print(
        f"\nwrote {', '.join(str(p) for p in paths)}"
        + (" (all certificates verified)" if args.verify else " (certificates NOT verified: --no-verify)"),
        file=sys.stderr,
    )
    if args.export_witnesses and certs is not None:
        written = write_witnesses(args.export_witnesses, certs)
        print(f"wrote {len(written)} witness files to {args.export_witnesses}", file=sys.stderr)
    if not args.no_compare:
        print("\n" + format_comparison(compare_with_paper(rows)), file=human)
    return 0
