r"""Progress for :func:`~chainrule.train.fit`: a tqdm bar over epochs, shown only on a terminal.

:func:`_is_terminal` is the one test of "is standard output a terminal?" that ``fit`` and
``chainrule train`` share.
"""

from __future__ import annotations

import sys


def _is_terminal() -> bool:
    """Whether ``sys.stdout`` (looked up now, so a redirection counts) is a terminal."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def _format(logs: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in logs.items() if k != "time"}


class _Progress:
    """A tqdm bar over epochs on a terminal; a plain line per epoch if tqdm is missing."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.stream = sys.stdout
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=epochs, unit="epoch", file=self.stream, dynamic_ncols=True)

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
