r"""Learning-rate schedules, PyTorch's ``torch.optim.lr_scheduler``.

Call ``scheduler.step()`` after the ``optimizer.step()`` calls of each epoch (of each batch
for ``OneCycleLR``; ``step(val_loss)`` for ``ReduceLROnPlateau``). The sequences equal
PyTorch's: each scheduler computes the next rate as PyTorch does, in the same
floating-point order.
"""

from chainrule.optim.lr_scheduler.base import LRScheduler
from chainrule.optim.lr_scheduler.one_cycle import OneCycleLR
from chainrule.optim.lr_scheduler.plateau import ReduceLROnPlateau
from chainrule.optim.lr_scheduler.schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    StepLR,
)

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "OneCycleLR",
           "ReduceLROnPlateau", "StepLR"]
