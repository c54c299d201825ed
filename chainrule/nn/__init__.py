"""Neural networks: modules, layers, losses and initialisation, PyTorch's ``torch.nn`` API.

``from chainrule import nn`` and ``import chainrule.nn.functional as F``.
"""

from chainrule.nn import functional, init
from chainrule.nn.layers import (
    GELU,
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
)
from chainrule.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from chainrule.nn.module import Module, Parameter

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "GELU", "HuberLoss",
    "Identity", "L1Loss", "LeakyReLU", "Linear", "MLP", "MSELoss", "Module", "NLLLoss",
    "Parameter", "ReLU", "Sequential", "Sigmoid", "Softplus", "Tanh", "functional", "init",
]
