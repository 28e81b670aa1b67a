"""The project's own exception types, and which errors the command line reports as bad input.

A command turns bad input into exit status 2 with one line on stderr naming the argument or file and what is
allowed. Library packages (``theory``, ``counterexamples``, ``empirical``) do not import this module: they raise
``ValueError`` (or a subclass such as ``counterexamples.verify.ExpressionError``) for bad input, which the command
line reports the same way. ``KeyError``, ``IndexError`` and every other exception are bugs: they are not caught,
so they surface with their traceback.

The ``check_*`` helpers are the checks commands share (before any work): an output folder or file that can be
created and written (:func:`check_output_dir`, :func:`check_output_file`), an integer in a documented range
(:func:`check_int`). Devices are checked by ``empirical._device.resolve_device``.
"""

from __future__ import annotations

import os
from pathlib import Path

from empirical import _cache as _files  # torch-free file checks shared with the library

__all__ = [
    "USER_ERRORS",
    "FvtrustError",
    "InputError",
    "UsageError",
    "check_int",
    "check_output_dir",
    "check_output_file",
    "one_line",
]


class FvtrustError(Exception):
    """Base of the project's own errors; the command line reports each as one line, exit status 2."""


class InputError(FvtrustError, ValueError):
    """An argument, file or setting that cannot be used; the message names it and what is allowed."""


class UsageError(InputError):
    """A command-line argument that cannot be used (an :class:`InputError` raised by a command module)."""


#: Exceptions that mean "this input cannot be used": exit status 2 and one line, never a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    FvtrustError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    NotADirectoryError,
    IsADirectoryError,
)


def path_arg(text: str) -> Path:
    """An argparse type for a file or folder argument: an empty string (which Path reads as the current folder)
    is refused."""
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a path ('.' for the current folder)")
    return Path(text)


def one_line(err: BaseException) -> str:
    """The error's message on one line (whitespace collapsed); the exception's type if it has no message."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


def check_output_dir(path: str | Path, flag: str = "--out") -> Path:
    """``path`` if it is a writable folder or can be created as one; else :class:`UsageError` naming ``flag``
    (:func:`empirical._cache.check_output_dir`; nothing is left behind)."""
    try:
        return _files.check_output_dir(path, flag)
    except ValueError as err:
        raise UsageError(str(err)) from None


def check_output_file(path: str | Path, flag: str = "--out") -> Path:
    """``path`` if a file can be written there (an existing writable file, or a new file in a folder that exists
    or can be created); else :class:`UsageError` naming ``flag``. Nothing is created."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {str(path)!r} is a folder; give a file name")
    if path.exists():
        parent = path.absolute().parent
        if not os.access(path, os.W_OK) or not os.access(parent, os.W_OK | os.X_OK) or not _files.can_create_in(parent):
            raise UsageError(f"{flag} {str(path)!r} is not writable for this user")
        return path
    try:
        _files.writable_ancestor(path, flag)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return path


def check_int(flag: str, value: object, lo: int, hi: int) -> int:
    """``value`` if it is an int in ``lo..hi``; else :class:`UsageError` naming ``flag`` and the range."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UsageError(f"{flag} must be an integer in {lo}..{hi}, got {value!r}")
    return value
