"""``cr.compile``: capture a function's forward and backward passes once, replay them as
straight-line NumPy calls (:mod:`.capture` records, :mod:`.walk` records the backward
pass, :mod:`.codegen` writes the replay, :mod:`.function` caches and replays)."""

from chainrule.compiler.capture import CaptureError
from chainrule.compiler.function import Compiled, compile

__all__ = ["CaptureError", "Compiled", "compile"]
