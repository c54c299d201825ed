r"""Stateless building blocks of networks: activations, ``linear``, ``dropout``, the
convolutions and ``pad``, scaled dot-product attention, the losses and the textbook's
regularisation penalties.
``import chainrule.nn.functional as F``.

The maths lives here, one file per family (``activations``, ``linear_dropout``,
``convolution``, ``attention``, ``losses``, ``class_losses``, ``penalties``); the modules of
:mod:`chainrule.nn` are thin wrappers around these functions, so this package never
imports them.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.relu(cr.tensor([-1.0, 0.0, 2.0])).tolist()
[0.0, 0.0, 2.0]
"""

from chainrule.nn.functional.activations import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from chainrule.nn.functional.attention import scaled_dot_product_attention
from chainrule.nn.functional.class_losses import cross_entropy, nll_loss
from chainrule.nn.functional.convolution import conv1d, conv2d, pad
from chainrule.nn.functional.embedding import embedding
from chainrule.nn.functional.linear_dropout import dropout, linear
from chainrule.nn.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
)
from chainrule.nn.functional.normalization import batch_norm, layer_norm
from chainrule.nn.functional.penalties import l1_penalty, l2_penalty
from chainrule.nn.functional.pooling import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "gelu", "huber_loss", "l1_loss", "l1_penalty", "l2_penalty", "leaky_relu", "linear",
    "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "softplus", "tanh",
    # pooling, normalisation, embedding
    "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm", "embedding", "layer_norm",
    "max_pool1d", "max_pool2d",
    # convolution and padding
    "conv1d", "conv2d", "pad",
    # attention
    "scaled_dot_product_attention",
]
