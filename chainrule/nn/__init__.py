"""Neural networks: modules, layers, losses and initialisation, PyTorch's ``torch.nn`` API.

``from chainrule import nn`` and ``import chainrule.nn.functional as F``.
"""

from chainrule.nn import functional, init, utils
from chainrule.nn.attention import MultiheadAttention
from chainrule.nn.containers import ModuleDict, ModuleList, Sequential
from chainrule.nn.conv import Conv1d, Conv2d
from chainrule.nn.embedding import Embedding
from chainrule.nn.layers import (
    GELU,
    MLP,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
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
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from chainrule.nn.parameter import Parameter
from chainrule.nn.pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from chainrule.nn.recurrent import GRU, LSTM, RNN
from chainrule.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell
from chainrule.nn.transformer import TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten", "GELU",
    "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear", "MLP", "MSELoss", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "Softplus", "Tanh", "functional", "init", "utils",
    # pooling, normalisation, embedding
    "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Embedding",
    "LayerNorm", "MaxPool1d", "MaxPool2d",
    # convolution
    "Conv1d", "Conv2d",
    # attention
    "MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer",
    # recurrent
    "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell",
]
