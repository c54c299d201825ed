r"""``chainrule gradcheck``: check every op's derivative rule against finite differences.

For each op in the op table (or each ``--op``), every sample's reverse-mode gradient of
:math:`L(x) = \sum_k w_k f(x)_k` is compared with the float64 central difference
:math:`(L(x + h e_i) - L(x - h e_i)) / 2h`; an element passes when
:math:`|a - n| \le atol + rtol\,|n|`. The table shows, per op, the largest absolute and
relative errors over its samples. The exit status is 1 when any op fails.
"""

from __future__ import annotations

import argparse

from chainrule.checking.op_table import Row, check_op_table
from chainrule.cli._args import Subparsers, one_of, positive_float
from chainrule.ops import RECORDS


def register(subparsers: Subparsers) -> None:
    """Add the ``gradcheck`` subcommand."""
    parser = subparsers.add_parser(
        "gradcheck",
        help="check every op's derivative rule against float64 finite differences",
        description="Compare the reverse-mode gradient of every op in the op table with a "
        "float64 central finite difference and print the largest errors per op. "
        "Exits with status 1 if any op fails.",
    )
    parser.add_argument("--op", dest="ops", metavar="NAME", nargs="+", action="extend",
                        type=one_of("op", tuple(RECORDS)),
                        help="check only these ops (repeatable; default: all): "
                        f"{', '.join(RECORDS)}")
    parser.add_argument("--eps", type=positive_float, default=1e-6,
                        help="finite-difference step h (default: 1e-6)")
    parser.add_argument("--atol", type=positive_float, default=1e-5,
                        help="absolute tolerance (default: 1e-5)")
    parser.add_argument("--rtol", type=positive_float, default=1e-3,
                        help="relative tolerance (default: 1e-3)")
    parser.set_defaults(handler=run)


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table: op, samples, max abs error, max rel error, pass."""
    width = max([len("op"), *(len(row.op) for row in rows)])
    lines = [f"{'op':<{width}}  {'samples':>7}  {'max abs error':>13}  {'max rel error':>13}"
             "  pass"]
    for row in rows:
        verdict = "ok" if row.passed else "FAIL"
        lines.append(f"{row.op:<{width}}  {row.samples:>7}  {row.max_abs_err:>13.2e}  "
                     f"{row.max_rel_err:>13.2e}  {verdict}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Check the selected ops, print the table and a verdict; 1 if any op fails."""
    rows = check_op_table(args.ops, eps=args.eps, atol=args.atol, rtol=args.rtol)
    print(format_table(rows))
    failed = [row.op for row in rows if not row.passed]
    print()
    summary = (f"{len(rows)} ops checked against float64 central differences "
               f"(h = {args.eps:g}, pass when |analytic − numeric| ≤ {args.atol:g} + "
               f"{args.rtol:g}·|numeric|): ")
    if failed:
        print(summary + f"{len(failed)} failed: {', '.join(failed)}.")
        return 1
    print(summary + "all passed.")
    return 0
