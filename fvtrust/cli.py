"""The ``fvtrust`` command line.

Each sub-command lives in its own module under :mod:`fvtrust.commands` and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the parsed
arguments and returning an exit status. A command parses, calls one library function and prints.

Exit status: 0 success; 1 a result that failed (e.g. a certificate that did not verify); 2 bad input
(:data:`fvtrust.errors.USER_ERRORS`: one line on stderr naming the argument or file, no traceback; set
``FVTRUST_DEBUG=1`` to see the traceback); 130 interrupted; 141 the reader of stdout went away (e.g. ``| head``),
quietly. Any other exception is a bug and surfaces with its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from fvtrust import __version__
from fvtrust.errors import USER_ERRORS, UsageError, one_line

__all__ = ["COMMAND_MODULES", "UsageError", "build_parser", "main"]

#: Sub-command modules, in the order ``fvtrust --help`` lists them. A module that is missing is skipped
#: only if it is not installed at all (optional parts); any other import error is a bug and is raised.
COMMAND_MODULES = (
    "table",
    "check",
    "models",
    "train",
    "visualize",
    "fool",
    "paths",
    "explore",
    "bridge",
    "evaluate",
    "sweep",
    "cache",
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one readable line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fvtrust",
        description="How much does a feature visualization tell us about a neural network?",
    )
    parser.add_argument("--version", action="version", version=f"fvtrust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"fvtrust.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"fvtrust.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's final flush stays silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fvtrust`` with ``argv`` (default ``sys.argv[1:]``); the exit status (see the module docstring)."""
    try:
        status = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    return status


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        status = args.func(args)
    except USER_ERRORS as err:
        if os.environ.get("FVTRUST_DEBUG"):
            raise
        print(f"fvtrust {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fvtrust {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
