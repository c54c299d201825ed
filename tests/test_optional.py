"""chainrule._optional: a missing optional dependency says which extra installs it, for
Matplotlib (chainrule[viz]) as for scikit-learn (chainrule[data])."""

from __future__ import annotations

import sys

import pytest

import chainrule as cr
from chainrule._optional import optional_import
from chainrule.cli.main import main

VIZ_HINT = 'install it with: pip install "chainrule[viz]"'


def _hide(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    # A None entry in sys.modules makes importing the package (or a submodule) fail.
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


def test_a_plot_without_matplotlib_says_to_install_the_viz_extra(monkeypatch):
    _hide(monkeypatch, "matplotlib")
    with pytest.raises(ImportError) as info:
        cr.viz.plot_activations()
    assert str(info.value) == f"drawing a figure needs Matplotlib; {VIZ_HINT}"
    with pytest.raises(ImportError, match=r'plot_loss needs Matplotlib; .*"chainrule\[viz\]"'):
        cr.viz.plot_loss({"loss": [1.0, 0.5]})


def test_chainrule_plot_without_matplotlib_is_one_line_with_the_hint(monkeypatch, capsys,
                                                                    tmp_path):
    _hide(monkeypatch, "matplotlib")
    assert main(["plot", "activations", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"chainrule: error: drawing a figure needs Matplotlib; {VIZ_HINT}\n"


def test_the_data_extra_uses_the_same_words(monkeypatch):
    _hide(monkeypatch, "sklearn")
    with pytest.raises(ImportError) as info:
        cr.data.load_dataset("iris")
    assert str(info.value) == ("load_dataset: the 'iris' dataset needs scikit-learn; install it "
                               'with: pip install "chainrule[data]"')


def test_an_error_inside_an_installed_package_is_not_reworded(tmp_path, monkeypatch):
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("import a_module_nobody_has\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="No module named 'a_module_nobody_has'"):
        optional_import("brokenpkg", "brokenpkg", "viz", "this test")
    with pytest.raises(ModuleNotFoundError, match=r"this test needs Nothing; .*\[viz\]"):
        optional_import("no_such_package.sub", "Nothing", "viz", "this test")
