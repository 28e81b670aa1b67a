"""The ``fvtrust`` command line.

Each sub-command lives in its own module under :mod:`fvtrust.commands` and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the parsed
arguments and returning an exit status. Bad input (``ValueError``, ``FileNotFoundError``, ``KeyError``
raised with a readable message) ends the program with exit status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

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


class UsageError(ValueError):
    """A command-line argument that cannot be used; the message names it and what is allowed."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one readable line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fvtrust",
        description="How much does a feature visualization tell us about a neural network?",
    )
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


def _one_line(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        status = args.func(args)
    except (ValueError, FileNotFoundError, KeyError, IndexError) as err:
        print(f"fvtrust {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fvtrust {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
