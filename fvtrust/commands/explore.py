"""``fvtrust explore CLASS``: decidability maps, certified shares and observation budgets, as plots + report."""

from __future__ import annotations

import argparse
from pathlib import Path

from fvtrust.errors import check_output_dir, path_arg


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("explore", help="plots and a Markdown report of how much a visualization reveals for a class")
    p.add_argument("cls", metavar="CLASS", help="function class, e.g. lipschitz, convex, monotone_lipschitz")
    p.add_argument("--L", type=float, default=None, help="Lipschitz constant (classes with L)")
    p.add_argument("--norm", default=None, help="norm 1, 2 or inf (classes with L)")
    p.add_argument("--eps", type=float, default=0.1, help="eps relative to Delta (default 0.1)")
    p.add_argument("--out", type=path_arg, default=Path("explore_out"), help="output folder (default explore_out/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theory import explore, get_class

    params = {k: v for k, v in (("L", args.L), ("norm", args.norm)) if v is not None}
    get_class(args.cls, **params)  # validate the class and its parameters before any work
    if not 0 < args.eps < 0.5:
        raise ValueError(f"--eps {args.eps} is not allowed; eps is relative to Delta and must lie in (0, 1/2)")
    check_output_dir(args.out, "--out")  # before any work: a folder that exists or can be created, writable
    rep = explore(args.cls, args.out, eps=args.eps, **params)
    print((args.out / "report.md").read_text())
    print(f"wrote {', '.join(str(args.out / f) for f in rep['figures'])} and {args.out / 'report.md'}")
    return 0
