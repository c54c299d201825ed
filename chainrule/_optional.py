"""Optional dependencies: import one, or say which of chainrule's extras installs it.

Matplotlib (``chainrule[viz]``), scikit-learn (``chainrule[data]``) and the like are imported
only where a feature needs them; when one is missing, the user should read what to install,
not ``No module named 'matplotlib'``.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(module: str, package: str, extra: str, needed_by: str) -> ModuleType:
    """Import ``module`` (e.g. ``"matplotlib.figure"``), or raise an ``ImportError`` (a
    ``ModuleNotFoundError``) saying ``"<needed_by> needs <package>; install it with:
    pip install "chainrule[<extra>]"``.

    Only the absence of the package itself is reworded: an error raised inside an installed
    package propagates unchanged.

    >>> optional_import("json", "json", "none", "this example").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.partition(".")[0]
        if exc.name is None or exc.name.partition(".")[0] != top:
            raise  # a missing module of another package, inside an installed one
        raise ModuleNotFoundError(
            f'{needed_by} needs {package}; install it with: pip install "chainrule[{extra}]"',
            name=exc.name,
        ) from None
