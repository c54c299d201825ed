"""Shared test setup: every test starts from the library's defaults and leaves them so.

chainrule keeps process-wide settings (default dtype, grad mode, the default generator);
a test that changes one and fails half-way must not change the outcome of the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from chainrule._config import STATE


@pytest.fixture(autouse=True)
def _restore_global_state() -> Iterator[None]:
    dtype, grad_enabled, generator = STATE.default_dtype, STATE.grad_enabled, STATE.generator
    STATE.default_dtype = np.dtype(np.float32)
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.default_dtype, STATE.grad_enabled, STATE.generator = dtype, grad_enabled, generator
