"""``fvtrust check CLASS``: what a feature visualization reveals about one function class."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from fvtrust.errors import UsageError, check_int

#: Largest input dimension on the command line: d = 100 takes about 10 s and 0.8 GB; memory grows faster than d
#: (d = 1000: 5 GB, d = 10000: > 20 GB), and d = 10**12 would ask numpy for 7 TiB.
MAX_D = 100


def _strict(convert: type[float] | type[int], what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)`` for text as typed, ASCII without '_' separators (which float() and
    int() would drop: '2_0' is a typo, not 20)."""

    def parse(text: str) -> Any:
        try:
            if "_" in text or not text.strip().isascii():
                raise ValueError(text)
            return convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"cannot read the {what} {text!r}") from None

    return parse


_number = _strict(float, "number")
_whole = _strict(int, "whole number")


def _vector(text: str) -> list[float]:
    parts = text.replace(" ", "").split(",")
    try:
        if not text.strip() or not text.isascii() or any(not t or "_" in t for t in parts):  # '1,,1', '1_0': typos
            raise ValueError(text)
        return [float(t) for t in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"cannot read the point {text!r}; write coordinates separated by commas, e.g. 0.5,1"
        ) from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check", help="answer the three questions for one function class (or one instance)")
    p.add_argument("cls", metavar="CLASS", help="function class, e.g. lipschitz, convex, affine")
    p.add_argument("--d", type=_whole, default=None, help=f"input dimension, 1..{MAX_D} (default 1)")
    p.add_argument(
        "--L", type=_number, default=None, help="Lipschitz constant (Lipschitz classes) or of the gradient (smooth)"
    )
    p.add_argument("--norm", default=None, help="norm 1, 2 or inf (the Lipschitz classes)")
    p.add_argument("--eps", type=_number, default=None, help="eps relative to Delta, in (0, 1/2)")
    p.add_argument("--eps-abs", type=_number, default=None, help="eps in units of f instead (> 0); see docs/theory.md")
    p.add_argument("--x-max", type=_vector, help="visualization: argmax point, e.g. 1,1")
    p.add_argument("--f-max", type=_number, help="visualization: maximum value")
    p.add_argument("--x-min", type=_vector, help="visualization: argmin point")
    p.add_argument("--f-min", type=_number, help="visualization: minimum value")
    p.add_argument("--x", type=_vector, help="query point (with the visualization: answer for this instance)")
    p.add_argument("--json", action="store_true", help="print the full report with certificates as JSON")
    p.add_argument(
        "--no-verify", action="store_true",
        help="skip the independent verification of the class certificates (counterexamples.verify); by default a "
        "certificate that fails it stops the command with exit status 1 and nothing is printed",
    )  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theory import FeatureVisualization, check_class
    from theory._lp import silence_highs_banner

    silence_highs_banner()  # HiGHS's banner would precede the JSON document on stdout

    if args.d is not None:
        check_int("--d", args.d, 1, MAX_D)
    for flag, point in (("--x-max", args.x_max), ("--x-min", args.x_min), ("--x", args.x)):
        if point is not None and not 1 <= len(point) <= MAX_D:
            raise UsageError(f"{flag} must have 1..{MAX_D} coordinates (the input dimension), got {len(point)}")
    params = {k: v for k, v in (("d", args.d), ("L", args.L), ("norm", args.norm)) if v is not None}
    fv_parts = (args.x_max, args.f_max, args.x_min, args.f_min)
    fv = None
    if any(v is not None for v in fv_parts) or args.x is not None:
        if any(v is None for v in fv_parts) or args.x is None:
            raise ValueError("an instance needs all of --x-max, --f-max, --x-min, --f-min and --x")
        fv = FeatureVisualization(*fv_parts)
        params.setdefault("d", fv.d)
    report = check_class(
        args.cls, fv=fv, x=None if fv is None else np.asarray(args.x), eps=args.eps, eps_abs=args.eps_abs, **params
    )
    if not args.no_verify:
        from counterexamples import verify_report
        from theory.table import CertificateError

        try:
            verify_report(report)
        except CertificateError as err:  # nothing of the report is printed
            undecided = "returned unknown" in str(err)  # a solver gave up (timeout): not shown wrong, not shown right
            head = "CERTIFICATE NOT VERIFIED (a solver gave up)" if undecided else "CERTIFICATE FAILED"
            hint = (
                "; --no-verify prints the engine's answer without this check"
                if undecided
                else "; the answer is not printed (--no-verify would print it unchecked)"
            )
            print(f"fvtrust check: {head}: {err}{hint}", file=sys.stderr)
            return 1
    print(json.dumps(report.to_dict(), indent=1) if args.json else report)
    return 0
