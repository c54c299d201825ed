"""Importing chainrule.viz costs no plotting library; cr.viz resolves on first use."""

from __future__ import annotations

import subprocess
import sys


def test_importing_viz_imports_neither_matplotlib_nor_graphviz():
    code = (
        "import sys, chainrule as cr\n"
        "import chainrule.viz\n"
        "assert cr.viz is chainrule.viz\n"
        "from chainrule import viz\n"
        "assert callable(viz.draw_graph) and callable(viz.plot_activations)\n"
        "heavy = {'matplotlib', 'graphviz', 'sklearn'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_top_level_attribute_is_still_an_attribute_error():
    import pytest

    import chainrule as cr

    with pytest.raises(AttributeError, match="has no attribute 'vizz'"):
        cr.vizz  # noqa: B018
