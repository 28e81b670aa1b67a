"""``python3 -m empirical.paths DOC RESULT.json ... [--check]``: regenerate the results section of ``DOC``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from empirical.paths._report import update_doc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m empirical.paths", description=__doc__)
    p.add_argument("doc", type=Path)
    p.add_argument("results", type=Path, nargs="+")
    p.add_argument("--check", action="store_true", help="exit 1 if the page disagrees with the results")
    p.add_argument("--root", type=Path, default=Path.cwd(), help="name result files relative to this folder")
    args = p.parse_args(argv)
    try:
        changed = update_doc(args.doc, args.results, check=args.check, root=args.root)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check and changed:
        print(f"{args.doc} disagrees with {', '.join(map(str, args.results))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
