r"""The training loop: :func:`fit`, its :class:`History` and :class:`EarlyStopping`, and the
metrics :func:`accuracy` and :func:`r2`.

``metrics.py`` (accuracy, r2, resolving ``metrics=``), ``callbacks.py`` (History,
EarlyStopping), ``progress.py`` (the tqdm bar, terminal detection), ``loop.py`` (``fit``
and its epoch loop).
"""

from chainrule.train.callbacks import EarlyStopping, History
from chainrule.train.loop import fit
from chainrule.train.metrics import Metric, accuracy, r2

__all__ = ["EarlyStopping", "History", "Metric", "accuracy", "fit", "r2"]
