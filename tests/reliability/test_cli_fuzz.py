"""Random command lines (Hypothesis) for every subcommand, run in-process through
``chainrule.cli.main.main(argv)``: the exit status is 0 or 2 (1 only for a failed
``gradcheck``), standard error holds at most one line, and nothing escapes as a traceback.

To stay fast the runs are kept cheap without skipping validation: ``train`` and ``linreg``
get a final ``--epochs`` of 0–3 (argparse keeps the last value, but checks every one),
``gradcheck`` always names the ops to check, and ``plot``'s drawing functions are replaced
by stubs that write one empty file (its argument and folder checks still run).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.cli import plot as plot_cli
from chainrule.cli.main import main

BAD_NUMBERS = ["-1", "nan", "inf", "-inf", "1e400", "abc", "", " ", "0x10", "٣", "2.5e", "--"]
PATHS = ["model.npz", "missing.npz", "sub/dir/m.npz", ".", "", "/proc/nope/m.npz", "m\x7f.npz"]
JUNK = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=8)

# flag -> (valid values, invalid values); a drawn value is valid three times in four
COUNT = (["1", "2", "5"], ["0", *BAD_NUMBERS])
RATE = (["0.1", "1e-3", "0.5"], ["0", "-0.1", *BAD_NUMBERS])
FLAGS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "linreg": {"--lr": RATE, "--epochs": COUNT, "--every": COUNT},
    "train": {
        "--dataset": (["iris", "breast_cancer", "diabetes", "digits"], ["mnist", ""]),
        "--hidden": (["", "4", "8,4", "0", "none"], ["x", "3,,4", "-3", "4,0"]),
        "--activation": (["relu", "gelu", "softplus", "tanh"], ["swish", ""]),
        "--optimizer": (["sgd", "adam", "adamw", "rmsprop", "adagrad"], ["lbfgs"]),
        "--lr": RATE, "--batch-size": (["8", "64", "1000"], ["0", *BAD_NUMBERS]),
        "--seed": (["0", "7"], BAD_NUMBERS), "--epochs": COUNT,
        "--save": (["model.npz"], PATHS), "--load": (["model.npz"], PATHS),
        "--no-progress": ([], []),
    },
    "plot": {"--out": (["pictures"], PATHS), "--format": (["png", "svg"], ["pdf", ""]),
             "--seed": (["0", "3"], BAD_NUMBERS)},
    "gradcheck": {"--eps": (["1e-6", "1e-4"], BAD_NUMBERS), "--atol": (["1e-5"], BAD_NUMBERS),
                  "--rtol": (["1e-3", "1e-9"], BAD_NUMBERS)},
}
PLOT_KINDS = ["activations", "descent", "flow", "graph", "gradcheck", "nope", ""]
OPS = ["add", "exp", "softmax", "matmul", "sum", "nope", ""]


def _value(draw, valid: list[str], invalid: list[str]) -> str:
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return draw(JUNK)
    if kind == 1 or not valid:
        return draw(st.sampled_from(invalid))
    return draw(st.sampled_from(valid))


@st.composite
def command_lines(draw) -> list[str]:
    command = draw(st.sampled_from([*FLAGS, *FLAGS, "fly", "", "--help", "--version"]))
    argv = [command]
    flags = FLAGS.get(command, {})
    if command == "plot":
        argv.append(_value(draw, PLOT_KINDS[:5], PLOT_KINDS[5:]))
    for _ in range(draw(st.integers(0, 4))):
        if flags and draw(st.integers(0, 7)):
            flag = draw(st.sampled_from(sorted(flags)))
            argv.append(flag)
            if flag != "--no-progress":
                argv.append(_value(draw, *flags[flag]))
        else:
            argv.append(draw(JUNK))
    if command in ("train", "linreg") and draw(st.integers(0, 5)):
        argv += ["--epochs", draw(st.sampled_from(["0", "1", "3"]))]  # keep runs short
    if command == "train" and "--dataset" not in argv and draw(st.integers(0, 3)):
        argv += ["--dataset", "iris"]
    if command == "plot" and "--out" not in argv and draw(st.integers(0, 3)):
        argv += ["--out", "pictures"]
    if command == "gradcheck":
        argv += ["--op", *draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=2))]
    return argv


@pytest.fixture(autouse=True)
def _cheap_plots(monkeypatch):
    def stub(out: Path, fmt: str, seed: int) -> list[Path]:
        path = out / f"stub.{fmt}"
        path.write_bytes(b"")
        return [path]

    monkeypatch.setattr(plot_cli, "_DRAW", {name: stub for name in plot_cli._DRAW})


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    return status, err.getvalue()


# make fuzz: FUZZ_EXAMPLES scales this up like the program fuzzer's examples
EXAMPLES = max(120, int(os.environ.get("FUZZ_EXAMPLES") or 0) // 10)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_random_command_lines_exit_cleanly_with_at_most_one_error_line(
        argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, err = run_cli(argv)
    allowed = {0, 2} | ({1} if argv[0] == "gradcheck" else set())
    assert status in allowed, (argv, status, err)
    assert "Traceback" not in err, (argv, err)
    assert err.count("\n") <= 1, (argv, err)
    if status == 2:
        assert err.startswith("chainrule: error: ") and err.endswith("\n"), (argv, err)


@pytest.mark.parametrize("argv", [
    ["train", "--dataset", "iris", "--epochs", "nan"],
    ["train", "--dataset", "iris", "--lr", "1e400"],
    ["train", "--dataset", "iris", "--hidden", "3,,4"],
    ["train", "--dataset", "iris", "--epochs", "0", "--save", "."],
    ["train", "--dataset", "iris", "--epochs", "0", "--load", "."],
    ["plot", "graph", "--out", "/proc/nope/m.npz"],
    ["linreg", "--every", "0"],
    ["gradcheck", "--op", ""],
    ["", "--x"],
])
def test_awkward_arguments_are_one_line_errors(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, err = run_cli(argv)
    assert status == 2, (status, err)
    assert err.startswith("chainrule: error: ") and err.count("\n") == 1, err
