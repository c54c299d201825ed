"""Every public name that ../shared/API.md promises exists, where it promises it."""

from __future__ import annotations

import importlib

import pytest

import chainrule as cr

CR = """
tensor zeros ones full arange randn rand zeros_like ones_like from_numpy set_default_dtype
manual_seed no_grad Tensor grad value_and_grad jacobian hessian jvp vjp gradcheck
GradcheckError explain conventions Function fit save load
add sub mul div pow matmul neg reshape transpose swapaxes squeeze unsqueeze expand
abs exp log sqrt sin cos tanh sigmoid relu clip maximum minimum where sum mean var std
max min logsumexp softmax log_softmax concatenate stack
""".split()

TENSOR = """
data grad requires_grad shape dtype ndim size T is_leaf backward detach numpy item tolist
requires_grad_ abs exp log sqrt sin cos tanh sigmoid relu clip maximum minimum sum mean var
std max min logsumexp softmax log_softmax reshape transpose swapaxes squeeze unsqueeze expand
""".split()

MODULES = {
    "chainrule.calculus": "derivative taylor integrate",
    "chainrule.nn": (
        "Module Parameter Linear Sequential ReLU Sigmoid Tanh LeakyReLU GELU Softplus Dropout "
        "Identity MLP MSELoss L1Loss HuberLoss BCELoss BCEWithLogitsLoss CrossEntropyLoss "
        "ModuleList ModuleDict Flatten Softmax utils"
    ),
    "chainrule.nn.utils": "clip_grad_norm_ clip_grad_value_",
    "chainrule.nn.functional": (
        "sigmoid tanh relu leaky_relu softplus gelu softmax log_softmax mse_loss l1_loss "
        "huber_loss binary_cross_entropy binary_cross_entropy_with_logits cross_entropy "
        "nll_loss l1_penalty l2_penalty"
    ),
    "chainrule.optim": "Optimizer SGD Adagrad RMSprop Adam AdamW lr_scheduler",
    "chainrule.optim.lr_scheduler": (
        "StepLR ExponentialLR CosineAnnealingLR LambdaLR OneCycleLR ReduceLROnPlateau"
    ),
    "chainrule.data": "TensorDataset DataLoader load_dataset random_split",
    "chainrule.viz": (
        "draw_graph plot_activations plot_loss plot_descent gradient_flow plot_gradcheck "
        "plot_filters plot_feature_maps"
    ),
}

MODULE_METHODS = (
    "forward parameters named_parameters zero_grad train eval state_dict load_state_dict "
    "register_buffer buffers named_buffers modules children named_modules named_children "
    "apply requires_grad_ to double float"
).split()
OPTIMIZER_METHODS = "step zero_grad state_dict load_state_dict".split()


@pytest.mark.parametrize("name", CR)
def test_cr_name_exists(name: str) -> None:
    assert hasattr(cr, name), f"cr.{name} is promised by API.md"


@pytest.mark.parametrize("name", TENSOR)
def test_tensor_attribute_exists(name: str) -> None:
    t = cr.tensor([[1.0, 2.0]], requires_grad=True)
    assert hasattr(t, name), f"Tensor.{name} is promised by API.md"


@pytest.mark.parametrize("module,name", [(m, n) for m, names in MODULES.items()
                                          for n in names.split()])
def test_module_name_exists(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} (API.md)"


@pytest.mark.parametrize("name", MODULE_METHODS)
def test_module_methods_exist(name: str) -> None:
    assert callable(getattr(cr.nn.Module, name))


@pytest.mark.parametrize("name", OPTIMIZER_METHODS)
def test_optimizer_methods_exist(name: str) -> None:
    opt = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    assert callable(getattr(opt, name))
    assert isinstance(opt.param_groups, list) and isinstance(opt.param_groups[0], dict)


def test_submodules_reachable_as_attributes() -> None:
    for name in ("nn", "optim", "data", "calculus"):
        assert hasattr(cr, name), f"cr.{name}"


def test_size_is_int_and_dtype_is_numpy_dtype() -> None:
    import numpy as np

    t = cr.zeros(2, 3)
    assert type(t.size) is int and t.size == 6
    assert isinstance(t.dtype, np.dtype)
