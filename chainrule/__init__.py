"""chainrule: deep learning built up from calculus.

Tensors with reverse-mode automatic differentiation, function transforms, and the tools
to see every derivative. ``import chainrule as cr``.
"""

from chainrule import calculus, data, nn, optim
from chainrule._config import (
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    manual_seed,
    no_grad,
    set_default_dtype,
)
from chainrule.checking import gradcheck
from chainrule.conventions import conventions
from chainrule.creation import (
    arange,
    from_numpy,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.errors import GradcheckError
from chainrule.explain import explain
from chainrule.function import Function
from chainrule.functions import (
    abs,
    add,
    clip,
    concatenate,
    cos,
    div,
    exp,
    expand,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from chainrule.serialization import load, save
from chainrule.tensor import Tensor
from chainrule.train import EarlyStopping, History, fit
from chainrule.transforms import grad, hessian, jacobian, jvp, value_and_grad, vjp

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ``cr.viz`` on first use: importing it eagerly would cost every ``import chainrule``
    # the import of the plotting layer (matplotlib itself is imported only when drawing).
    if name == "viz":
        import importlib

        return importlib.import_module("chainrule.viz")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "GradcheckError", "Tensor", "grad", "hessian", "jacobian", "jvp", "value_and_grad", "vjp",
    "Function", "conventions", "explain", "gradcheck",
    "abs", "add", "arange", "clip", "concatenate", "cos", "div", "enable_grad", "exp", "expand",
    "from_numpy", "full", "get_default_dtype", "is_grad_enabled", "linspace", "log",
    "log_softmax", "logsumexp", "manual_seed", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mul", "neg", "nn", "no_grad", "ones", "ones_like", "pow", "rand", "randn", "relu",
    "reshape", "set_default_dtype", "sigmoid", "sin", "softmax", "sqrt", "squeeze", "stack",
    "std", "sub", "sum", "swapaxes", "tanh", "tensor", "transpose", "unsqueeze", "var", "where",
    "zeros", "zeros_like", "calculus", "viz", "optim",
    "data", "fit", "History", "EarlyStopping", "save", "load",
]
