"""One module per framework, each with the same workload builders.

Every module defines ``w1(p)``, ``w3(p)``, ``w4(p)``, ``w5(p)``, ``w6(p, n)`` and ``w7(p)``,
each returning a zero-argument ``run()`` that does the timed work and returns its answers as
a dict, ``w2(p)``, returning an object with ``step(i) -> loss`` and ``grad_norm()``, and
``w8(p)``, returning an object with ``step()`` and ``answers()``. A module without a
workload's builder reports it as "not applicable" (a library without the layer it needs).
Setup (converting the shared inputs of :mod:`bench.common`) happens in the builder,
outside the timed region. ``versions()`` names the library and its version.
"""

from __future__ import annotations

FRAMEWORKS = ("chainrule", "torch", "autograd", "mygrad", "numpy")
LABELS = {
    "chainrule": "chainrule",
    "torch": "PyTorch CPU",
    "autograd": "HIPS autograd",
    "mygrad": "MyGrad",
    "numpy": "hand-written NumPy",
}
# The library each framework needs beyond NumPy (a missing one skips the framework).
REQUIRES = {
    "chainrule": "chainrule", "torch": "torch", "autograd": "autograd",
    "mygrad": "mygrad", "numpy": "numpy",
}
# cr.compile's replays, beside chainrule's eager figures (bench/frameworks/chainrule_compiled_fw.py)
FRAMEWORKS += ("chainrule_compiled",)
LABELS["chainrule_compiled"] = "chainrule (compiled)"
REQUIRES["chainrule_compiled"] = "chainrule"
