"""``chainrule gradcheck``: the op table against float64 finite differences, as a table."""

from __future__ import annotations

from chainrule.checking.op_table import check_op_table
from chainrule.cli.main import main


def table_rows(out: str) -> dict[str, list[str]]:
    lines = out.splitlines()
    body = lines[1:lines.index("")]
    return {line.split()[0]: line.split()[1:] for line in body}


def test_selected_ops_print_one_row_each_and_exit_zero(capsys):
    assert main(["gradcheck", "--op", "sin", "matmul", "--op", "softmax"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["op", "samples", "max", "abs", "error", "max", "rel",
                                           "error", "pass"]
    rows = table_rows(out)
    assert list(rows) == ["sin", "matmul", "softmax"]
    assert all(row[-1] == "ok" for row in rows.values())
    assert "3 ops checked" in out and "all passed" in out


def test_printed_errors_are_those_of_check_op_table(capsys):
    main(["gradcheck", "--op", "tanh"])
    (expected,) = check_op_table(["tanh"])
    samples, abs_err, rel_err, _ = table_rows(capsys.readouterr().out)["tanh"]
    assert int(samples) == expected.samples
    assert float(abs_err) == float(f"{expected.max_abs_err:.2e}")
    assert float(rel_err) == float(f"{expected.max_rel_err:.2e}")


def test_default_checks_every_op_in_the_table(capsys):
    from chainrule import ops

    assert main(["gradcheck"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert set(rows) == {*ops.OP_TABLE, *ops.COMPOSITES}


def test_a_failing_op_is_marked_and_exits_one(capsys):
    # No float64 finite difference is exact to 1e-30: every op must fail.
    assert main(["gradcheck", "--op", "exp", "log", "--atol", "1e-30", "--rtol", "1e-30"]) == 1
    out = capsys.readouterr().out
    assert [row[-1] for row in table_rows(out).values()] == ["FAIL", "FAIL"]
    assert "2 failed: exp, log" in out


def test_unknown_op_is_a_one_line_error(capsys):
    assert main(["gradcheck", "--op", "no_such_op"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "no_such_op" in err
    assert err.startswith("chainrule: error: ")
