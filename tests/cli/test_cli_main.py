"""The ``chainrule`` entry point: help, version, one-line user errors, ``python -m``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def assert_one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``main(argv)``; it must exit 2 with one ``chainrule: error:`` line, no traceback."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, (status, out, err)
    assert err.startswith("chainrule: error: "), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def subcommands() -> list[str]:
    parser = build_parser()
    return sorted(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_api_subcommand_is_registered():
    assert set(subcommands()) == {"linreg", "train", "plot", "gradcheck"}


@pytest.mark.parametrize("argv", [["--help"], *[[name, "--help"] for name in subcommands()]])
def test_help_exits_zero_and_prints_usage(capsys, argv):
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage: chainrule")
    assert err == ""


def test_version_prints_the_package_version(capsys):
    from importlib import metadata

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"chainrule {metadata.version('chainrule')}"


def test_no_command_is_a_one_line_error(capsys):
    assert "COMMAND" in assert_one_line_error(capsys, [])


def test_unknown_command_is_a_one_line_error(capsys):
    assert "bogus" in assert_one_line_error(capsys, ["bogus"])


def test_unknown_flag_is_a_one_line_error_pointing_at_the_subcommands_help(capsys):
    err = assert_one_line_error(capsys, ["linreg", "--bogus"])
    assert "--bogus" in err and "chainrule linreg --help" in err


def test_a_missing_optional_dependency_is_a_one_line_error(capsys, monkeypatch):
    from chainrule.cli import linreg

    def needs_extra(lr, epochs, every):
        raise ImportError('linreg: this needs scikit-learn; pip install "chainrule[data]"')

    monkeypatch.setattr(linreg, "gradient_descent", needs_extra)
    assert "chainrule[data]" in assert_one_line_error(capsys, ["linreg"])


@pytest.mark.parametrize("flag, value", [("--lr", "abc"), ("--lr", "-0.1"), ("--lr", "nan"),
                                         ("--epochs", "0"), ("--epochs", "1.5"),
                                         ("--every", "-3")])
def test_bad_value_is_a_one_line_error_naming_the_flag(capsys, flag, value):
    assert flag in assert_one_line_error(capsys, ["linreg", flag, value])


def test_a_value_error_raised_by_a_handler_becomes_one_line(capsys, monkeypatch):
    from chainrule.cli import linreg

    def broken(lr, epochs, every):
        raise ValueError("linreg: something the user asked for is impossible\n(detail)")

    monkeypatch.setattr(linreg, "gradient_descent", broken)
    err = assert_one_line_error(capsys, ["linreg"])
    assert "something the user asked for is impossible (detail)" in err


def _run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120, check=False)


def test_python_dash_m_chainrule_runs_linreg():
    proc = _run_module("chainrule", "linreg", "--epochs", "10", "--every", "5")
    assert proc.returncode == 0, proc.stderr
    assert "final: θ₀" in proc.stdout
    assert proc.stderr == ""


def test_python_dash_m_chainrule_cli_reports_a_bad_flag_in_one_line():
    proc = _run_module("chainrule.cli", "linreg", "--lr", "fast")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("chainrule: error: ")
    assert "Traceback" not in proc.stderr


def test_version_has_one_source_the_installed_metadata():
    # Were __version__ written into the code, it would not follow a changed metadata version.
    code = (
        "from importlib import metadata\n"
        "metadata.version = lambda name: '9.9.9' if name == 'chainrule' else None\n"
        "import chainrule\n"
        "from chainrule.cli.main import main\n"
        "assert chainrule.__version__ == '9.9.9', chainrule.__version__\n"
        "main(['--version'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "chainrule 9.9.9"
