"""``chainrule``: the command line's entry point.

``main(argv)`` parses the arguments, runs the chosen subcommand's handler and returns its
exit status. User errors (a bad flag or value, a missing file, an unknown dataset) end as
one line ``chainrule: error: ...`` on stderr with status 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import metadata

from chainrule.cli import gradcheck, linreg, plot, train
from chainrule.cli._args import PROG, CliParser, fail, report

# The order of ``chainrule --help``: the textbook's example first, then the tools.
_COMMANDS = (linreg, train, plot, gradcheck)


def _version() -> str:
    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def build_parser() -> CliParser:
    """The parser with every subcommand registered."""
    parser = CliParser(
        prog=PROG,
        description="Deep learning built up from calculus: run the textbook's examples, "
        "train models on real data, draw the calculus, check every derivative.",
        epilog="Run 'chainrule COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # point at the subcommand's help, which lists the flags it takes
            fail(f"unrecognized arguments: {' '.join(extra)} "
                 f"(see '{PROG} {args.command} --help')")
        return int(args.handler(args))
    except SystemExit as exc:  # argparse's --help/--version (0) and our one-line errors (2)
        return _exit_status(exc)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except (ValueError, OSError, ImportError) as exc:
        # The handlers check their inputs and raise builtin errors with clear messages;
        # these are the user's mistakes (an unknown dataset, a missing file, an optional
        # dependency not installed, whose message says how to install it), not bugs.
        return report(str(exc) or type(exc).__name__)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 2


def _quiet_broken_pipe() -> int:
    """``chainrule linreg | head`` closes our stdout early: stop quietly, like ``cat``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1
