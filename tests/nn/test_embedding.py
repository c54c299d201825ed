"""F.embedding and nn.Embedding against PyTorch: values, gradients with repeated indices
and padding_idx, initialisation, and errors that name the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _compare(index: np.ndarray, weight: np.ndarray, padding_idx=None, seed: int = 0) -> None:
    w = cr.tensor(weight, requires_grad=True)
    out = F.embedding(cr.tensor(index), w, padding_idx=padding_idx)
    tw = torch.tensor(weight, requires_grad=True)
    t_out = TF.embedding(torch.tensor(index), tw, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    g = np.random.default_rng(seed).normal(size=out.shape)
    (out * cr.tensor(g)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape,padding_idx", [
    ((7,), None), ((3, 5), None), ((2, 3, 4), 2), ((4, 6), -1), ((1,), 0), ((), None),
])
def test_embedding_matches_torch(shape: tuple, padding_idx) -> None:
    rng = np.random.default_rng(len(shape))
    weight = rng.normal(size=(6, 3))
    index = rng.integers(0, 6, size=shape)
    _compare(index, weight, padding_idx)


def test_repeated_indices_accumulate_and_the_padding_row_gets_no_gradient() -> None:
    w = cr.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    out = F.embedding([[1, 1, 0], [3, 1, 0]], w, padding_idx=0)
    np.testing.assert_array_equal(out.data[0, 2], [0.0, 1.0, 2.0])  # looked up as usual
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[0.0] * 3, [3.0] * 3, [0.0] * 3, [1.0] * 3])


def test_embedding_second_order_through_the_lookup() -> None:
    weight = np.random.default_rng(1).normal(size=(5, 2))
    index = np.array([0, 3, 3, 1])

    def f(w):
        return (F.embedding(index, w, padding_idx=1) ** 3).sum()

    def tf(w):
        return (TF.embedding(torch.tensor(index), w, padding_idx=1) ** 3).sum()

    # the padding row is looked up but never differentiated, so its Hessian entries are 0
    expected = torch.autograd.functional.hessian(tf, torch.tensor(weight)).numpy()
    np.testing.assert_allclose(cr.hessian(f)(cr.tensor(weight)).data, expected, rtol=1e-12)


def test_embedding_module_init_padding_row_and_torch_forward() -> None:
    cr.manual_seed(0)
    layer = nn.Embedding(400, 50, padding_idx=3, dtype="float64")
    w = layer.weight.numpy()
    assert w.shape == (400, 50) and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_array_equal(w[3], np.zeros(50))
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and rest.std() == pytest.approx(1.0, rel=0.02)  # N(0, 1)
    theirs = torch.nn.Embedding(400, 50, padding_idx=3, dtype=torch.float64)
    theirs.load_state_dict({"weight": torch.tensor(w)})
    assert repr(layer) == repr(theirs) == "Embedding(400, 50, padding_idx=3)"
    index = np.array([[3, 7, 7], [0, 399, 3]])
    out = layer(cr.tensor(index))
    t_out = theirs(torch.tensor(index))
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    g = np.random.default_rng(2).normal(size=out.shape)
    (out * cr.tensor(g)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12)
    assert nn.Embedding(10, 3).weight.dtype == np.float32
    assert nn.Embedding(10, 3, padding_idx=-1).padding_idx == 9


def test_embedding_errors_name_the_function_or_layer() -> None:
    w = cr.ones(10, 3)
    with pytest.raises(IndexError, match=r"^embedding: index 10 is out of range for 10 "
                                         r"embeddings \(valid: 0 to 9\)$"):
        F.embedding(cr.tensor([1, 10]), w)
    with pytest.raises(IndexError, match=r"^Embedding\(10, 3\): index -1 is out of range"):
        nn.Embedding(10, 3)(cr.tensor([-1, 2]))
    with pytest.raises(TypeError, match=r"^embedding: indices must be integers, got dtype "
                                        r"float32"):
        F.embedding(cr.tensor([1.0, 2.0]), w)
    with pytest.raises(ValueError, match=r"^embedding: weight must be 2-D \(num_embeddings, "
                                         r"embedding_dim\), got shape \(10,\)$"):
        F.embedding(cr.tensor([1]), cr.ones(10))
    with pytest.raises(ValueError, match=r"^Embedding: padding_idx 10 is out of range for 10 "
                                         r"embeddings \(valid: -10 to 9\)$"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match=r"^Embedding: embedding_dim must be a positive int"):
        nn.Embedding(10, 0)
