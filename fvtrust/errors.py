"""The project's own exception types, and which errors the command line reports as bad input.

A command turns bad input into exit status 2 with one line on stderr naming the argument or file and what is
allowed. Library packages (``theory``, ``counterexamples``, ``empirical``) do not import this module: they raise
``ValueError`` (or a subclass such as ``counterexamples.verify.ExpressionError``) for bad input, which the command
line reports the same way. ``KeyError``, ``IndexError`` and every other exception are bugs: they are not caught,
so they surface with their traceback.
"""

from __future__ import annotations

__all__ = ["USER_ERRORS", "FvtrustError", "InputError", "UsageError", "one_line"]


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


def one_line(err: BaseException) -> str:
    """The error's message on one line (whitespace collapsed); the exception's type if it has no message."""
    text = " ".join(str(err).split())
    return text or type(err).__name__
