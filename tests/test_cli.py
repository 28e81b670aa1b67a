"""The command-line dispatcher: version, exit statuses, one-line errors, bugs that surface, broken pipes."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import fvtrust
from fvtrust import cli
from fvtrust.errors import USER_ERRORS, InputError, UsageError, one_line


def _with_command(monkeypatch: pytest.MonkeyPatch, func: object) -> None:
    """Register a throwaway sub-command ``probe`` that runs ``func``."""
    build = cli.build_parser

    def build_parser() -> argparse.ArgumentParser:
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.add_parser("probe").set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"fvtrust {fvtrust.__version__}"


def test_version_matches_the_installed_metadata() -> None:
    from importlib.metadata import version

    assert version("fvtrust") == fvtrust.__version__


@pytest.mark.parametrize(
    "error",
    [
        ValueError("--x must be >= 1, got 0"),
        InputError("file 'a.json' is not JSON"),
        UsageError("--unit 'x' is not LAYER:INDEX"),
        FileNotFoundError("no such file 'b'"),
        PermissionError("'c' is read-only"),
        NotADirectoryError("'d/e': 'd' is a file"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bad_input_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    def func(args: argparse.Namespace) -> int:
        raise error

    _with_command(monkeypatch, func)
    monkeypatch.delenv("FVTRUST_DEBUG", raising=False)
    assert cli.main(["probe"]) == 2
    err = capsys.readouterr().err
    assert err == f"fvtrust probe: error: {one_line(error)}\n"
    assert isinstance(error, USER_ERRORS)


@pytest.mark.parametrize("error", [KeyError("k"), IndexError("list index out of range"), RuntimeError("bug")])
def test_bugs_surface_with_their_traceback(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def func(args: argparse.Namespace) -> int:
        raise error

    _with_command(monkeypatch, func)
    with pytest.raises(type(error)):
        cli.main(["probe"])


def test_debug_shows_the_traceback_of_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def func(args: argparse.Namespace) -> int:
        raise ValueError("bad")

    _with_command(monkeypatch, func)
    monkeypatch.setenv("FVTRUST_DEBUG", "1")
    with pytest.raises(ValueError, match="bad"):
        cli.main(["probe"])


def test_one_line_collapses_whitespace() -> None:
    assert one_line(ValueError("a\n  b\tc ")) == "a b c"
    assert one_line(ValueError()) == "ValueError"


def test_no_command_prints_help_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_option_is_one_line_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--no-such-option"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


_PIPE = """
import sys
from fvtrust import cli
import argparse

def func(args):
    for i in range(200000):
        print("line", i)
    return 0

build = cli.build_parser
def build_parser():
    parser = build()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.add_parser("probe").set_defaults(func=func)
    return parser
cli.build_parser = build_parser
sys.exit(cli.main(["probe"]))
"""


def test_broken_pipe_exits_quietly() -> None:
    """``fvtrust ... | head -1``: no BrokenPipeError traceback, no 'Exception ignored' message."""
    proc = subprocess.Popen([sys.executable, "-c", _PIPE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "line 0\n"
    proc.stdout.close()  # the reader goes away, as `head -1` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert err == ""
