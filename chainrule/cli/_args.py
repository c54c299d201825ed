"""Argument types shared by the subcommands, and the parser that fails in one line.

A bad value must end as ``chainrule: error: ...`` on one line of stderr with exit status
2, never a traceback, so every type here raises :class:`argparse.ArgumentTypeError`, which
argparse turns into a call to :meth:`CliParser.error`.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeAlias

PROG = "chainrule"


def report(message: str) -> int:
    """Print ``chainrule: error: <message>`` as one line on stderr; return the status, 2."""
    # Messages may carry newlines (e.g. from a library error): a user error is one line.
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"{PROG}: error: {one_line}\n")
    return 2


def fail(message: str) -> NoReturn:
    """:func:`report` the message and exit with status 2 (argparse's way out)."""
    raise SystemExit(report(message))


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (argparse prints usage first)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see '{self.prog} --help')")


#: What ``CliParser.add_subparsers`` returns, and each subcommand's ``register`` takes
#: (a string: ``_SubParsersAction`` cannot be subscripted at run time).
Subparsers: TypeAlias = "argparse._SubParsersAction[CliParser]"


def one_of(what: str, choices: Sequence[str]) -> Callable[[str], str]:
    """An argument type accepting one of ``choices``; anything else is refused in the
    user's words, with the closest choice suggested (argparse's own message says
    "invalid choice" and names the argument by its internal name)."""

    def parse(text: str) -> str:
        if text in choices:
            return text
        close = difflib.get_close_matches(text, choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise argparse.ArgumentTypeError(
            f"unknown {what} {text!r}{hint} (choose from {', '.join(choices)})"
        )

    parse.__name__ = what
    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text: str) -> float:
    """A finite float > 0 (learning rates)."""
    value = _number(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share in [0, 1) (a validation split)."""
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1) like 0.2, got {text!r}")
    return value


def _whole_number(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {lowest}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (epochs, batch sizes, print intervals)."""
    return _whole_number(text, 1)


def nonnegative_int(text: str) -> int:
    """An integer >= 0 (seeds)."""
    return _whole_number(text, 0)
