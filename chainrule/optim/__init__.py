r"""Optimisers and learning-rate schedules, each following PyTorch's update rule step for step.

``SGD`` (the textbook's :math:`\theta \leftarrow \theta - \alpha\nabla_\theta J` at momentum
0), ``Adagrad``, ``RMSprop``, ``Adam`` and ``AdamW``; ``lr_scheduler`` holds ``StepLR``,
``ExponentialLR``, ``CosineAnnealingLR``, ``LambdaLR``, ``OneCycleLR`` and
``ReduceLROnPlateau``.
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
