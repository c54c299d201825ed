"""The command line speaks in its users' words: --help without the docstrings' markup,
unknown choices named with the closest match, no internal function names in errors."""

from __future__ import annotations

import re

import pytest

from chainrule.cli._args import one_of
from chainrule.cli.main import main

COMMANDS = ["linreg", "train", "plot", "gradcheck"]
MARKUP = re.compile(r":(mod|func|class|meth|math|data):|``")


@pytest.mark.parametrize("argv", [["--help"], *[[name, "--help"] for name in COMMANDS]])
def test_help_shows_no_documentation_markup(capsys, argv):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert not MARKUP.search(out), out


def test_plot_help_says_what_each_picture_is(capsys):
    main(["plot", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: chainrule plot [-h] --out DIR [--format {png,svg}] [--seed SEED] WHAT" in out
    for what in ("activations (", "descent (", "flow (", "graph (", "gradcheck ("):
        assert what in out


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("chainrule: error: "), err
    return err


def test_an_unknown_picture_suggests_the_close_one(capsys):
    err = one_line_error(capsys, ["plot", "activation", "--out", "x"])
    assert err == (
        "chainrule: error: argument WHAT: unknown picture 'activation'; did you mean "
        "'activations'? (choose from activations, descent, flow, graph, gradcheck) "
        "(see 'chainrule plot --help')\n")
    assert "invalid choice" not in one_line_error(capsys, ["plot", "nope", "--out", "x"])


def test_an_unknown_format_lists_the_formats(capsys):
    err = one_line_error(capsys, ["plot", "graph", "--out", "x", "--format", "pdf"])
    assert "argument --format: unknown format 'pdf'" in err and "(choose from png, svg)" in err


def test_gradcheck_of_an_unknown_op_names_the_flag_not_a_function(capsys):
    err = one_line_error(capsys, ["gradcheck", "--op", "tanhh"])
    assert err.startswith("chainrule: error: argument --op: unknown op 'tanhh'; did you mean "
                          "'tanh'? (choose from sum_to, ")
    assert "check_op_table" not in err


def test_one_of_accepts_the_choices_and_suggests_nothing_when_nothing_is_close():
    parse = one_of("colour", ("red", "green"))
    assert parse("red") == "red"
    with pytest.raises(Exception, match=r"^unknown colour 'xyz' \(choose from red, green\)$"):
        parse("xyz")
