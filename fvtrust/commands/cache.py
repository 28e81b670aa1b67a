"""``fvtrust cache list | verify | clear``: the cached weights and data sets, their checksums, and removal."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("cache", help="list, verify (sha256) or clear fvtrust's cache entries")
    actions = p.add_subparsers(dest="action", required=True)
    for name, text in (("list", "list the entries"), ("verify", "check every entry against its sha256")):
        a = actions.add_parser(name, help=text)
        a.add_argument("--json", action="store_true", help="print one JSON document")
    actions.add_parser("clear", help="remove fvtrust's own entries (nothing else in the folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from empirical._cache import cache_dir, clear_cache, list_cache, verify_cache

    if args.action == "list":
        rows = list_cache()
        if args.json:
            print(json.dumps({"cache": str(cache_dir()), "entries": rows}, indent=1))
        else:
            print(f"{len(rows)} entries in {cache_dir()}")
            for r in rows:
                print(f"{r['key']}  {r.get('size', '?')} bytes  sha256 {str(r.get('sha256', '?'))[:16]}")
        return 0
    if args.action == "verify":
        rows = verify_cache()
        bad = [r for r in rows if not r["ok"]]
        if args.json:
            print(json.dumps({"cache": str(cache_dir()), "ok": not bad, "entries": rows}, indent=1))
        else:
            for r in rows:
                print(
                    f"{'ok     ' if r['ok'] else 'DAMAGED'}  {r['key']}"
                    + (f"  ({r['problem']})" if r["problem"] else "")
                )
            print(f"{len(rows) - len(bad)} of {len(rows)} entries intact")
        return 1 if bad else 0
    removed = clear_cache()
    print(f"removed {len(removed)} entries from {cache_dir()}")
    return 0
