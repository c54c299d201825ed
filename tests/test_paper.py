"""The MNIST-1D paper's table, reproduced (Greydanus & Kobak; `make paper` prints it in full):
its models, exactly (checked against the PyTorch originals of its notebooks/models.py with
the same weights), trained with its settings (Adam, lr 0.01, batches of 100, 6,000 steps)
reach its test accuracies: logistic regression 32 %, MLP 68 %."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.cli._mnist1d_models import PaperMLP
from chainrule.cli.train import train_model

pytest.importorskip("mnist1d")


class TorchMLPBase(torch.nn.Module):
    """notebooks/models.py's MLPBase (without its parameter-count print)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear1 = torch.nn.Linear(40, 100)
        self.linear2 = torch.nn.Linear(100, 100)
        self.linear3 = torch.nn.Linear(100, 10)

    def forward(self, x):
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


def _same_as_torch(model: cr.nn.Module, reference: torch.nn.Module, x: np.ndarray) -> None:
    """Outputs and every parameter's gradient agree with the same weights, in float64."""
    reference.double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in
                               model.state_dict().items()})
    out = model(cr.tensor(x))
    (out * out).sum().backward()
    expected = reference(torch.tensor(x))
    (expected * expected).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-11, err_msg=name)


def test_the_papers_mlp_is_its_mlpbase():
    cr.set_default_dtype("float64")
    cr.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((7, 40))
    _same_as_torch(PaperMLP(), TorchMLPBase(), x)


# The whole 6,000 steps of the paper: the two small models train fast enough for make test.
@pytest.mark.parametrize("model, low, high", [("linear", 0.25, 0.40), ("mlp", 0.60, 0.76)])
def test_the_papers_test_accuracy(model, low, high):
    result = train_model("mnist1d", model=model, seed=0)
    assert result.n_train == 4000 and result.recipe.epochs * 40 == 6000
    assert low <= result.score <= high
