"""Types an editor can use: pyright's ``--verifytypes`` report on the public surface.

``mypy`` runs in ``make test`` itself; this checks the other half of the promise, that
what ``import chainrule`` exports has known types (``cr.exp(x)``, ``x.grad``,
``model(x)`` are Tensors to an editor, not ``Any``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYRIGHT = Path(sys.executable).parent / "pyright"


@pytest.mark.skipif(not PYRIGHT.exists(), reason="pyright (dev extra) is not installed")
def test_the_public_surface_is_at_least_95_percent_typed():
    # PYTHONPATH: pyright cannot follow an editable install's import hook
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(PYRIGHT), "--verifytypes", "chainrule", "--ignoreexternal", "--outputjson"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )
    report = json.loads(result.stdout)
    score = report["typeCompleteness"]["completenessScore"]
    unknown = [s["name"] for s in report["typeCompleteness"]["symbols"]
               if s["isExported"] and not s["diagnostics"] == [] and s["category"] != "module"]
    assert report["typeCompleteness"]["exportedSymbolCounts"]["withKnownType"] > 500
    assert score >= 0.95, f"verifytypes score {score:.1%}; not fully typed: {unknown[:20]}"
