r"""Optimisers by name: the one table that ``chainrule train --optimizer`` and
``viz.descent_path(optimizer=...)`` both read.

Each entry is a factory ``(params, lr=..., **kwargs) -> Optimizer``. Besides the classes'
own names it holds the textbook's names for SGD's variants: ``"gd"`` (plain
:math:`\theta \leftarrow \theta - \alpha\nabla_\theta J`, SGD at momentum 0),
``"momentum"`` and ``"nesterov"`` (SGD with momentum :math:`\mu = 0.9` unless a
``momentum=`` is given). A caller offers whichever of these names suits it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer, ParamsLike
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD


def _momentum(params: ParamsLike, lr: float, momentum: float = 0.9, **kwargs: Any) -> SGD:
    r"""SGD with heavy-ball momentum: :math:`b \leftarrow \mu b + g`,
    :math:`\theta \leftarrow \theta - \alpha b`."""
    return SGD(params, lr=lr, momentum=momentum, **kwargs)


def _nesterov(params: ParamsLike, lr: float, momentum: float = 0.9, **kwargs: Any) -> SGD:
    r"""SGD with Nesterov momentum: :math:`b \leftarrow \mu b + g`,
    :math:`\theta \leftarrow \theta - \alpha (g + \mu b)`."""
    return SGD(params, lr=lr, momentum=momentum, nesterov=True, **kwargs)


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "gd": SGD,
    "sgd": SGD,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
