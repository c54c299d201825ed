"""``cr.compile``: capture a function's forward and backward passes once, replay them as
straight-line NumPy: :mod:`.follow` follows values read outside the op table,
:mod:`.capture` records the forward, :mod:`.walk` the backward pass, :mod:`.codegen` writes
the replay, :mod:`.function` caches and replays."""

from chainrule.compiler.follow import CaptureError
from chainrule.compiler.function import Compiled, compile

__all__ = ["CaptureError", "Compiled", "compile"]
