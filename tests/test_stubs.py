"""The committed type stubs say what the op table generates: a new or changed op record
fails here until ``make stubs`` has rewritten them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_match_the_op_table():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "generate_stubs.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_every_generated_method_and_function_is_in_the_stubs():
    import chainrule as cr
    from chainrule import ops

    methods = (ROOT / "chainrule" / "_tensor_methods.pyi").read_text(encoding="utf-8")
    functions = (ROOT / "chainrule" / "function_forms.pyi").read_text(encoding="utf-8")
    for record in ops.RECORDS.values():
        for name in (record.exposure.method, *record.exposure.operators):
            if name is not None:
                assert f"    def {name}(self" in methods
                assert callable(getattr(cr.Tensor, name))
        if record.exposure.function is not None:
            assert f"\ndef {record.exposure.function}(" in functions
