"""chainrule: deep learning built up from calculus.

Tensors with reverse-mode automatic differentiation, function transforms, and the tools
to see every derivative. ``import chainrule as cr``.
"""

from chainrule import calculus, data, distributed, function_forms, nn, optim
from chainrule._config import (
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    manual_seed,
    no_grad,
    set_default_dtype,
)
from chainrule.checking import gradcheck
from chainrule.checking.conventions import conventions
from chainrule.compiler import compile  # noqa: A004 - the API's name (cr.compile)
from chainrule.creation import (
    arange,
    bool_,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    int32,
    int64,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.custom_function import Function
from chainrule.errors import GradcheckError
from chainrule.explain import explain
from chainrule.function_forms import *  # noqa: F403 - cr.add, cr.exp…: one per op record
from chainrule.function_forms import concatenate as cat
from chainrule.serialization import load, save
from chainrule.tensor import Tensor, argmax, argmin
from chainrule.train import EarlyStopping, History, fit
from chainrule.transforms import grad, hessian, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
from chainrule.vectorize import vmap


def _installed_version() -> str:
    # One source: pyproject.toml's version, as installed; `chainrule --version` reads the same.
    from importlib import metadata

    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _installed_version()


def __getattr__(name: str) -> object:
    # ``cr.viz`` on first use: importing it eagerly would cost every ``import chainrule``
    # the import of the plotting layer (matplotlib itself is imported only when drawing).
    if name == "viz":
        import importlib

        return importlib.import_module("chainrule.viz")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "GradcheckError", "Tensor", "grad", "hessian", "jacfwd", "jacobian", "jacrev", "jvp",
    "value_and_grad", "vjp",
    "Function", "conventions", "explain", "gradcheck",
    "arange", "enable_grad", "from_numpy", "full", "get_default_dtype", "is_grad_enabled",
    "linspace", "manual_seed", "nn", "no_grad", "ones", "ones_like", "rand", "randn",
    "set_default_dtype", "tensor", "zeros", "zeros_like", "calculus", "viz", "optim",
    "data", "distributed", "fit", "History", "EarlyStopping", "save", "load",
    "eye", "randperm", "cat", "argmax", "argmin",
    "float16", "float32", "float64", "int32", "int64", "bool_",
]
__all__ += ["vmap"]
__all__ += ["compile"]
__all__ += function_forms.__all__  # the function form of every op record that has one
