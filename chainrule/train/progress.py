r"""Progress for :func:`~chainrule.train.fit`: a tqdm bar over epochs, shown only where
someone watches — a terminal, or a Jupyter notebook (where the bar is a widget).

:func:`_is_terminal` is the one test of "does standard output show a progress bar?" that
``fit`` and ``chainrule train`` share: elsewhere (a pipe, a log file, CI) they print nothing
or one line per epoch.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any


def _in_notebook() -> bool:
    """Whether ``sys.stdout`` is a Jupyter kernel's output stream (ipykernel's ``OutStream``,
    which reports ``isatty() == False`` yet is shown to the person running the cell)."""
    return type(sys.stdout).__module__.startswith("ipykernel.")


def _is_terminal() -> bool:
    """Whether ``sys.stdout`` (looked up now, so a redirection counts) is a terminal or a
    Jupyter notebook's output: somewhere a progress bar is watched, not logged."""
    if _in_notebook():
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def _format(logs: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in logs.items() if k != "time"}


def _tqdm() -> Any:
    """tqdm's ``auto`` bar: a widget in Jupyter, text on a terminal; ``None`` without tqdm."""
    try:
        from tqdm import TqdmWarning
    except ImportError:
        return None
    with warnings.catch_warnings():
        # In a kernel without ipywidgets tqdm.auto warns once and draws the text bar, which
        # a notebook shows just as well.
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm


class _Progress:
    """A tqdm bar over epochs; a plain line per epoch if tqdm is missing."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.stream = sys.stdout
        tqdm = _tqdm()
        self.bar = None if tqdm is None else tqdm(total=epochs, unit="epoch", file=self.stream,
                                                  dynamic_ncols=True)

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(_format(logs), refresh=False)
            self.bar.update(1)
            return
        fields = "  ".join(f"{k} {v}" for k, v in _format(logs).items())
        print(f"epoch {epoch + 1}/{self.epochs}  {fields}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
