"""docs/errors.md cannot rot: every row of its table of user mistakes is run and the
message users get is compared with the one the table shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
ROW = re.compile(r"^\| (?P<what>[^|]+?) \| `(?P<code>[^`]+)` \| (?P<kind>exit \d|\w+) \| "
                 r"`(?P<message>[^`]+)` \|$")


def _rows() -> list[dict[str, str]]:
    rows = [m.groupdict() for line in DOC.read_text(encoding="utf-8").splitlines()
            if (m := ROW.match(line))]
    return rows


ROWS = _rows()


def _normal(text: str) -> str:
    return " ".join(text.split())


def _matches(actual: str, documented: str) -> bool:
    actual = _normal(actual)
    if documented.endswith(" …"):
        return actual.startswith(documented[:-2])
    return actual == documented


def test_the_table_lists_python_and_command_line_mistakes():
    kinds = {row["kind"] for row in ROWS}
    assert len(ROWS) >= 40
    assert "exit 2" in kinds and {"ValueError", "TypeError", "RuntimeError"} <= kinds
    assert len({row["code"] for row in ROWS}) == len(ROWS), "a mistake is listed twice"


@pytest.mark.parametrize("row", [r for r in ROWS if not r["kind"].startswith("exit")],
                         ids=[r["what"] for r in ROWS if not r["kind"].startswith("exit")])
def test_python_mistake_gives_the_documented_message(row, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # rows that name files use relative paths
    namespace = {"cr": cr, "np": np, "nn": nn, "optim": optim, "F": F}
    with pytest.raises(Exception) as info:
        exec(row["code"], namespace)
    assert type(info.value).__name__ == row["kind"]
    assert _matches(str(info.value), row["message"]), (
        f"docs/errors.md says {row['message']!r}\nthe code says {_normal(str(info.value))!r}")


@pytest.mark.parametrize("row", [r for r in ROWS if r["kind"].startswith("exit")],
                         ids=[r["what"] for r in ROWS if r["kind"].startswith("exit")])
def test_command_line_mistake_gives_the_documented_line(row, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = row["code"].split()
    assert argv[0] == "chainrule"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv[1:])
    assert f"exit {status}" == row["kind"]
    assert err.getvalue().count("\n") == 1, err.getvalue()
    assert _matches(err.getvalue(), row["message"]), (
        f"docs/errors.md says {row['message']!r}\nthe CLI says {err.getvalue()!r}")


def test_doc_checker_notices_a_changed_message():
    assert _matches("add: shapes (3,) and (2,) cannot be broadcast together",
                    "add: shapes (3,) and (2,) cannot be broadcast together")
    assert not _matches("add: shapes (3,) and (2,) differ",
                        "add: shapes (3,) and (2,) cannot be broadcast together")
    assert _matches("a long message that goes on", "a long …")


def test_bce_refuses_nan_probabilities_without_a_warning():
    # found while writing the table: the message's nanmin/nanmax warned on an all-nan input,
    # so with warnings as errors users saw a RuntimeWarning instead of the ValueError
    with pytest.raises(ValueError, match=r"got values from nan to nan"):
        F.binary_cross_entropy(cr.tensor([np.nan]), cr.tensor([1.0]))
    with pytest.raises(ValueError, match=r"got values from 0\.5 to 2\.0"):
        F.binary_cross_entropy(cr.tensor([0.5, np.nan, 2.0]), cr.tensor([1.0, 1.0, 1.0]))
