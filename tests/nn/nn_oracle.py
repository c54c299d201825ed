"""Shared helpers for the nn tests: run a chainrule function and its PyTorch twin on the
same float64 inputs and compare values and gradients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import chainrule as cr

RTOL = 1e-10
ATOL = 1e-12


def compare_with_torch(f: Callable[..., Any], tf: Callable[..., Any],
                       arrays: Sequence[np.ndarray], seed: int = 0,
                       rtol: float = RTOL, atol: float = ATOL) -> None:
    """Assert that ``f`` (chainrule) and ``tf`` (torch) agree in value and in the gradient
    of ⟨g, out⟩ for a random cotangent g, with respect to every input array."""
    xs = [cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    ts = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, t_out = f(*xs), tf(*ts)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(seed).normal(size=out.shape)
    (out * g).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None, f"input {i} received no gradient"
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
